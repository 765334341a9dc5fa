"""Supervisors' page for the callback time slots: open a series at once, change a slot's places, remove one.

A slot never gets fewer places than it has bookings, and one with bookings cannot be removed:
the visitors who booked it were promised a call. Times are typed and shown in TIMEZONE's
wall-clock time; a time that does not exist on the night the clocks go forward is skipped.
"""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from babel.dates import format_date
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from app.callback.slots import (
    MAX_PLACES,
    MAX_SERIES,
    OPEN_AHEAD_DAYS,
    SLOT_MINUTES,
    Slot,
    from_ms,
    parse_clock,
    series,
    to_ms,
)
from app.forms import small_form
from app.i18n import N_, babel_locale
from app.services import Services
from app.staff import access
from app.staff.layout import staff_page
from app.staff.sessions import StaffSession
from app.visitor.pages import DAY_NAMES, language

PATH = "/staff/callbacks/slots"
NOTICES = {
    "opened": N_("{count} call times are open."),
    "saved": N_("The call time is changed."),
    "removed": N_("The call time is removed."),
    "booked": N_("That call time has more bookings than that. Its visitors were promised a call: change "
                 "it only to at least as many places as it has bookings."),
    "gone": N_("That call time no longer exists."),
    "bad_input": N_("That could not be read. Please try again."),
}
ERRORS = {
    "dates": N_("Choose a first and a last day, from today and at most {days} days ahead."),
    "weekdays": N_("Choose at least one weekday."),
    "times": N_("Write the first and last start time as HH:MM, the first no later than the last."),
    "minutes": N_("Choose a length from the list."),
    "places": N_("Places must be a whole number from 1 to {max}."),
    "none": N_("Those choices open no call times."),
    "many": N_("That would open more than {max} call times at once. Choose fewer days or times."),
}
DEFAULTS = {"first": "", "last": "", "from": "10:00", "to": "15:30", "minutes": "30", "places": "2",
            "weekdays": "0,1,2,3,4"}


def _slots_by_day(slots: list[Slot], zone: ZoneInfo, lang: str) -> list[tuple[str, list[tuple[Slot, str]]]]:
    days: dict[str, list[tuple[Slot, str]]] = {}
    for slot in slots:
        start = from_ms(slot.start_ms, zone)
        label = format_date(start.date(), "EEEE d MMMM", locale=babel_locale(lang))
        days.setdefault(label, []).append((slot, f"{start:%H:%M}–{from_ms(slot.end_ms, zone):%H:%M}"))
    return list(days.items())


async def _page(request: Request, session: StaffSession, values: dict[str, str] | None = None,
                error: str = "", status_code: int = 200) -> Response:
    services: Services = request.app.state.services
    lang = language(request)
    zone = ZoneInfo(services.settings.timezone)
    now = services.now()
    today = now.date()
    shown = {**DEFAULTS, "first": today.isoformat(), "last": (today + timedelta(days=13)).isoformat(),
             **(values or {})}
    slots = await services.callbacks.slots(to_ms(now), to_ms(now + timedelta(days=OPEN_AHEAD_DAYS)))
    notice = request.query_params.get("notice", "")
    count = request.query_params.get("count", "0")
    limit = MAX_PLACES if error == "places" else MAX_SERIES
    return staff_page(
        request, session, "staff/callback_slots.html", status_code=status_code, values=shown,
        weekdays=[(str(n), services.text(lang, name)) for n, name in enumerate(DAY_NAMES)],
        chosen_weekdays=set(shown["weekdays"].split(",")), slot_minutes=SLOT_MINUTES, max_places=MAX_PLACES,
        days=_slots_by_day(slots, zone, lang), timezone=services.settings.timezone,
        notice=services.text(lang, NOTICES[notice]).format(count=count if count.isdigit() else "0")
        if notice in NOTICES else "",
        error=services.text(lang, ERRORS[error]).format(days=OPEN_AHEAD_DAYS, max=limit) if error else "",
    )


@access.staff_endpoint(access.CALLBACK_SLOTS)
async def slots_page(request: Request, session: StaffSession) -> Response:
    return await _page(request, session)


def _places(text: str) -> int | None:
    return int(text) if text.isdigit() and 0 < int(text) <= MAX_PLACES else None


@access.staff_endpoint(access.CALLBACK_SLOTS)
async def open_slots(request: Request, session: StaffSession) -> Response:
    """Open back-to-back slots on chosen weekdays between two dates."""
    services: Services = request.app.state.services
    form = await small_form(request, access.STAFF_FORM_MAX_BYTES)
    weekdays = frozenset(int(d) for d in form.getlist("weekday") if isinstance(d, str) and d in "0123456")
    names = ("first", "last", "from", "to", "minutes", "places")
    values = {name: str(form.get(name, ""))[:20] for name in names}
    values["weekdays"] = ",".join(str(d) for d in sorted(weekdays))
    today = services.now().date()
    try:
        first, last = date.fromisoformat(values["first"]), date.fromisoformat(values["last"])
    except ValueError:
        first = last = date.min
    start, end = parse_clock(values["from"]), parse_clock(values["to"])
    places = _places(values["places"])
    error = ""
    if not today <= first <= last <= today + timedelta(days=OPEN_AHEAD_DAYS):
        error = "dates"
    elif not weekdays:
        error = "weekdays"
    elif start is None or end is None or start > end:
        error = "times"
    elif values["minutes"] not in map(str, SLOT_MINUTES):
        error = "minutes"
    elif places is None:
        error = "places"
    if error or start is None or end is None or places is None:
        return await _page(request, session, values, error or "times", status_code=400)
    zone = ZoneInfo(services.settings.timezone)
    now_ms = to_ms(services.now())
    spans = [span for span in series(first, last, weekdays, start, end, int(values["minutes"]), zone)
             if span[0] > now_ms]
    if not spans or len(spans) > MAX_SERIES:
        return await _page(request, session, values, "none" if not spans else "many", status_code=400)
    await services.callbacks.open_slots(spans, places)
    await services.audit.record(session.username, session.role, "callback_slots", target="callback_slots",
                                other=f"open:{len(spans)}")
    return RedirectResponse(f"{PATH}?{urlencode({'notice': 'opened', 'count': len(spans)})}", status_code=303)


@access.staff_endpoint(access.CALLBACK_SLOTS)
async def change_slot(request: Request, session: StaffSession) -> Response:
    """Give one slot another number of places, or remove it (places 0)."""
    services: Services = request.app.state.services
    form = await small_form(request, access.STAFF_FORM_MAX_BYTES)
    slot_id = str(form.get("slot", ""))
    remove = form.get("action") == "remove"
    places = 0 if remove else _places(str(form.get("places", "")))
    if not slot_id.isdigit() or places is None:
        return RedirectResponse(f"{PATH}?notice=bad_input", status_code=303)
    result = await services.callbacks.set_places(slot_id, places)
    if result == "ok":
        await services.audit.record(session.username, session.role, "callback_slots", target=slot_id,
                                    other="remove" if remove else f"places:{places}")
    notice = {"ok": "removed" if remove else "saved", "unknown": "gone"}.get(result, "booked")
    return RedirectResponse(f"{PATH}?notice={notice}", status_code=303)


routes = [
    Route(PATH, slots_page, methods=["GET"]),
    Route(PATH, open_slots, methods=["POST"]),
    Route(f"{PATH}/change", change_slot, methods=["POST"]),
]
