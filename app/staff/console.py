"""Staff HTTP routes: log in, the console page, log out."""

from __future__ import annotations

import hmac
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
from app.staff.accounts import PASSWORD_MAX_CHARS
from app.staff.sessions import COOKIE
from app.visitor.pages import language

LOGIN_CSRF_COOKIE = "nexus_login_csrf"


def _same(a: str, b: str) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(a.encode(), b.encode())


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
    return services.templates.render(language(request), "staff/console.html", session=session)


async def login(request: Request) -> Response:
    services: Services = request.app.state.services
    try:
        form = await small_form(request)
    except TooLarge:
        return login_form(request, N_("The form was too large."), 413)
    if not origin_allowed(request.scope, services.settings.allowed_origins) or not _same(
        str(form.get("csrf", "")), request.cookies.get(LOGIN_CSRF_COOKIE, "")
    ):
        return login_form(request, N_("The form had expired. Please try again."), 403)
    username = str(form.get("username", "")).strip().lower()
    password = str(form.get("password", ""))[: PASSWORD_MAX_CHARS + 1]
    account = await services.accounts.verify(username, password)
    if account is None:
        log.event("staff.login_failed")
        return login_form(request, N_("Wrong username or password."), 401)
    token = await services.staff_sessions.create(account)
    log.event("staff.login", staff=account.username)
    response = RedirectResponse("/staff", status_code=303)
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict",
                        secure=services.settings.secure_cookies, path="/staff")
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/staff")
    return response


async def logout(request: Request) -> Response:
    services: Services = request.app.state.services
    token = request.cookies.get(COOKIE)
    session = await services.staff_sessions.get(token)
    form = await small_form(request)
    if session is not None and _same(str(form.get("csrf", "")), session.csrf):
        await services.staff_sessions.end(token)
        log.event("staff.logout", staff=session.username)
    elif session is not None:
        return Response("CSRF token missing or wrong", status_code=403, media_type="text/plain")
    response = RedirectResponse("/staff", status_code=303)
    response.delete_cookie(COOKIE, path="/staff")
    return response


routes = [
    Route("/staff", console_page),
    Route("/staff/login", login, methods=["POST"]),
    Route("/staff/logout", logout, methods=["POST"]),
]
