"""Who may do what: roles, their permissions, and the one check every staff route and message passes.

Least privilege: a counselor answers chats and letters; a supervisor can also manage canned
responses and opening hours and review the audit log; an admin manages accounts and
nothing else (an admin never reads a conversation). Someone who is both needs two accounts.

Every staff HTTP endpoint is wrapped by `staff_endpoint(permission)`, which also marks it
with the permission, so `tests/test_access.py` can walk every route and fail on one
without a rule. Every staff WebSocket message type has an entry in `MESSAGE_PERMISSIONS`;
a type without one is refused (fail closed).
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from app.errors import TooLarge
from app.forms import small_form
from app.i18n import N_
from app.security import origin_allowed
from app.services import Services
from app.staff.sessions import StaffSession

CHAT = "chat"
"""Take, answer, hand over and end chats; answer letters; own status, notes, canned responses."""
CANNED_MANAGE = "canned.manage"
HOURS_MANAGE = "hours.manage"
AUDIT_READ = "audit.read"
ACCOUNTS_MANAGE = "accounts.manage"
CALLBACKS = "callbacks"
"""See the day's callbacks, claim one, reveal its number (while holding the claim), record the outcome."""
CALLBACK_SLOTS = "callbacks.slots"
"""Open, resize and remove callback time slots; release a colleague's claim."""
STATS_READ = "stats.read"
"""See and export the statistics (counts only, suppressed below five) and print the committee's report."""
TRANSLATIONS_READ = "translations.read"
"""See how far each language's translation is, and whether a native speaker has checked it."""
INTAKE = "intake"
"""View, print and mark registered the intakes waiting in the inbox; see and retry dead letters.
Supervisors only: an intake names the visitor, so it is shown to as few people as will do."""
REFERRALS_MANAGE = "referrals.manage"
"""Make and remove referral links (schools, meeting points), print their posters, see their visit counts."""
FEEDBACK_READ = "feedback.read"
"""Read the free text of the anonymous feedback survey (scrubbed, by month; no link to any conversation)."""
SESSION = "session"
"""Anything a logged-in staff member may do with their own session: log out, enrol TOTP."""

PERMISSIONS: dict[str, frozenset[str]] = {
    "counselor": frozenset({SESSION, CHAT, CALLBACKS}),
    "supervisor": frozenset({SESSION, CHAT, CALLBACKS, CALLBACK_SLOTS, CANNED_MANAGE, HOURS_MANAGE,
                             AUDIT_READ, INTAKE, REFERRALS_MANAGE, TRANSLATIONS_READ, STATS_READ,
                             FEEDBACK_READ}),
    "admin": frozenset({SESSION, ACCOUNTS_MANAGE}),
}

MESSAGE_PERMISSIONS: dict[str, str] = {
    "hello": CHAT, "msg": CHAT, "typing": CHAT, "seen": CHAT, "end": CHAT, "take": CHAT,
    "open_letter": CHAT, "close_letter": CHAT,
    "note": CHAT, "transfer": CHAT, "requeue": CHAT, "classify": CHAT, "status": CHAT,
    "propose_intake": CHAT, "block": CHAT,
}
"""The permission each staff WebSocket message type needs. Add a type here when the protocol gets one."""

NAV: tuple[tuple[str, str, str], ...] = (
    ("/staff", N_("Console"), CHAT),
    ("/staff/callbacks", N_("Callbacks"), CALLBACKS),
    ("/staff/callbacks/slots", N_("Call times"), CALLBACK_SLOTS),
    ("/staff/accounts", N_("Accounts"), ACCOUNTS_MANAGE),
    ("/staff/canned", N_("Canned responses"), CANNED_MANAGE),
    ("/staff/hours", N_("Opening hours"), HOURS_MANAGE),
    ("/staff/audit", N_("Audit log"), AUDIT_READ),
    ("/staff/intakes", N_("Intakes"), INTAKE),
    ("/staff/referrals", N_("Referral links"), REFERRALS_MANAGE),
    ("/staff/statistics", N_("Statistics"), STATS_READ),
    ("/staff/translations", N_("Translations"), TRANSLATIONS_READ),
    ("/staff/feedback", N_("Visitor feedback"), FEEDBACK_READ),
)
"""The staff pages' menu: (path, label, permission); each member sees the pages their role allows."""

STAFF_FORM_MAX_BYTES = 16_384
"""Staff forms may carry a longer text (a canned response) than the visitor's small forms."""

SAFE_METHODS = frozenset({"GET", "HEAD"})
CSRF_HEADER = "x-csrf-token"

Endpoint = Callable[[Request, StaffSession], Awaitable[Response]]
Handler = Callable[[Request], Awaitable[Response]]


def allowed(role: str, permission: str) -> bool:
    return permission in PERMISSIONS.get(role, frozenset())


def menu(role: str) -> list[tuple[str, str]]:
    """(path, label) of the staff pages this role may open."""
    return [(path, label) for path, label, permission in NAV if allowed(role, permission)]


def message_allowed(role: str, message_type: str) -> bool:
    permission = MESSAGE_PERMISSIONS.get(message_type)
    return permission is not None and allowed(role, permission)


def same_secret(given: str, expected: str) -> bool:
    return bool(given) and bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


async def csrf_token_sent(request: Request) -> str:
    """The CSRF token of a state-changing request: a header from scripts, a field from forms."""
    header = request.headers.get(CSRF_HEADER, "")
    if header or not request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        return header
    return str((await small_form(request, STAFF_FORM_MAX_BYTES)).get("csrf", ""))


def refuse(request: Request, status: int, error: str) -> Response:
    if status == 401 and request.method in SAFE_METHODS and "text/html" in request.headers.get("accept", ""):
        return RedirectResponse("/staff", status_code=303)  # a page: to the login form
    return JSONResponse({"error": error}, status_code=status)


def staff_endpoint(permission: str, touch: bool = True) -> Callable[[Endpoint], Handler]:
    """Wrap a staff endpoint: a live session, the same origin and a CSRF token for anything
    that changes state, and a role that grants `permission`; refusals are audited.
    `touch=False`: calling it is not use of the session (it does not put off the idle timeout)."""

    def wrap(endpoint: Endpoint) -> Handler:
        async def handler(request: Request) -> Response:
            services: Services = request.app.state.services
            sessions = services.staff_sessions
            session = await sessions.get(request.cookies.get(sessions.cookie), touch=touch)
            if session is None:
                return refuse(request, 401, "not_logged_in")
            if request.method not in SAFE_METHODS:
                try:
                    sent = await csrf_token_sent(request)
                except TooLarge:
                    return refuse(request, 413, "too_large")
                if not origin_allowed(request.scope, services.settings.allowed_origins) or \
                        not same_secret(sent, session.csrf):
                    return refuse(request, 403, "csrf")
            if not allowed(session.role, permission):
                await services.audit.record(session.username, session.role, "denied", target=permission)
                return refuse(request, 403, "forbidden")
            return await endpoint(request, session)

        handler.permission = permission  # type: ignore[attr-defined]
        handler.__name__ = endpoint.__name__
        handler.__doc__ = endpoint.__doc__
        return handler

    return wrap
