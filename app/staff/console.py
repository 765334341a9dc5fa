"""The console page, or the login form for someone not logged in (the login steps are in `login.py`)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from app.intake.consent import KIND_LABELS
from app.services import Services
from app.staff import access
from app.staff.classification import QUESTIONS
from app.staff.layout import staff_page
from app.staff.login import login_form


async def console_page(request: Request) -> Response:
    services: Services = request.app.state.services
    sessions = services.staff_sessions
    session = await sessions.get(request.cookies.get(sessions.cookie))
    if session is None:
        return login_form(request)
    if not access.allowed(session.role, access.CHAT):  # an admin has no console
        return RedirectResponse("/staff/accounts", status_code=303)
    return staff_page(request, session, "staff/console.html", questions=QUESTIONS,
                      intake_kinds=KIND_LABELS.items())


routes = [
    Route("/staff", console_page),
]
