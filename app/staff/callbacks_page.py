"""The counselors' callback list: the day's bookings by slot; claim one, reveal its number, record outcomes.

A booking's answers are shown to the counselor who claims it; before that only its language and
topic, enough to choose. The number is never in a page: "Show number" fetches it for the
claimant alone, writes `callback_reveal` to the audit log, and the page hides it again after a
minute. Anyone else asking is refused on the server and the refusal is logged too. Recording
"reached" or "not reached" deletes the number and the answers at once; "try again" keeps them for
one more try that must fit before the booking is deleted (slot end + CALLBACK_GRACE_SECONDS).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from babel.dates import format_date
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from app import phone
from app.callback import codes
from app.callback.bookings import OUTCOMES, Booking
from app.callback.form import CALL_LANGUAGES
from app.callback.slots import BOOKING_DAYS, Slot, day_bounds_ms, from_ms, to_ms
from app.forms import small_form
from app.i18n import N_, babel_locale
from app.services import Services
from app.staff import access
from app.staff.layout import staff_page
from app.staff.sessions import StaffSession
from app.visitor.pages import language

PATH = "/staff/callbacks"
RETRY_MINUTES = (10, 15, 30, 60, 90, 120)
"""When a second try can be planned, from now; it must still fall before the booking is deleted."""
NOTICES = {
    "claimed": N_("The callback is yours. Call when its time comes."),
    "taken": N_("A colleague has already taken that callback."),
    "released": N_("You let go of the callback; a colleague can take it now."),
    "recorded": N_("The outcome is recorded. The number and the answers are deleted."),
    "retry": N_("A second try is planned."),
    "gone": N_("That booking no longer exists: it was cancelled, or its time has passed."),
    "not_yours": N_("Only the counselor who took the callback can do that."),
    "done": N_("That call is already recorded."),
    "no_more_tries": N_("There is only one more try; record whether that one reached the caller."),
    "too_late": N_("That is too late: the booking is deleted before then. Choose an earlier time, or "
                   "record that the caller was not reached."),
    "bad_input": N_("That could not be read. Please try again."),
}


@dataclass(frozen=True)
class Row:
    """A booking as the list shows it to one counselor."""

    booking: Booking
    reference: str
    mine: bool
    language: str
    retry_at: str


def chosen_day(request: Request, today: date) -> date:
    """The day asked for (?day=YYYY-MM-DD), within yesterday .. the last bookable day; else today."""
    try:
        day = date.fromisoformat(request.query_params.get("day", ""))
    except ValueError:
        return today
    return day if today - timedelta(days=1) <= day <= today + timedelta(days=BOOKING_DAYS) else today


@access.staff_endpoint(access.CALLBACKS)
async def day_list(request: Request, session: StaffSession) -> Response:
    services: Services = request.app.state.services
    lang = language(request)
    zone = ZoneInfo(services.settings.timezone)
    today = services.now().date()
    day = chosen_day(request, today)
    slots: list[tuple[Slot, str, list[Row]]] = []
    for slot in await services.callbacks.slots(*day_bounds_ms(day, zone)):
        rows = []
        for booking in await services.callbacks.in_slot(slot.id):
            answers = booking.answers
            rows.append(Row(
                booking=booking, reference=codes.show_reference(booking.ref),
                mine=booking.claimed_by == session.username,
                language=(CALL_LANGUAGES.get(answers.language) or services.text(lang, N_("Another language")))
                if answers else "",
                retry_at=f"{from_ms(booking.retry_ms, zone):%H:%M}" if booking.retry_ms else "",
            ))
        label = f"{from_ms(slot.start_ms, zone):%H:%M}–{from_ms(slot.end_ms, zone):%H:%M}"
        slots.append((slot, label, rows))
    notice = request.query_params.get("notice", "")
    return staff_page(
        request, session, "staff/callbacks.html",
        day=day, day_label=format_date(day, "EEEE d MMMM", locale=babel_locale(lang)), slots=slots,
        earlier=(day - timedelta(days=1)).isoformat() if day > today - timedelta(days=1) else "",
        later=(day + timedelta(days=1)).isoformat() if day < today + timedelta(days=BOOKING_DAYS) else "",
        notice=services.text(lang, NOTICES[notice]) if notice in NOTICES else "",
        retry_minutes=RETRY_MINUTES, release_any=access.allowed(session.role, access.CALLBACK_SLOTS),
    )


def back(day: str, notice: str, ref: str = "") -> Response:
    query = urlencode({"day": day, "notice": notice})
    return RedirectResponse(f"{PATH}?{query}" + (f"#b-{ref}" if ref else ""), status_code=303)


async def _posted(request: Request) -> tuple[str, str, dict[str, str]]:
    """(reference, day, the whole form) of a staff action on one booking."""
    form = await small_form(request, access.STAFF_FORM_MAX_BYTES)
    fields = {name: str(value) for name, value in form.items() if isinstance(value, str)}
    day = fields.get("day", "")
    try:
        date.fromisoformat(day)
    except ValueError:
        day = ""
    return codes.read_reference(fields.get("ref", "")) or "", day, fields


@access.staff_endpoint(access.CALLBACKS)
async def claim(request: Request, session: StaffSession) -> Response:
    """Take a callback; exactly one counselor gets it."""
    services: Services = request.app.state.services
    ref, day, _ = await _posted(request)
    if not ref:
        return back(day, "bad_input")
    result = await services.callbacks.claim(ref, session.username)
    if result == "ok":
        await services.audit.record(session.username, session.role, "callback_claim", target=ref)
        return back(day, "claimed", ref)
    return back(day, {"unknown": "gone", "done": "done"}.get(result, "taken"), ref)


@access.staff_endpoint(access.CALLBACKS)
async def release(request: Request, session: StaffSession) -> Response:
    """Let go of a callback (a supervisor may also release a colleague's)."""
    services: Services = request.app.state.services
    ref, day, _ = await _posted(request)
    if not ref:
        return back(day, "bad_input")
    booking = await services.callbacks.get(ref)
    anyones = access.allowed(session.role, access.CALLBACK_SLOTS)
    result = await services.callbacks.release(ref, session.username, anyones)
    if result == "ok" and booking is not None:
        await services.audit.record(session.username, session.role, "callback_release", target=ref,
                                    other=booking.claimed_by)
        return back(day, "released", ref)
    return back(day, "gone" if result == "unknown" else "not_yours", ref)


@access.staff_endpoint(access.CALLBACKS)
async def reveal(request: Request, session: StaffSession) -> Response:
    """The number, for the counselor who holds the callback; audited either way."""
    services: Services = request.app.state.services
    ref, _, _ = await _posted(request)
    booking = await services.callbacks.get(ref) if ref else None
    if booking is None or booking.answers is None:
        return JSONResponse({"error": "gone"}, status_code=404)
    if booking.claimed_by != session.username:
        await services.audit.record(session.username, session.role, "denied", target=ref,
                                    other="callback_reveal")
        return JSONResponse({"error": "not_yours"}, status_code=403)
    await services.audit.record(session.username, session.role, "callback_reveal", target=ref)
    number = booking.answers.phone
    return JSONResponse({"number": phone.for_dialling(number), "tel": number})


@access.staff_endpoint(access.CALLBACKS)
async def outcome(request: Request, session: StaffSession) -> Response:
    """Reached, not reached (both final: the number and answers go), or one more try later."""
    services: Services = request.app.state.services
    ref, day, fields = await _posted(request)
    what = fields.get("outcome", "")
    minutes = fields.get("retry_minutes", "")
    retry_ok = what != "retry" or minutes in map(str, RETRY_MINUTES)
    if not ref or what not in (*OUTCOMES, "retry") or not retry_ok:
        return back(day, "bad_input", ref)
    now_ms = to_ms(services.now())
    retry_ms = now_ms + int(minutes) * 60_000 if what == "retry" else 0
    result = await services.callbacks.record(ref, session.username, what, now_ms, retry_ms)
    if result != "ok":
        return back(day, {"unknown": "gone", "not_claimed": "not_yours"}.get(result, result), ref)
    await services.audit.record(session.username, session.role, "callback_outcome", target=ref, other=what)
    await services.counters.add("callback.retried" if what == "retry" else f"callback.{what}")
    return back(day, "retry" if what == "retry" else "recorded", ref)


routes = [
    Route(PATH, day_list, methods=["GET"]),
    Route(f"{PATH}/claim", claim, methods=["POST"]),
    Route(f"{PATH}/release", release, methods=["POST"]),
    Route(f"{PATH}/reveal", reveal, methods=["POST"]),
    Route(f"{PATH}/outcome", outcome, methods=["POST"]),
]
