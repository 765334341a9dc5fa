"""Supervisors read the free text of the anonymous feedback survey: newest first, by month and kind.

The notes are visitors' own words (scrubbed of personal data when sent): the template shows them
autoescaped, never as markup. Each reading is in the audit log (feedback_view).
"""

from __future__ import annotations

from datetime import date

from babel.dates import format_date
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.i18n import N_, babel_locale
from app.keys import FEEDBACK_NOTES_KEEP
from app.services import Services
from app.staff import access
from app.staff.layout import staff_page
from app.staff.sessions import StaffSession
from app.visitor.feedback import FeedbackNotes
from app.visitor.pages import language

PATH = "/staff/feedback"
KIND_LABELS = {"chat": N_("After a chat"), "callback": N_("After a call")}


def month_label(month: str, lang: str) -> str:
    """"2026-11" as "november 2026" in the reader's language (the stored text when it is not a month)."""
    try:
        first = date.fromisoformat(f"{month}-01")
    except ValueError:
        return month
    return format_date(first, "LLLL yyyy", locale=babel_locale(lang))


@access.staff_endpoint(access.FEEDBACK_READ)
async def feedback_page(request: Request, session: StaffSession) -> Response:
    services: Services = request.app.state.services
    lang = language(request)
    notes = await FeedbackNotes(services.durable, services.keys).all()
    await services.audit.record(session.username, session.role, "feedback_view", other=str(len(notes)))
    rows = [(month_label(note.month, lang), services.text(lang, KIND_LABELS.get(note.kind, note.kind)),
             note.text) for note in notes]
    return staff_page(request, session, "staff/feedback.html", rows=rows, keep=FEEDBACK_NOTES_KEEP)


routes = [Route(PATH, feedback_page, methods=["GET"])]
