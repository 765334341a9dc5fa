"""Supervisors' page for referral links: make one per school or meeting point, see visits, print a poster.

The poster's QR code is drawn here (segno, inline SVG) from the public address of the link,
taken from the request (scheme and host: behind a proxy, the public ones), so nothing is sent
to another service. Every change is in the audit log; the visit counts are totals only.
"""

from __future__ import annotations

import io
from datetime import timedelta
from urllib.parse import urlencode

import segno
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from app.forms import small_form
from app.i18n import N_
from app.referrals import AUDIENCES, normal_code, problem
from app.services import Services
from app.staff import access
from app.staff.layout import staff_page
from app.staff.sessions import StaffSession
from app.visitor.pages import language

PATH = "/staff/referrals"
VISIT_DAYS = 30
POSTER_LANGUAGE = "sv"
"""Posters hang in Swedish schools and meeting points, whatever language the supervisor reads."""
AUDIENCE_LABELS = {
    "young": N_("Young people (schools, student health, youth centres)"),
    "older": N_("Older people (meeting points for the elderly)"),
    "general": N_("Everyone"),
}
NOTICES = {
    "added": N_("The referral link is made."),
    "removed": N_("The referral link is removed. Its posters now lead to the ordinary start page."),
    "gone": N_("That referral link no longer exists."),
}


def public_link(request: Request, code: str) -> str:
    base = request.base_url
    return f"{base.scheme}://{base.netloc}/r/{code}"


def qr_svg(link: str) -> Markup:
    """The link as an inline SVG QR code, sized by CSS (a viewBox, no fixed size)."""
    out = io.BytesIO()
    # Quartile error correction: a printed poster may get scuffed or folded.
    segno.make(link, error="q").save(out, kind="svg", border=4, xmldecl=False, svgns=True, omitsize=True,
                                     title="QR", nl=False)
    return Markup(out.getvalue().decode())  # segno's own SVG; the link is made of a checked code


async def _page(request: Request, session: StaffSession, values: dict[str, str] | None = None,
                error: str = "", status_code: int = 200) -> Response:
    services: Services = request.app.state.services
    lang = language(request)
    notice = request.query_params.get("notice", "")
    today = services.now().date()
    visits = await services.counters.totals(today - timedelta(days=VISIT_DAYS - 1), today)
    rows = [(r, services.text(lang, AUDIENCE_LABELS[r.audience]), public_link(request, r.code),
             visits.get(f"referral.visit|ref={r.code}", 0)) for r in await services.referrals.all()]
    return staff_page(
        request, session, "staff/referrals.html", status_code=status_code, rows=rows,
        values=values or {"name": "", "audience": "young", "code": ""}, visit_days=VISIT_DAYS,
        audiences=[(a, services.text(lang, AUDIENCE_LABELS[a])) for a in AUDIENCES],
        notice=services.text(lang, NOTICES[notice]) if notice in NOTICES else "",
        error=services.text(lang, error) if error else "",
    )


@access.staff_endpoint(access.REFERRALS_MANAGE)
async def referrals_page(request: Request, session: StaffSession) -> Response:
    return await _page(request, session)


@access.staff_endpoint(access.REFERRALS_MANAGE)
async def add_referral(request: Request, session: StaffSession) -> Response:
    services: Services = request.app.state.services
    form = await small_form(request, access.STAFF_FORM_MAX_BYTES)
    values = {"name": " ".join(str(form.get("name", "")).split())[:200],
              "audience": str(form.get("audience", "")),
              "code": normal_code(str(form.get("code", "")))[:40]}
    error = problem(values["name"], values["audience"], values["code"])
    if error:
        return await _page(request, session, values, error, status_code=400)
    code = await services.referrals.add(values["name"], values["audience"], values["code"])
    if not code:
        return await _page(request, session, values, N_("That code is already in use. Choose another."),
                           status_code=409)
    await services.audit.record(session.username, session.role, "referral_change", target=code,
                                other=f"add:{values['audience']}")
    return RedirectResponse(f"{PATH}?{urlencode({'notice': 'added'})}", status_code=303)


@access.staff_endpoint(access.REFERRALS_MANAGE)
async def remove_referral(request: Request, session: StaffSession) -> Response:
    services: Services = request.app.state.services
    form = await small_form(request, access.STAFF_FORM_MAX_BYTES)
    code = normal_code(str(form.get("code", "")))
    if not await services.referrals.remove(code):
        return RedirectResponse(f"{PATH}?notice=gone", status_code=303)
    await services.audit.record(session.username, session.role, "referral_change", target=code,
                                other="remove")
    return RedirectResponse(f"{PATH}?notice=removed", status_code=303)


@access.staff_endpoint(access.REFERRALS_MANAGE)
async def poster(request: Request, session: StaffSession) -> Response:
    """A printable A4 poster: the audience's text in Swedish, the short address and its QR code."""
    services: Services = request.app.state.services
    referral = await services.referrals.get(normal_code(request.path_params["code"]))
    if referral is None:
        return RedirectResponse(f"{PATH}?notice=gone", status_code=303)
    link = public_link(request, referral.code)
    return services.templates.render(
        POSTER_LANGUAGE, "staff/referral_poster.html", referral=referral, link=link,
        short_link=link.split("://", 1)[1], qr=qr_svg(link), back=PATH,
    )


routes = [
    Route(PATH, referrals_page, methods=["GET"]),
    Route(PATH, add_referral, methods=["POST"]),
    Route(f"{PATH}/remove", remove_referral, methods=["POST"]),
    Route(PATH + "/{code}/poster", poster, methods=["GET"]),
]
