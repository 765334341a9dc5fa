"""The quick exit: a beacon that ends the chat at once, and a path that works without JavaScript."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from app import log
from app.chat.link import end_conversation
from app.security import origin_allowed
from app.services import Services

BEACON_MAX_BYTES = 256
# Everything this origin keeps in the browser: cookies, local and session storage, cache.
CLEAR_SITE_DATA = '"cache", "cookies", "storage"'


async def leave(request: Request) -> Response:
    """Sent with navigator.sendBeacon as the page disappears: end the chat as "left"."""
    services: Services = request.app.state.services
    if not origin_allowed(request.scope, services.settings.allowed_origins):
        return Response(status_code=403)
    length = request.headers.get("content-length", "")
    if not length.isdigit() or int(length) > BEACON_MAX_BYTES:
        return Response(status_code=413)
    token = (await request.body()).decode("utf-8", "replace").strip()
    cid = await services.store.resolve(token)
    if cid is not None:
        await end_conversation(services.store, services.relay, services.counters, cid, "visitor",
                               reason="left")
        await services.store.forget_visitor(token)
        log.event("chat.left")
    # The same answer whether or not the token was valid: nothing to learn by probing.
    return Response(status_code=204, headers={"Clear-Site-Data": CLEAR_SITE_DATA})


async def exit_page(request: Request) -> Response:
    """The no-JavaScript exit: forget everything this site left, then go somewhere harmless."""
    services: Services = request.app.state.services
    return RedirectResponse(services.settings.neutral_site_url, status_code=303,
                            headers={"Clear-Site-Data": CLEAR_SITE_DATA})


routes = [
    Route("/api/leave", leave, methods=["POST"]),
    Route("/exit", exit_page),
]
