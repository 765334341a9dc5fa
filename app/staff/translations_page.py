"""Supervisors' translation status: per language, how much is translated and whether a native speaker
has reviewed it (the catalogue's X-Native-Review header), so Nexus knows what to have checked."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app import i18n
from app.staff import access
from app.staff.layout import staff_page
from app.staff.sessions import StaffSession

PATH = "/staff/translations"


@access.staff_endpoint(access.TRANSLATIONS_READ)
async def translations(request: Request, session: StaffSession) -> Response:
    source = i18n.source_messages()
    rows = [(i18n.LANGUAGES[code], i18n.status(code, source))
            for code in i18n.LANGUAGES if code != i18n.SOURCE_LANGUAGE]
    return staff_page(request, session, "staff/translations.html", rows=rows, total=len(source),
                      header=i18n.REVIEW_HEADER)


routes = [Route(PATH, translations, methods=["GET"])]
