"""Staff login in two steps (password, then a one-time code or enrolment), logout, keeping a session alive.

Between the password and the code there is no session, only a short-lived pending login
in Redis named by its own cookie. Every form here carries a double-submit CSRF token
(there is no session yet to hold one). Failures count towards the login throttle.
"""

from __future__ import annotations

import math
import secrets
import time
from typing import cast

from markupsafe import Markup
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from app import log
from app.errors import TooLarge
from app.forms import small_form
from app.i18n import N_
from app.keys import PENDING_LOGIN_SECONDS
from app.security import origin_allowed
from app.services import Services
from app.staff import access, totp
from app.staff.accounts import PASSWORD_MAX_CHARS, StaffAccount
from app.staff.sessions import StaffSession
from app.visitor.pages import language

LOGIN_CSRF_COOKIE = "nexus_login_csrf"
PENDING_COOKIE = "nexus_login_pending"
PATH = "/staff"
TOO_MANY = N_("Too many attempts. Try again in %(minutes)s minutes.")
WRONG_CODE = N_("Wrong code. Enter the code the app shows now.")


def _services(request: Request) -> Services:
    return cast(Services, request.app.state.services)


def _page(request: Request, name: str, error: str = "", status_code: int = 200,
          error_args: dict[str, object] | None = None, **context: object) -> Response:
    """A login-step page with a fresh double-submit CSRF token; `error` is a msgid (with `error_args`)."""
    services = _services(request)
    lang = language(request)
    csrf = secrets.token_urlsafe(24)
    text = services.text(lang, error) if error else ""
    response = services.templates.render(
        lang, name, status_code=status_code, error=text % error_args if error_args else text,
        csrf=csrf, **context,
    )
    response.set_cookie(LOGIN_CSRF_COOKIE, csrf, httponly=True, samesite="strict",
                        secure=services.settings.secure_cookies, path=PATH)
    return response


def login_form(request: Request, error: str = "", status_code: int = 200) -> Response:
    return _page(request, "staff/login.html", error, status_code)


def _locked(request: Request, minutes: int) -> Response:
    response = _page(request, "staff/login.html", TOO_MANY, 429, {"minutes": minutes})
    response.headers["Retry-After"] = str(minutes * 60)
    response.delete_cookie(PENDING_COOKIE, path=PATH)
    return response


async def _checked_form(request: Request) -> FormData | Response:
    """The form if it is small, from our own origin and carries the login CSRF token; else the refusal."""
    services = _services(request)
    try:
        form = await small_form(request)
    except TooLarge:
        return login_form(request, N_("The form was too large."), 413)
    if not origin_allowed(request.scope, services.settings.allowed_origins) or not access.same_secret(
        str(form.get("csrf", "")), request.cookies.get(LOGIN_CSRF_COOKIE, "")
    ):
        return login_form(request, N_("The form had expired. Please try again."), 403)
    return form


# The pending login: between a right password and the code that completes it.

async def _begin(request: Request, account: StaffAccount, stage: str) -> Response:
    services = _services(request)
    token = secrets.token_urlsafe(32)
    key = services.keys.pending_login(services.staff_sessions.token_hash(token))
    await services.redis.hset(key, mapping={"username": account.username, "stage": stage})
    await services.redis.expire(key, PENDING_LOGIN_SECONDS)
    response = RedirectResponse(f"/staff/login/{stage}", status_code=303)
    response.set_cookie(PENDING_COOKIE, token, max_age=PENDING_LOGIN_SECONDS, httponly=True,
                        samesite="strict", secure=services.settings.secure_cookies, path=PATH)
    return response


async def _pending(request: Request, stage: str) -> tuple[str, dict[str, str]] | None:
    """(key, fields) of this browser's pending login at `stage`, if any."""
    services = _services(request)
    token = request.cookies.get(PENDING_COOKIE, "")
    if not token or len(token) > 100:
        return None
    key = services.keys.pending_login(services.staff_sessions.token_hash(token))
    fields = cast(dict[str, str], await services.redis.hgetall(key))
    return (key, fields) if fields.get("stage") == stage else None


def _start_over() -> Response:
    return RedirectResponse("/staff", status_code=303)


async def _finish(request: Request, username: str, pending_key: str) -> Response:
    """The login is complete: a new session (a new id at every login) and its cookie."""
    services = _services(request)
    if pending_key:
        await services.redis.delete(pending_key)
    account = await services.accounts.get(username)
    if account is None or account.disabled:  # disabled between the password and the code
        return login_form(request, N_("Wrong username or password."), 401)
    sessions = services.staff_sessions
    token = await sessions.create(account)
    log.event("staff.login", staff=account.username)
    await services.audit.record(account.username, account.role, "login")
    landing = "/staff" if access.allowed(account.role, access.CHAT) else "/staff/accounts"
    response = RedirectResponse(landing, status_code=303)
    response.set_cookie(sessions.cookie, token, httponly=True, samesite="strict",
                        secure=services.settings.secure_cookies, path="/")
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=PATH)
    response.delete_cookie(PENDING_COOKIE, path=PATH)
    return response


async def _failed(request: Request, username: str) -> int:
    """Count and audit a failed password or code; the minutes to wait if that locked the name
    (the same whether or not the name is an account's)."""
    services = _services(request)
    log.event("staff.login_failed")
    # The name only when it is an account's: a password typed into the wrong box stays out.
    known = await services.accounts.get(username)
    actor = known.username if known else ""
    await services.audit.record(actor, "", "login_failed")
    if await services.login_throttle.failed(request, username):
        log.event("staff.login_locked")
        await services.audit.record(actor, "", "login_locked")
    return await services.login_throttle.wait_minutes(request, username)


async def login(request: Request) -> Response:
    """Step one: the password."""
    services = _services(request)
    form = await _checked_form(request)
    if isinstance(form, Response):
        return form
    username = str(form.get("username", "")).strip().lower()[:100]
    password = str(form.get("password", ""))[: PASSWORD_MAX_CHARS + 1]
    minutes = await services.login_throttle.wait_minutes(request, username)
    if minutes:
        return _locked(request, minutes)
    account = await services.accounts.verify(username, password)
    if account is None:
        if minutes := await _failed(request, username):
            return _locked(request, minutes)
        return login_form(request, N_("Wrong username or password."), 401)
    if account.totp_enrolled:
        return await _begin(request, account, "code")
    if services.settings.staff_totp_required:
        return await _begin(request, account, "enrol")
    return await _finish(request, account.username, "")


async def code_form(request: Request) -> Response:
    if await _pending(request, "code") is None:
        return _start_over()
    return _page(request, "staff/totp.html")


async def _code_posted(request: Request, stage: str) -> tuple[str, dict[str, str], str] | Response:
    """(key, fields, code) of a code posted to this browser's pending login at `stage`, or the
    response that ends the request here."""
    services = _services(request)
    form = await _checked_form(request)
    if isinstance(form, Response):
        return form
    pending = await _pending(request, stage)
    if pending is None or (stage == "enrol" and "secret" not in pending[1]):
        return _start_over()
    key, fields = pending
    if minutes := await services.login_throttle.wait_minutes(request, fields["username"]):
        return await _locked_out(request, key, minutes)
    return key, fields, str(form.get("code", ""))


async def _locked_out(request: Request, key: str, minutes: int) -> Response:
    """The name is locked: this pending login ends too."""
    await _services(request).redis.delete(key)
    return _locked(request, minutes)


async def enter_code(request: Request) -> Response:
    """Step two: a code from the authenticator, each accepted once."""
    services = _services(request)
    posted = await _code_posted(request, "code")
    if isinstance(posted, Response):
        return posted
    key, fields, code = posted
    username = fields["username"]
    secret = await services.accounts.totp_secret(username)
    step = totp.matching_step(secret, code) if secret else None
    if step is None or not await services.accounts.use_step(username, step):
        if minutes := await _failed(request, username):
            return await _locked_out(request, key, minutes)
        return _page(request, "staff/totp.html", WRONG_CODE, 401)
    return await _finish(request, username, key)


async def _enrol_page(request: Request, fields: dict[str, str], error: str = "",
                      status_code: int = 200) -> Response:
    """The QR code and the secret in text, made here and shown only during this pending login."""
    services = _services(request)
    secret = services.accounts.sealer.open(fields["secret"])
    username = fields["username"]
    return _page(request, "staff/totp_enrol.html", error, status_code,
                 qr=Markup(totp.qr_svg(secret, username)),  # segno's own SVG, nothing of the user's in it
                 secret=" ".join(secret[i:i + 4] for i in range(0, len(secret), 4)))


async def enrol_form(request: Request) -> Response:
    services = _services(request)
    pending = await _pending(request, "enrol")
    if pending is None:
        return _start_over()
    key, fields = pending
    if "secret" not in fields:
        fields["secret"] = services.accounts.sealer.seal(totp.new_secret())
        await services.redis.hset(key, "secret", fields["secret"])
    return await _enrol_page(request, fields)


async def enrol(request: Request) -> Response:
    """Confirm a new authenticator with its first code; then the login is complete."""
    services = _services(request)
    posted = await _code_posted(request, "enrol")
    if isinstance(posted, Response):
        return posted
    key, fields, code = posted
    username = fields["username"]
    secret = services.accounts.sealer.open(fields["secret"])
    step = totp.matching_step(secret, code)
    if step is None:
        if minutes := await _failed(request, username):
            return await _locked_out(request, key, minutes)
        return await _enrol_page(request, fields, WRONG_CODE, 401)
    account = await services.accounts.get(username)
    if account is None or not await services.accounts.enrol(username, secret, step):
        return _start_over()
    log.event("staff.totp_enrol", staff=username)
    await services.audit.record(username, account.role, "totp_enrol", target=username)
    return await _finish(request, username, key)


@access.staff_endpoint(access.SESSION)
async def logout(request: Request, session: StaffSession) -> Response:
    """The session ends everywhere it is used: this browser, and every socket it opened."""
    services = _services(request)
    await services.staff_sessions.end(session)
    log.event("staff.logout", staff=session.username)
    await services.audit.record(session.username, session.role, "logout")
    response = RedirectResponse("/staff", status_code=303)
    response.delete_cookie(services.staff_sessions.cookie, path="/", secure=services.settings.secure_cookies,
                           httponly=True, samesite="strict")
    return response


def _time_left(request: Request, session: StaffSession) -> Response:
    return JSONResponse({"seconds_left": max(0, math.ceil(session.expires_at - time.time())),
                         "idle_seconds": _services(request).staff_sessions.idle_seconds})


@access.staff_endpoint(access.SESSION, touch=False)
async def session_status(request: Request, session: StaffSession) -> Response:
    """How long the session lasts without use (asking does not count as use)."""
    return _time_left(request, session)


@access.staff_endpoint(access.SESSION)
async def keepalive(request: Request, session: StaffSession) -> Response:
    """"Stay signed in": counts as use, so the idle time starts again."""
    return _time_left(request, session)


routes = [
    Route("/staff/login", login, methods=["POST"]),
    Route("/staff/login/code", code_form),
    Route("/staff/login/code", enter_code, methods=["POST"]),
    Route("/staff/login/enrol", enrol_form),
    Route("/staff/login/enrol", enrol, methods=["POST"]),
    Route("/staff/logout", logout, methods=["POST"]),
    Route("/staff/session", session_status),
    Route("/staff/session/keepalive", keepalive, methods=["POST"]),
]
