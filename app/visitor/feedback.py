"""The anonymous feedback survey after a chat or a callback: three short questions, counted, never linked.

A plain HTML form that works without JavaScript. The two multiple-choice answers only add to
counters; the optional free text is scrubbed of personal data and kept in a short list (the
newest FEEDBACK_NOTES_KEEP) with its month and kind, nothing more: no conversation id, no
booking, no time finer than the month, no address. Nothing is stored when anything is wrong.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import cast

import redis.asyncio as aioredis
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app import log
from app.errors import TooManyAttempts
from app.i18n import N_
from app.keys import FEEDBACK_NOTES_KEEP, Keys
from app.services import Services
from app.text import clean
from app.visitor.callback import minutes, posted
from app.visitor.pages import language, visitor_page
from moderation.scrub import scrub

PATH = "/feedback"
KINDS = ("chat", "callback")
HELPED = ("yes", "partly", "no")
AGAIN = ("yes", "no", "unsure")
TEXT_MAX = 500
FORM_MAX_BYTES = 8192
"""Room for 500 characters of any script, percent-encoded (up to 12 bytes each), and the rest."""

NOTICES = {
    "empty": N_("Nothing was sent. Answer at least one question, or write a few words, and send again."),
    "fix": N_("Nothing was sent yet. Please correct what is marked below and send again."),
    "too_many": N_("Thank you, but we have already had several answers from here. Please wait {minutes} min "
                   "if you want to send another."),
    "not_allowed": N_("The answers could not be sent from here. Please reload the page and try again."),
    "too_large": N_("That was too long to send. Please shorten your answer and try again."),
}
ERRORS = {
    "choice": N_("Choose one of the answers, or none."),
    "text": N_("Please shorten this to {max} characters."),
}


@dataclass(frozen=True)
class Answers:
    """One survey as sent: each answer may be empty, but not all of them."""

    kind: str
    helped: str
    again: str
    text: str


def read(sent: dict[str, str]) -> tuple[Answers | None, dict[str, str], str]:
    """(the answers, {}, "") when they can be taken, else (None, {field: error code}, notice)."""
    kind, helped, again = sent.get("kind", ""), sent.get("helped", ""), sent.get("again", "")
    text = clean(sent.get("better", ""))
    if kind not in KINDS:
        return None, {}, "not_allowed"  # only a hand-made form sends another kind
    errors = {name: "choice" for name, value, allowed in (("helped", helped, HELPED), ("again", again, AGAIN))
              if value and value not in allowed}
    if len(text) > TEXT_MAX:
        errors["better"] = "text"
    if errors:
        return None, errors, "fix"
    if not (helped or again or text):
        return None, {}, "empty"
    return Answers(kind, helped, again, text), {}, ""


@dataclass(frozen=True)
class FeedbackNote:
    """One free-text answer as supervisors read it."""

    month: str
    kind: str
    text: str


class FeedbackNotes:
    """The short list of scrubbed free-text answers in the durable Redis, newest first."""

    def __init__(self, durable: aioredis.Redis, keys: Keys) -> None:
        self.redis = durable
        self.key = keys.feedback_notes

    async def add(self, month: str, kind: str, text: str) -> None:
        note = json.dumps({"month": month, "kind": kind, "text": scrub(text)}, ensure_ascii=False)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.lpush(self.key, note)
            pipe.ltrim(self.key, 0, FEEDBACK_NOTES_KEEP - 1)
            await pipe.execute()

    async def all(self) -> list[FeedbackNote]:
        rows = cast(list[str], await self.redis.lrange(self.key, 0, FEEDBACK_NOTES_KEEP - 1))
        return [FeedbackNote(str(note["month"]), str(note["kind"]), str(note["text"]))
                for note in map(json.loads, rows)]


def survey(request: Request, kind: str, values: dict[str, str] | None = None,
           errors: dict[str, str] | None = None, notice: str = "", status_code: int = 200,
           **params: str | int) -> Response:
    services: Services = request.app.state.services
    lang = language(request)
    return visitor_page(
        request, "visitor/feedback.html", status_code=status_code, thanked=False, kind=kind,
        values=values or {}, text_max=TEXT_MAX,
        errors={name: services.text(lang, ERRORS[code]).format(max=TEXT_MAX) for name, code in
                (errors or {}).items()},
        notice=services.text(lang, NOTICES[notice]).format(**params) if notice else "",
    )


async def show(request: Request) -> Response:
    kind = request.query_params.get("kind", "")
    return survey(request, kind if kind in KINDS else KINDS[0])


async def send(request: Request) -> Response:
    """Take one survey: checked whole, then limited per client, then counted and (the text) kept."""
    services: Services = request.app.state.services
    sent, refused, status = await posted(request, FORM_MAX_BYTES)
    kind = sent.get("kind", "") if sent.get("kind", "") in KINDS else KINDS[0]
    if refused:
        log.event("feedback.refused", reason=refused)
        return survey(request, kind, notice=refused, status_code=status)
    answers, errors, notice = read(sent)
    if answers is None:
        log.event("feedback.refused", reason="invalid")
        values = {name: sent.get(name, "") for name in ("helped", "again")} | {
            "better": clean(sent.get("better", ""))}
        return survey(request, kind, values, errors, notice, status_code=400)
    try:
        await services.throttle.feedback(request)
    except TooManyAttempts as error:
        log.event("feedback.refused", reason="too_many_attempts")
        return survey(request, kind, notice="too_many", status_code=429, minutes=minutes(error))
    counters = services.counters
    await counters.add("feedback.given", kind=answers.kind)
    if answers.helped:
        await counters.add("feedback.helped", answer=answers.helped)
    if answers.again:
        await counters.add("feedback.again", answer=answers.again)
    if answers.text:
        await FeedbackNotes(services.durable, services.keys).add(f"{services.now():%Y-%m}", answers.kind,
                                                                 answers.text)
    return visitor_page(request, "visitor/feedback.html", status_code=201, thanked=True)


routes = [
    Route(PATH, show, methods=["GET"]),
    Route(PATH, send, methods=["POST"]),
]
