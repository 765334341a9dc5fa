"""Supervisors' page for the opening hours: weekly hours and dated exceptions (closed days, special hours).

What is typed comes back as typed when something is wrong, with the reason next to the
field, so nothing is lost; a save made from an older version than the stored one is refused
so that two supervisors cannot overwrite each other unknowingly.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from app import hours
from app.forms import small_form
from app.i18n import N_
from app.services import Services
from app.staff import access
from app.staff.layout import staff_page
from app.staff.sessions import StaffSession
from app.visitor.pages import DAY_NAMES, language

PATH = "/staff/hours"
EXCEPTIONS_MAX_CHARS = 5000
"""About a hundred exception lines; fits the staff form size limit (access.STAFF_FORM_MAX_BYTES)."""


def _message(services: Services, lang: str, error: hours.HoursError) -> str:
    text = services.text(lang, error.message).format(**error.params)
    if isinstance(error, hours.LineError):
        return services.text(lang, N_("Line {line}: {error}")).format(line=error.line, error=text)
    return text


def _editor(request: Request, session: StaffSession, week: list[str], exceptions: str, version: str,
            errors: dict[str, str] | None = None, notice: str = "", status_code: int = 200) -> Response:
    services: Services = request.app.state.services
    lang = language(request)
    days = [(day, services.text(lang, DAY_NAMES[n]), week[n]) for n, day in enumerate(hours.DAYS)]
    return staff_page(request, session, "staff/hours.html", status_code=status_code, days=days,
                      exceptions=exceptions, version=version, errors=errors or {}, notice=notice,
                      timezone=services.settings.timezone, max_chars=EXCEPTIONS_MAX_CHARS)


@access.staff_endpoint(access.HOURS_MANAGE)
async def hours_form(request: Request, session: StaffSession) -> Response:
    services: Services = request.app.state.services
    lang = language(request)
    closed = services.text(lang, N_("closed"))
    stored, version = await services.hours.current()
    shown = stored.without_past(services.now().date())
    lines = "\n".join(hours.exception_text(e, closed) for e in shown.exceptions)
    saved = "saved" in request.query_params
    notice = services.text(lang, N_("The opening hours are saved.")) if saved else ""
    return _editor(request, session, hours.week_texts(shown, closed), lines, version, notice=notice)


@access.staff_endpoint(access.HOURS_MANAGE)
async def save_hours(request: Request, session: StaffSession) -> Response:
    services: Services = request.app.state.services
    lang = language(request)
    form = await small_form(request, access.STAFF_FORM_MAX_BYTES)
    week = [str(form.get(f"day-{day}", ""))[:200] for day in hours.DAYS]
    exceptions = str(form.get("exceptions", ""))[:EXCEPTIONS_MAX_CHARS]
    errors: dict[str, str] = {}
    days: list[tuple[hours.Interval, ...]] = []
    for day, text in zip(hours.DAYS, week, strict=True):
        try:
            days.append(hours.parse_day(text))
        except hours.HoursError as error:
            errors[day] = _message(services, lang, error)
    try:
        found = hours.parse_exceptions(exceptions.splitlines())
    except hours.HoursError as error:
        errors["exceptions"] = _message(services, lang, error)
    version = str(form.get("version", ""))
    if errors:
        return _editor(request, session, week, exceptions, version, errors, status_code=400)
    parsed = hours.OpeningHours(tuple(days), found).without_past(services.now().date())
    if not await services.hours.save(parsed, version):
        _, current = await services.hours.current()
        notice = services.text(lang, N_(
            "Someone else saved the opening hours while you were editing. Your changes are below "
            "but not saved: open the page in a new tab to see theirs, then save again."))
        return _editor(request, session, week, exceptions, current, notice=notice, status_code=409)
    await services.audit.record(session.username, session.role, "hours_change", target="opening_hours")
    return RedirectResponse(f"{PATH}?saved=1", status_code=303)


routes = [
    Route(PATH, hours_form, methods=["GET"]),
    Route(PATH, save_hours, methods=["POST"]),
]
