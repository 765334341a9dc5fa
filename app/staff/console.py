"""Staff HTTP routes: log in, the console page, log out."""

from __future__ import annotations

import secrets

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from app import log
from app.errors import TooLarge
from app.forms import small_form
from app.i18n import N_
from app.security import origin_allowed
from app.services import Services
from app.staff import access
from app.staff.accounts import PASSWORD_MAX_CHARS
from app.staff.layout import staff_page
from app.staff.sessions import COOKIE, StaffSession
from app.visitor.pages import language

LOGIN_CSRF_COOKIE = "nexus_login_csrf"


def login_form(request: Request, error: str = "", status_code: int = 200) -> Response:
    """The login form, with a fresh double-submit CSRF token."""
    services: Services = request.app.state.services
    lang = language(request)
    csrf = secrets.token_urlsafe(24)
    response = services.templates.render(
        lang, "staff/login.html", status_code=status_code,
        error=services.text(lang, error) if error else "", csrf=csrf,
    )
    response.set_cookie(LOGIN_CSRF_COOKIE, csrf, httponly=True, samesite="strict",
                        secure=services.settings.secure_cookies, path="/staff")
    return response


async def console_page(request: Request) -> Response:
    services: Services = request.app.state.services
    session = await services.staff_sessions.get(request.cookies.get(COOKIE))
    if session is None:
        return login_form(request)
    return staff_page(request, session, "staff/console.html")


async def login(request: Request) -> Response:
    services: Services = request.app.state.services
    try:
        form = await small_form(request)
    except TooLarge:
        return login_form(request, N_("The form was too large."), 413)
    if not origin_allowed(request.scope, services.settings.allowed_origins) or not access.same_secret(
        str(form.get("csrf", "")), request.cookies.get(LOGIN_CSRF_COOKIE, "")
    ):
        return login_form(request, N_("The form had expired. Please try again."), 403)
    username = str(form.get("username", "")).strip().lower()
    password = str(form.get("password", ""))[: PASSWORD_MAX_CHARS + 1]
    account = await services.accounts.verify(username, password)
    if account is None:
        log.event("staff.login_failed")
        # The name only when it is an account's: a password typed into the wrong box stays out.
        known = await services.accounts.get(username)
        await services.audit.record(known.username if known else "", "", "login_failed")
        return login_form(request, N_("Wrong username or password."), 401)
    token = await services.staff_sessions.create(account)
    log.event("staff.login", staff=account.username)
    await services.audit.record(account.username, account.role, "login")
    response = RedirectResponse("/staff", status_code=303)
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict",
                        secure=services.settings.secure_cookies, path="/staff")
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/staff")
    return response


@access.staff_endpoint(access.SESSION)
async def logout(request: Request, session: StaffSession) -> Response:
    services: Services = request.app.state.services
    await services.staff_sessions.end(request.cookies.get(COOKIE))
    log.event("staff.logout", staff=session.username)
    await services.audit.record(session.username, session.role, "logout")
    response = RedirectResponse("/staff", status_code=303)
    response.delete_cookie(COOKIE, path="/staff")
    return response


routes = [
    Route("/staff", console_page),
    Route("/staff/login", login, methods=["POST"]),
    Route("/staff/logout", logout, methods=["POST"]),
]
