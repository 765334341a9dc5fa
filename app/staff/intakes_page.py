"""Supervisors' intake pages: the inbox (view, print, mark registered) and the dead letters (retry).

The lists show ids, kinds, languages, times and error classes only; the document is opened
on its own page, one intake at a time, and every opening is audited. Marking an intake
registered in the case system deletes it here.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from app.intake import delivery
from app.services import Services
from app.staff import access
from app.staff.layout import staff_page
from app.staff.sessions import StaffSession

PATH = "/staff/intakes"


def _created(services: Services, meta: dict[str, str]) -> str:
    zone = ZoneInfo(services.settings.timezone)
    stamp = datetime.fromtimestamp(int(meta.get("created_ms", "0")) / 1000, zone)
    return stamp.strftime("%Y-%m-%d %H:%M")


async def _listed(services: Services, ids: list[str]) -> list[tuple[str, dict[str, str], str]]:
    """(id, meta, created) of the intakes that still exist, oldest first."""
    found = []
    for intake_id in ids:
        meta = await services.intakes.meta(intake_id)
        if meta is not None:
            found.append((intake_id, meta, _created(services, meta)))
    return sorted(found, key=lambda row: int(row[1].get("created_ms", "0")))


@access.staff_endpoint(access.INTAKE)
async def inbox(request: Request, session: StaffSession) -> Response:
    services: Services = request.app.state.services
    k = services.keys
    waiting = await _listed(services, sorted(cast(set[str], await services.durable.smembers(k.intake_inbox))))
    return staff_page(request, session, "staff/intakes.html", intakes=waiting,
                      dead=await services.durable.llen(k.intake_dead),
                      mode=services.settings.intake_delivery, done="registered" in request.query_params)


@access.staff_endpoint(access.INTAKE)
async def dead_letters(request: Request, session: StaffSession) -> Response:
    services: Services = request.app.state.services
    ids = cast(list[str], await services.durable.lrange(services.keys.intake_dead, 0, -1))
    dead = await _listed(services, ids)
    return staff_page(request, session, "staff/intakes_dead.html", intakes=dead,
                      retried="retried" in request.query_params)


async def _in_inbox(services: Services, intake_id: str) -> bool:
    return bool(await services.durable.sismember(services.keys.intake_inbox, intake_id))


@access.staff_endpoint(access.INTAKE)
async def view(request: Request, session: StaffSession) -> Response:
    services: Services = request.app.state.services
    intake_id = request.path_params["intake_id"]
    meta = await services.intakes.meta(intake_id) if await _in_inbox(services, intake_id) else None
    document = await services.intakes.document(intake_id) if meta is not None else None
    if meta is None or document is None:
        return staff_page(request, session, "staff/intake.html", status_code=404, intake_id="")
    await services.audit.record(session.username, session.role, "intake_viewed", target=intake_id)
    return staff_page(request, session, "staff/intake.html", intake_id=intake_id, meta=meta,
                      created=_created(services, meta), document=document)


@access.staff_endpoint(access.INTAKE)
async def registered(request: Request, session: StaffSession) -> Response:
    services: Services = request.app.state.services
    intake_id = request.path_params["intake_id"]
    if not await _in_inbox(services, intake_id):
        return RedirectResponse(PATH, status_code=303)  # already registered by someone else
    await services.intakes.purge(intake_id)
    await services.audit.record(session.username, session.role, "intake_registered", target=intake_id)
    await services.counters.add("intake.delivered")  # the inbox's way of delivering it
    return RedirectResponse(f"{PATH}?registered=1", status_code=303)


@access.staff_endpoint(access.INTAKE)
async def retry(request: Request, session: StaffSession) -> Response:
    services: Services = request.app.state.services
    intake_id = request.path_params["intake_id"]
    if await delivery.retry_dead(services.intakes, intake_id):
        await services.audit.record(session.username, session.role, "intake_retried", target=intake_id)
        return RedirectResponse(f"{PATH}/dead?retried=1", status_code=303)
    return RedirectResponse(f"{PATH}/dead", status_code=303)


routes = [
    Route(PATH, inbox, methods=["GET"]),
    Route(f"{PATH}/dead", dead_letters, methods=["GET"]),
    Route(PATH + "/{intake_id}", view, methods=["GET"]),
    Route(PATH + "/{intake_id}/registered", registered, methods=["POST"]),
    Route(PATH + "/{intake_id}/retry", retry, methods=["POST"]),
]
