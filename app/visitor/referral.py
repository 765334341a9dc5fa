"""The public referral link `/r/{code}` and the landings it leads to, for young and for older people.

`/r/{code}` counts one visit for the code (a counter per day, nothing about the visitor) and
answers 303 to the audience's landing, whose address carries no code: a redirect makes no
history entry, so the code is gone from the address bar and the history once the page shows.
It sets no cookie and logs nothing, so nothing can tie a later chat to the poster it came from.
An unknown code goes to `/` like a general one, counting nothing, so the answer never says
whether a code exists.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from app.referrals import normal_code
from app.services import Services
from app.visitor.pages import visitor_page

LANDINGS = {"young": "/for/young", "older": "/for/older", "general": "/"}


async def follow(request: Request) -> Response:
    services: Services = request.app.state.services
    audience = await services.referrals.visit(normal_code(request.path_params["code"]))
    return RedirectResponse(LANDINGS[audience or "general"], status_code=303)


async def for_young(request: Request) -> Response:
    """For pupils from about 13: anonymity and when adults must act, in plain words."""
    return visitor_page(request, "visitor/for_young.html")


async def for_older(request: Request) -> Response:
    """For older people: larger text, being called back first, then the chat."""
    return visitor_page(request, "visitor/for_older.html")


routes = [
    Route("/r/{code}", follow, methods=["GET"]),
    Route("/for/young", for_young),
    Route("/for/older", for_older),
]
