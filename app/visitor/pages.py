"""Visitor HTTP routes: the landing page (which also holds the chat), safety, language, starting a chat."""

from __future__ import annotations

from datetime import date
from typing import Any

from babel.dates import format_date, format_datetime
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from app import i18n, log
from app.errors import Closed, NotAllowed, QueueFull, ServiceError, TooManyAttempts, Unavailable
from app.forms import small_form
from app.hours import OpeningHours
from app.i18n import N_, babel_locale
from app.redis import UNAVAILABLE
from app.security import origin_allowed
from app.services import Services
from app.staff import access

LANGUAGE_COOKIE = "lang"
TEXT_SIZE_COOKIE = "size"
TEXT_SIZES = ("normal", "large", "larger")
CHAT_STORAGE_KEY = "nx-chat"
"""The sessionStorage key of the visitor's chat token: one name for visitor.js and quick-exit.js."""
RETURN_PATHS = ("/", "/safety", "/callback", "/callback/change", "/for/young", "/for/older", "/feedback",
                "/staff",
                *(path for path, _, _ in access.NAV))
"""Where the language switch may send the visitor or staff member back to (never any other
address from the form)."""
DAY_NAMES = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))
UPCOMING_DAYS = 30
"""How far ahead visitors are told of closed days and special hours."""

REFUSALS = {
    "closed": N_(
        "The chat is closed right now. See the opening hours and other ways to get help below."
    ),
    "queue_full": N_(
        "Too many people are waiting right now. Please try again in a little while, "
        "or call Kvinnofridslinjen on 020-50 50 50."
    ),
    "not_allowed": N_("The chat could not be started from here. Please reload the page."),
    "too_many_attempts": N_("The chat cannot be started right now. Please try again later, or call "
                            "Kvinnofridslinjen on 020-50 50 50."),
    "unavailable": N_("The chat has a technical interruption right now. Please try again in a little while, "
                      "or call Kvinnofridslinjen on 020-50 50 50."),
}


def language(request: Request) -> str:
    return i18n.choose(request.cookies.get(LANGUAGE_COOKIE))


def text_size(request: Request) -> str:
    chosen = request.cookies.get(TEXT_SIZE_COOKIE, "")
    return chosen if chosen in TEXT_SIZES else TEXT_SIZES[0]


def hours_lines(opening_hours: OpeningHours, services: Services, lang: str) -> list[str]:
    """The weekly hours as short lines, e.g. "Mon–Fri 08:00–16:00"."""
    lines = []
    for days, intervals in opening_hours.weekly_groups():
        first, last = days[0], days[-1]
        if len(days) > 1 and list(days) == list(range(first, last + 1)):
            names = f"{services.text(lang, DAY_NAMES[first])}–{services.text(lang, DAY_NAMES[last])}"
        else:
            names = ", ".join(services.text(lang, DAY_NAMES[d]) for d in days)
        lines.append(f"{names} {', '.join(i.text('–') for i in intervals)}")
    return lines


def exception_lines(opening_hours: OpeningHours, services: Services, lang: str, today: date) -> list[str]:
    """Closed days and special hours of the coming weeks, e.g. "Closed 24 Dec" (never the staff note)."""
    lines = []
    for exception in opening_hours.upcoming(today, UPCOMING_DAYS):
        dates = format_date(exception.first, "d MMM", locale=babel_locale(lang))
        if exception.last != exception.first:
            dates += "–" + format_date(exception.last, "d MMM", locale=babel_locale(lang))
        if exception.closed:
            lines.append(services.text(lang, N_("Closed {dates}")).format(dates=dates))
        else:
            hours = ", ".join(i.text("–") for i in exception.intervals)
            lines.append(services.text(lang, N_("{dates}: open {hours}")).format(dates=dates, hours=hours))
    return lines


def opens_again(opening_hours: OpeningHours, services: Services, lang: str) -> str:
    """When a closed chat opens again, as a sentence; empty when open (or not within a year)."""
    when = opening_hours.next_opening(services.now())
    if when is None:
        return ""
    text = format_datetime(when, "EEEE d MMMM HH:mm", locale=babel_locale(lang))
    return services.text(lang, N_("The chat opens again {when}.")).format(when=text)


def visitor_page(request: Request, name: str, **context: Any) -> Response:
    """A visitor page: every one carries the quick exit, the emergency numbers and the safety text."""
    services: Services = request.app.state.services
    settings = services.settings
    return services.templates.render(
        language(request), name,
        path=request.url.path,
        text_size=text_size(request),
        neutral_url=settings.neutral_site_url,
        chat_key=CHAT_STORAGE_KEY,
        retention_minutes=max(1, round(settings.conversation_retention_seconds / 60)),
        **context,
    )


async def landing(request: Request) -> Response:
    services: Services = request.app.state.services
    lang = language(request)
    opening_hours, _ = await services.hours.current()
    return visitor_page(
        request, "visitor/index.html",
        is_open=opening_hours.is_open(services.now()),
        always_open=opening_hours.always,
        hours=hours_lines(opening_hours, services, lang),
        exceptions=exception_lines(opening_hours, services, lang, services.now().date()),
        opens_again=opens_again(opening_hours, services, lang),
        counselors_online=await services.presence.count(),
        max_chars=services.settings.message_max_chars,
        letters_open=await services.accepts_letters(),
        reply_within_days=services.settings.letter_reply_days,
        code_days=services.code_days(),
    )


async def safety(request: Request) -> Response:
    """What traces a visit can leave and how to reduce them; works without JavaScript."""
    return visitor_page(request, "visitor/safety.html")


async def choose_language(request: Request) -> Response:
    form = await small_form(request)
    lang = i18n.choose(str(form.get("lang", "")))
    return back_with(request, str(form.get("next", "/")), LANGUAGE_COOKIE, lang)


async def choose_text_size(request: Request) -> Response:
    form = await small_form(request)
    size = str(form.get("size", ""))
    return back_with(request, str(form.get("next", "/")), TEXT_SIZE_COOKIE,
                     size if size in TEXT_SIZES else TEXT_SIZES[0])


def back_with(request: Request, back: str, cookie: str, value: str) -> Response:
    """Back to the page (only one of ours) with a preference set."""
    response = RedirectResponse(back if back in RETURN_PATHS else "/", status_code=303)
    services: Services = request.app.state.services
    # A session cookie: gone when the browser closes; holds only the preference.
    response.set_cookie(cookie, value, httponly=True, samesite="strict",
                        secure=services.settings.secure_cookies)
    return response


async def start_chat(request: Request) -> Response:
    """Create an anonymous session and its conversation in the queue."""
    services: Services = request.app.state.services
    lang = language(request)
    try:
        if not origin_allowed(request.scope, services.settings.allowed_origins):
            raise NotAllowed()
        if not await services.is_open():
            raise Closed()
        await services.throttle.chat_start(request)
        token, _ = await services.store.create(lang, services.settings.queue_max)
    except (NotAllowed, TooManyAttempts) as error:
        return refusal(services, lang, error)
    except (Closed, QueueFull) as error:
        # `letter`: the page may offer to leave a message instead (see app/visitor/returning.py).
        return refusal(services, lang, error, letter=await services.accepts_letters())
    except UNAVAILABLE:  # Redis restarting or failing over: a calm answer with the alternatives, not a 500
        return refusal(services, lang, Unavailable())
    await services.relay.publish(services.keys.queue_channel, {"kind": "queue"})
    log.event("chat.started", lang=lang)
    await services.counters.add("chat.started", lang=lang)
    return JSONResponse({"token": token})


def refusal(services: Services, lang: str, error: ServiceError, letter: bool = False) -> Response:
    log.event("chat.refused", reason=error.code)
    return JSONResponse({"error": error.code, "message": services.text(lang, REFUSALS[error.code]),
                         "letter": letter}, status_code=error.status)


routes = [
    Route("/", landing),
    Route("/safety", safety),
    Route("/lang", choose_language, methods=["POST"]),
    Route("/text-size", choose_text_size, methods=["POST"]),
    Route("/api/chat", start_chat, methods=["POST"]),
]
