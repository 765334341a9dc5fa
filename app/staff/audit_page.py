"""The log review page: supervisors filter the audit log by person, action and period, and export it as CSV.

Looking is itself logged (audit_view, audit_export) with the filters used, so a review of
the log shows who reviewed what. Periods are whole local days (TIMEZONE); times are shown
in local time, and the CSV gives them with their UTC offset so that the repeated hour of
the autumn clock change stays unambiguous.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from app.audit import ACTIONS, IDENTIFIER, MAX_EXPORT, AuditEntry
from app.i18n import N_
from app.services import Services
from app.staff import access
from app.staff.layout import staff_page
from app.staff.sessions import StaffSession
from app.visitor.pages import language

PAGE_SIZE = 100
DEFAULT_DAYS = 30
"""The period shown when none is chosen: the last month."""
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""A spreadsheet would run a cell starting with one of these as a formula."""
CSV_COLUMNS = ("time", "person", "role", "action", "object", "other")

ACTION_LABELS = {
    "login": N_("Logged in"), "login_failed": N_("Failed login"), "login_locked": N_("Login locked"),
    "logout": N_("Logged out"), "session_expired": N_("Session expired"),
    "take": N_("Took a chat"), "transfer": N_("Transferred a chat"),
    "requeue": N_("Put a chat back in the queue"), "note": N_("Wrote a note"), "end": N_("Ended a chat"),
    "block": N_("Blocked a chat"),
    "classify": N_("Classified a chat"), "open_letter": N_("Opened a letter"),
    "propose_intake": N_("Proposed an intake"), "intake_consented": N_("Consented to an intake"),
    "intake_withdrawn": N_("Withdrew an intake"),
    "account_add": N_("Added an account"),
    "account_disable": N_("Disabled an account"), "account_enable": N_("Enabled an account"),
    "account_reset": N_("Reset an account"), "account_role": N_("Changed a role"),
    "totp_enrol": N_("Set up two-factor login"), "hours_change": N_("Changed the opening hours"),
    "canned_change": N_("Changed canned responses"), "audit_view": N_("Viewed the audit log"),
    "audit_export": N_("Exported the audit log"),
    "stats_export": N_("Exported statistics"), "denied": N_("Was refused"),
    "intake_inboxed": N_("Put an intake in the inbox"), "intake_delivered": N_("Delivered an intake"),
    "intake_failed": N_("Failed to deliver an intake"), "intake_dead": N_("Gave up delivering an intake"),
    "intake_retried": N_("Retried a dead intake"), "intake_viewed": N_("Viewed an intake"),
    "intake_registered": N_("Marked an intake registered"),
    "callback_slots": N_("Changed the call times"), "callback_claim": N_("Took a callback"),
    "callback_release": N_("Let go of a callback"), "callback_reveal": N_("Showed a callback number"),
    "callback_outcome": N_("Recorded a callback's outcome"),
    "referral_change": N_("Changed referral links"),
    "feedback_view": N_("Read visitor feedback"),
}
"""Plain words for the actions; an action without a label is shown by its name."""


@dataclass(frozen=True)
class Filters:
    """What the reviewer asked for, as typed, and what it means."""

    person: str
    action: str
    first: str
    last: str
    errors: tuple[str, ...]

    def query(self, **more: str | int) -> str:
        return urlencode({"person": self.person, "action": self.action, "from": self.first, "to": self.last,
                          **more})

    def described(self) -> str:
        """The filters as one audit identifier, e.g. `take:2026-11-01/2026-12-01`."""
        return f"{self.action or 'all'}:{self.first}/{self.last}"


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def read_filters(request: Request, today: date) -> Filters:
    params = request.query_params
    person = params.get("person", "").strip().lower()[:80]
    action = params.get("action", "").strip()
    first = params.get("from", "").strip()[:10] or (today - timedelta(days=DEFAULT_DAYS)).isoformat()
    last = params.get("to", "").strip()[:10] or today.isoformat()
    errors = []
    if not IDENTIFIER.match(person):
        errors.append(N_("That is not a username."))
    if action and action not in ACTIONS:
        errors.append(N_("Choose an action from the list."))
    since, until = _date(first), _date(last)
    if since is None or until is None:
        errors.append(N_("Write the dates like 2026-12-24."))
    elif until < since:
        errors.append(N_("The period ends before it starts."))
    return Filters(person, action, first, last, tuple(errors))


async def matching(services: Services, filters: Filters) -> list[AuditEntry]:
    """The entries the filters select, newest first (at most MAX_EXPORT)."""
    zone = ZoneInfo(services.settings.timezone)
    since = datetime.combine(date.fromisoformat(filters.first), time(0), tzinfo=zone)
    until = datetime.combine(date.fromisoformat(filters.last) + timedelta(days=1), time(0), tzinfo=zone)
    return await services.audit.entries(int(since.timestamp() * 1000), int(until.timestamp() * 1000) - 1,
                                        actor=filters.person, action=filters.action)


def local_time(services: Services, entry: AuditEntry) -> datetime:
    return datetime.fromtimestamp(entry.ts / 1000, ZoneInfo(services.settings.timezone))


def page_number(text: str, total: int) -> int:
    """The page asked for, within the pages there are (1 when it is not a number)."""
    pages = max(1, -(-total // PAGE_SIZE))
    return min(int(text), pages) if text.isdigit() and int(text) >= 1 else 1


@access.staff_endpoint(access.AUDIT_READ)
async def audit_log(request: Request, session: StaffSession) -> Response:
    services: Services = request.app.state.services
    lang = language(request)
    filters = read_filters(request, services.now().date())
    actions = sorted(((name, services.text(lang, ACTION_LABELS.get(name, name))) for name in ACTIONS),
                     key=lambda pair: pair[1])
    errors = [services.text(lang, e) for e in filters.errors]
    timezone = services.settings.timezone
    if errors:
        return staff_page(request, session, "staff/audit.html", status_code=400, filters=filters,
                          actions=actions, errors=errors, timezone=timezone)
    found = await matching(services, filters)
    page = page_number(request.query_params.get("page", ""), len(found))
    shown = found[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
    await services.audit.record(session.username, session.role, "audit_view", target=filters.person,
                                other=filters.described())
    rows = [(local_time(services, e).strftime("%Y-%m-%d %H:%M:%S"), e,
             services.text(lang, ACTION_LABELS.get(e.action, e.action))) for e in shown]
    return staff_page(
        request, session, "staff/audit.html", rows=rows, total=len(found), capped=len(found) >= MAX_EXPORT,
        first_shown=(page - 1) * PAGE_SIZE + 1, last_shown=(page - 1) * PAGE_SIZE + len(shown),
        previous=filters.query(page=page - 1) if page > 1 else "",
        next=filters.query(page=page + 1) if page * PAGE_SIZE < len(found) else "",
        export=filters.query(), filters=filters, actions=actions, errors=errors, timezone=timezone,
    )


def cell(value: str) -> str:
    """A CSV cell a spreadsheet shows as text, never runs as a formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


@access.staff_endpoint(access.AUDIT_READ)
async def audit_csv(request: Request, session: StaffSession) -> Response:
    services: Services = request.app.state.services
    filters = read_filters(request, services.now().date())
    if filters.errors:
        lang = language(request)
        return PlainTextResponse(" ".join(services.text(lang, e) for e in filters.errors), status_code=400)
    found = await matching(services, filters)
    await services.audit.record(session.username, session.role, "audit_export", target=filters.person,
                                other=filters.described())
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for entry in found:
        writer.writerow([cell(value) for value in (local_time(services, entry).isoformat(timespec="seconds"),
                                                   entry.actor, entry.role, entry.action, entry.target,
                                                   entry.other)])
    name = f"audit-{filters.first}-{filters.last}.csv"
    # A byte order mark, so that spreadsheet programs read the file as UTF-8.
    return Response("\ufeff" + out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


routes = [
    Route("/staff/audit", audit_log, methods=["GET"]),
    Route("/staff/audit.csv", audit_csv, methods=["GET"]),
]
