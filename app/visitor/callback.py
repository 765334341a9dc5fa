"""Visitor pages for booking an anonymous callback, and for cancelling or moving it with its code.

Plain HTML forms that work without JavaScript. What was typed comes back with the reason next
to the field whenever something is wrong, and nothing is stored until everything is right. The
confirmation shows the reference and the change code once; no SMS or e-mail is ever sent, since
a message on the phone could reveal the contact. A refusal because a number was booked too often
reads like any other "too many tries": it must not tell someone else's phone has a booking.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app import log
from app.callback import codes, form
from app.callback.bookings import Booking
from app.callback.slots import BOOKING_DAYS, Slot, from_ms, nearest, to_ms
from app.errors import TooLarge, TooManyAttempts
from app.forms import FORM_MAX_BYTES, small_form
from app.i18n import N_, babel_locale
from app.security import origin_allowed
from app.services import Services
from app.visitor.pages import language, visitor_page

PATH = "/callback"
REFERENCE_TRIES = 5
CHANGE_PATH = "/callback/change"

NOTICES = {
    "full": N_("That time was just booked full. Here are the nearest free times; choose one and send again."),
    "closed": N_("That time can no longer be booked. Please choose another."),
    "too_many": N_("Too many bookings have been tried from here. For everyone's safety, please wait "
                   "{minutes} min, or chat with us or call Kvinnofridslinjen on 020-50 50 50."),
    "not_allowed": N_("The booking could not be sent from here. Please reload the page and try again."),
    "too_large": N_("That was too long to send. Please shorten your answers and try again."),
    "fix": N_("Nothing was booked yet. Please correct what is marked below and send again."),
    "code_format": N_("Check the reference (8 letters and digits) and the code (12 digits) and try again."),
    "code_unknown": N_("The reference and code do not match a booking. Check them and try again. A booking "
                       "is deleted a little while after its time."),
    "too_many_codes": N_("Too many tries. For everyone's safety, please wait {minutes} min and try again."),
    "done": N_("We have already made this call, so it cannot be changed. You are welcome to book a "
               "new time."),
    "same": N_("That is the time you already have."),
}


def when(services: Services, lang: str, slot: Slot) -> str:
    """A slot as people say it: "Tuesday 2 December, 10:00–10:30"."""
    zone = ZoneInfo(services.settings.timezone)
    start, end = from_ms(slot.start_ms, zone), from_ms(slot.end_ms, zone)
    return f"{format_datetime(start, 'EEEE d MMMM, HH:mm', locale=babel_locale(lang))}–{end:%H:%M}"


def slot_days(services: Services, lang: str, slots: list[Slot]) -> list[tuple[str, list[tuple[Slot, str]]]]:
    """Slots grouped by local day for the time picker: (day label, [(slot, "10:00–10:30")])."""
    zone = ZoneInfo(services.settings.timezone)
    days: dict[str, list[tuple[Slot, str]]] = {}
    for slot in slots:
        start = from_ms(slot.start_ms, zone)
        day = format_datetime(start, "EEEE d MMMM", locale=babel_locale(lang))
        days.setdefault(day, []).append((slot, f"{start:%H:%M}–{from_ms(slot.end_ms, zone):%H:%M}"))
    return list(days.items())


async def bookable(services: Services) -> list[Slot]:
    now = services.now()
    return await services.callbacks.bookable(to_ms(now), to_ms(now + timedelta(days=BOOKING_DAYS)))


def minutes(error: TooManyAttempts) -> int:
    return math.ceil(error.retry_after / 60)


async def booking_form(request: Request, values: dict[str, str] | None = None,
                       errors: dict[str, str] | None = None, notice: str = "",
                       alternatives: list[Slot] | None = None, status_code: int = 200,
                       **params: Any) -> Response:
    services: Services = request.app.state.services
    lang = language(request)
    settings = services.settings
    slots = await bookable(services)
    chosen = {"voicemail": form.NO, "say_where": form.NO,
              "language": lang if lang in form.CALL_LANGUAGES else "sv", **(values or {})}
    messages = {name: services.text(lang, form.ERRORS[code]).format(max=form.LIMITS.get(name, 0))
                for name, code in (errors or {}).items()}
    return visitor_page(
        request, "visitor/callback.html", status_code=status_code,
        days=slot_days(services, lang, slots), any_free=any(slot.free for slot in slots),
        values=chosen, errors=messages, limits=form.LIMITS, call_languages=form.CALL_LANGUAGES,
        notice=services.text(lang, NOTICES[notice]).format(**params) if notice else "",
        alternatives=[(slot, when(services, lang, slot)) for slot in alternatives or []],
        caller_id=settings.callback_caller_id,
        grace_minutes=settings.callback_grace_seconds // 60,
        closes_minutes=settings.callback_booking_closes_minutes,
    )


async def posted(request: Request, max_bytes: int) -> tuple[dict[str, str], str, int]:
    """(the form's text fields, "", 200), or ({}, notice, status) when the post is not accepted."""
    services: Services = request.app.state.services
    if not origin_allowed(request.scope, services.settings.allowed_origins):
        return {}, "not_allowed", 403
    try:
        sent = await small_form(request, max_bytes)
    except TooLarge:
        return {}, "too_large", 413
    return {name: value for name, value in sent.items() if isinstance(value, str)}, "", 200


async def show_form(request: Request) -> Response:
    return await booking_form(request)


async def book(request: Request) -> Response:
    """Book a callback: every field checked, then one atomic booking of a place."""
    services: Services = request.app.state.services
    values, refused, status = await posted(request, form.FORM_MAX_BYTES)
    if refused:
        return await booking_form(request, notice=refused, status_code=status)
    answers, slot_id, errors = form.read(values)
    if answers is None:
        log.event("callback.refused", reason="invalid")
        return await booking_form(request, values, errors, notice="fix", status_code=400)
    try:
        await services.throttle.callback_booking(request, services.settings.callback_bookings_per_client)
        await services.throttle.number_may_book(answers.phone)
    except TooManyAttempts as error:
        log.event("callback.refused", reason="too_many_attempts")
        return await booking_form(request, values, notice="too_many", status_code=429,
                                  minutes=minutes(error))
    now_ms = to_ms(services.now())
    for _ in range(REFERENCE_TRIES):  # a reference already in use (1 in 31**8 per booking): another
        reference, code = codes.new_reference(), codes.new_code()
        result = await services.callbacks.book(reference, slot_id, answers,
                                               services.callback_codes.hash(reference, code), now_ms)
        if result != "taken":
            break
    else:
        raise RuntimeError("no free booking reference")  # never in practice: a bug or a full keyspace
    if result in ("unknown", "closed", "full"):
        log.event("callback.refused", reason=result)
        free = await bookable(services)
        return await booking_form(request, values, notice="full" if result == "full" else "closed",
                                  alternatives=nearest(free, int(slot_id)), status_code=409)
    await services.throttle.number_booked(answers.phone)
    await services.counters.add("callback.booked")
    log.event("callback.booked")
    slot = await services.callbacks.slot(slot_id)
    return visitor_page(
        request, "visitor/callback_booked.html", status_code=201,
        reference=codes.show_reference(reference), code=codes.show_code(code),
        when=when(services, language(request), slot) if slot else "",
        caller_id=services.settings.callback_caller_id,
        grace_minutes=services.settings.callback_grace_seconds // 60,
    )


@dataclass(frozen=True)
class Held:
    """A booking opened with its reference and code (both as shown, to carry to the next step)."""

    booking: Booking
    reference: str
    code: str


async def change_page(request: Request, notice: str = "", status_code: int = 200, held: Held | None = None,
                      typed_reference: str = "", alternatives: list[Slot] | None = None,
                      done: str = "", **params: Any) -> Response:
    """The change page: the form for reference and code, or (with `held`) the booking's time and choices."""
    services: Services = request.app.state.services
    lang = language(request)
    current = await services.callbacks.slot(held.booking.slot_id) if held else None
    slots = [slot for slot in await bookable(services) if held is None or slot.id != held.booking.slot_id]
    return visitor_page(
        request, "visitor/callback_change.html", status_code=status_code,
        notice=services.text(lang, NOTICES[notice]).format(**params) if notice else "",
        held=held, current=when(services, lang, current) if current else "",
        typed_reference=typed_reference, days=slot_days(services, lang, slots),
        alternatives=[(slot, when(services, lang, slot)) for slot in alternatives or []], done=done,
    )


async def show_change(request: Request) -> Response:
    return await change_page(request)


async def change(request: Request) -> Response:
    """With the reference and the change code: see the booking, cancel it, or move it."""
    services: Services = request.app.state.services
    sent, refused, status = await posted(request, FORM_MAX_BYTES)
    if refused:
        return await change_page(request, notice=refused, status_code=status)
    typed_reference, typed_code = str(sent.get("reference", ""))[:40], str(sent.get("code", ""))[:40]
    reference, code = codes.read_reference(typed_reference), codes.read_code(typed_code)
    if reference is None or code is None:
        return await change_page(request, notice="code_format", status_code=400,
                                 typed_reference=typed_reference)
    try:
        await services.throttle.code_attempt(request)
    except TooManyAttempts as error:
        return await change_page(request, notice="too_many_codes", status_code=429, minutes=minutes(error))
    booking = await services.callbacks.get(reference)
    stored = await services.callbacks.code_hash(reference)
    if booking is None or not services.callback_codes.matches(reference, code, stored):
        log.event("callback.refused", reason="code_unknown")
        return await change_page(request, notice="code_unknown", status_code=404,
                                 typed_reference=typed_reference)
    held = Held(booking, codes.show_reference(reference), codes.show_code(code))
    action = str(sent.get("action", "show"))
    if action == "cancel":
        result = await services.callbacks.cancel(reference)
        if result == "ok":
            await services.counters.add("callback.cancelled")
            log.event("callback.cancelled")
            return await change_page(request, done="cancelled")
        return await change_page(request, notice="done", status_code=409, held=held)
    if action == "move":
        target = str(sent.get("slot", ""))
        result = await services.callbacks.move(reference, target, to_ms(services.now())) \
            if target.isdigit() else "unknown_slot"
        if result == "ok":
            await services.counters.add("callback.moved")
            log.event("callback.moved")
            moved = await services.callbacks.get(reference)
            return await change_page(request, done="moved",
                                     held=Held(moved, held.reference, held.code) if moved else None)
        if result in ("full", "closed", "unknown_slot"):
            free = await bookable(services)
            notice = "full" if result == "full" else "closed"
            wanted = int(target) if target.isdigit() else 0
            return await change_page(request, notice=notice, status_code=409,
                                     alternatives=nearest(free, wanted), held=held)
        notice = "same" if result == "same" else "done"
        return await change_page(request, notice=notice, status_code=409, held=held)
    return await change_page(request, held=held)


routes = [
    Route(PATH, show_form, methods=["GET"]),
    Route(PATH, book, methods=["POST"]),
    Route(CHANGE_PATH, show_change, methods=["GET"]),
    Route(CHANGE_PATH, change, methods=["POST"]),
]
