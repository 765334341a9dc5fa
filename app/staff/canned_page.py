"""Staff routes for canned responses: supervisors list, add, edit and delete them; the console reads them."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from app.errors import TooLarge
from app.forms import small_form
from app.i18n import LANGUAGES, N_
from app.services import Services
from app.staff import access
from app.staff.canned import TEXT_MAX_CHARS, TITLE_MAX_CHARS, CannedResponses, problem
from app.staff.layout import staff_page
from app.staff.sessions import StaffSession
from app.visitor.pages import language

FORM_MAX_BYTES = access.STAFF_FORM_MAX_BYTES


def responses(request: Request) -> CannedResponses:
    services: Services = request.app.state.services
    return CannedResponses(services.durable, services.keys)


async def page(request: Request, session: StaffSession, error: str = "", status_code: int = 200) -> Response:
    services: Services = request.app.state.services
    return staff_page(
        request, session, "staff/canned.html", status_code=status_code,
        items=await responses(request).all(), languages=LANGUAGES,
        title_max=TITLE_MAX_CHARS, text_max=TEXT_MAX_CHARS,
        error=services.text(language(request), error) if error else "",
    )


@access.staff_endpoint(access.CANNED_MANAGE)
async def canned_list(request: Request, session: StaffSession) -> Response:
    return await page(request, session)


@access.staff_endpoint(access.CANNED_MANAGE)
async def canned_save(request: Request, session: StaffSession) -> Response:
    """Add one (POST /staff/canned) or replace one (POST /staff/canned/{id})."""
    services: Services = request.app.state.services
    cid = request.path_params.get("cid", "")
    try:
        form = await small_form(request, FORM_MAX_BYTES)
    except TooLarge:
        return await page(request, session, N_("The form was too large."), 413)
    lang, title = str(form.get("lang", "")), str(form.get("title", "")).strip()
    text = str(form.get("text", "")).replace("\r\n", "\n").strip()
    wrong = problem(lang, title, text)
    if wrong:
        return await page(request, session, wrong, 400)
    store = responses(request)
    if cid and not await store.exists(cid):
        return JSONResponse({"error": "not_found"}, status_code=404)
    cid = await store.save(lang, title, text, cid)
    await services.audit.record(session.username, session.role, "canned_change", target=cid,
                                other="edit" if request.path_params.get("cid") else "add")
    return RedirectResponse("/staff/canned", status_code=303)


@access.staff_endpoint(access.CANNED_MANAGE)
async def canned_delete(request: Request, session: StaffSession) -> Response:
    services: Services = request.app.state.services
    cid = request.path_params["cid"]
    if not await responses(request).delete(cid):
        return JSONResponse({"error": "not_found"}, status_code=404)
    await services.audit.record(session.username, session.role, "canned_change", target=cid, other="delete")
    return RedirectResponse("/staff/canned", status_code=303)


@access.staff_endpoint(access.CHAT)
async def canned_for_console(request: Request, session: StaffSession) -> Response:
    """Every canned response, for the console's picker."""
    items = await responses(request).all()
    return JSONResponse({"items": [{"id": c.id, "lang": c.lang, "title": c.title, "text": c.text}
                                   for c in items]})


routes = [
    Route("/staff/canned", canned_list, methods=["GET"]),
    Route("/staff/canned", canned_save, methods=["POST"]),
    Route("/staff/canned.json", canned_for_console, methods=["GET"]),
    Route("/staff/canned/{cid:str}", canned_save, methods=["POST"]),
    Route("/staff/canned/{cid:str}/delete", canned_delete, methods=["POST"]),
]
