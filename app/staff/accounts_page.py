"""The admins' accounts page: list, create, disable and enable, reset, change role.

A new or reset account gets a generated temporary password, shown once to the admin, and
no TOTP secret, so its next login enrols an authenticator. Disabling, resetting or a new
role ends every session of the account at once and closes its console sockets.
"""

from __future__ import annotations

import secrets

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app import log
from app.errors import BadInput
from app.forms import small_form
from app.i18n import N_
from app.services import Services
from app.staff import access
from app.staff.accounts import DISPLAY_NAME_MAX_CHARS, ROLES, USERNAME
from app.staff.layout import staff_page
from app.staff.sessions import StaffSession

ROLE_NAMES = {"counselor": N_("Counselor"), "supervisor": N_("Supervisor"), "admin": N_("Admin")}
NOT_FOUND = N_("There is no such account.")
NOT_YOURSELF = N_("You cannot disable your own account or change your own role.")


def temporary_password() -> str:
    """Random, readable in groups, far above the password policy (about 100 bits)."""
    return "-".join(secrets.token_urlsafe(6) for _ in range(3))


async def _page(request: Request, session: StaffSession, error: str = "", status_code: int = 200,
                **context: object) -> Response:
    services: Services = request.app.state.services
    return staff_page(request, session, "staff/accounts.html", status_code,
                      accounts=await services.accounts.all(), roles=ROLES, role_names=ROLE_NAMES,
                      error=error, **{"created": "", "reset": "", "password": "", **context})


@access.staff_endpoint(access.ACCOUNTS_MANAGE)
async def accounts_page(request: Request, session: StaffSession) -> Response:
    return await _page(request, session)


@access.staff_endpoint(access.ACCOUNTS_MANAGE)
async def create(request: Request, session: StaffSession) -> Response:
    services: Services = request.app.state.services
    form = await small_form(request)
    username = str(form.get("username", "")).strip().lower()
    display_name = str(form.get("display_name", "")).strip()
    role = str(form.get("role", ""))
    if not USERNAME.match(username):
        return await _page(request, session, N_("Username: 2-40 of a-z, 0-9, dot, dash and underscore."), 400)
    if not display_name or len(display_name) > DISPLAY_NAME_MAX_CHARS or role not in ROLES:
        return await _page(request, session, N_("Name: 1-40 characters, and a role."), 400)
    password = temporary_password()
    if not await services.accounts.add(username, password, role, display_name):
        return await _page(request, session, N_("That username is taken."), 409)
    log.event("staff.account_add", staff=session.username)
    await services.audit.record(session.username, session.role, "account_add", target=username, other=role)
    return await _page(request, session, created=username, password=password)


def _target(request: Request) -> str:
    return str(request.path_params["username"])


async def _end_sessions(services: Services, username: str) -> None:
    ended = await services.staff_sessions.end_all(username)
    log.event("staff.sessions_ended", staff=username, count=ended)


def _action(action: str) -> access.Handler:
    """disable / enable: the account's status, and for disable the end of its sessions."""

    @access.staff_endpoint(access.ACCOUNTS_MANAGE)
    async def change(request: Request, session: StaffSession) -> Response:
        services: Services = request.app.state.services
        username = _target(request)
        if action == "disable" and username == session.username:
            return await _page(request, session, NOT_YOURSELF, 400)
        if not await services.accounts.set_disabled(username, action == "disable"):
            return await _page(request, session, NOT_FOUND, 404)
        if action == "disable":
            await _end_sessions(services, username)
        await services.audit.record(session.username, session.role, f"account_{action}", target=username)
        return await _page(request, session)

    change.__name__ = action
    return change


@access.staff_endpoint(access.ACCOUNTS_MANAGE)
async def reset(request: Request, session: StaffSession) -> Response:
    """A new temporary password, shown once; the authenticator is enrolled again at the next login."""
    services: Services = request.app.state.services
    username = _target(request)
    password = temporary_password()
    if not await services.accounts.reset(username, password):
        return await _page(request, session, NOT_FOUND, 404)
    await _end_sessions(services, username)
    await services.audit.record(session.username, session.role, "account_reset", target=username)
    return await _page(request, session, reset=username, password=password)


@access.staff_endpoint(access.ACCOUNTS_MANAGE)
async def change_role(request: Request, session: StaffSession) -> Response:
    services: Services = request.app.state.services
    username = _target(request)
    role = str((await small_form(request)).get("role", ""))
    if username == session.username:
        return await _page(request, session, NOT_YOURSELF, 400)
    try:
        changed = await services.accounts.set_role(username, role)
    except BadInput:
        return await _page(request, session, N_("Choose a role."), 400)
    if not changed:
        return await _page(request, session, NOT_FOUND, 404)
    await _end_sessions(services, username)  # a session carries its role: the new one needs a new login
    await services.audit.record(session.username, session.role, "account_role", target=username, other=role)
    return await _page(request, session)


routes = [
    Route("/staff/accounts", accounts_page),
    Route("/staff/accounts", create, methods=["POST"]),
    Route("/staff/accounts/{username}/disable", _action("disable"), methods=["POST"]),
    Route("/staff/accounts/{username}/enable", _action("enable"), methods=["POST"]),
    Route("/staff/accounts/{username}/reset", reset, methods=["POST"]),
    Route("/staff/accounts/{username}/role", change_role, methods=["POST"]),
]
