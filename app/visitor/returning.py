"""Coming back later without an account: return codes and letters over HTTP.

The visitor's page talks to these endpoints with `fetch` and JSON bodies; every one checks
the Origin like `/api/chat`, refuses bodies over its limit or of unknown length (413) and
answers errors as `{"error": code, "message": text in the visitor's language}`.

POST /api/return  {"code": "1234 5678 9012 3456"}   (spaces and dashes are ignored)
    200 {"token", "state": waiting|active|letter, "expires_in_days"}
        A new visitor token for the conversation the code belongs to; any earlier token of
        it stops working at once (its open sockets are closed with 4409). The page then
        opens /ws/chat with hello {token, last_id: "0-0"} and receives the whole history.
        An ended conversation goes back into the queue (`waiting`, shown to counselors as a
        returning visitor, first to the counselor it had when they are on duty) if the chat
        is open, a counselor is on duty and the queue has room; otherwise it becomes a
        `letter`: what the visitor writes waits in the counselors' list of letters. A
        running one stays as it is, and its counselor is told the visitor came back.
    400 code_format     not 16 digits (not counted as an attempt)
    400 malformed       not JSON, not an object, or `code` is not a string
    403 not_allowed     foreign Origin
    404 code_unknown    wrong or expired: the same status and body, byte for byte
    413 too_large
    429 too_many_attempts  with Retry-After (seconds) and "retry_after": ten attempts per
                        client per ten minutes, and RETURN_GUESSES_PER_MINUTE_GLOBAL in all

GET /api/letter
    200 {"accepting", "reply_within_days", "max_chars", "expires_in_days"}
        `accepting`: a message may be left now (closed, nobody on duty, or a long queue).

POST /api/letter  {"text": "..."}
    201 {"token", "code", "reply_within_days", "expires_in_days"}
        A letter: a conversation in state `letter` holding the message, listed for the
        counselors; `code` (shown once, never again) reads the answer later through
        /api/return. `token` opens it at once on /ws/chat, like a chat's.
    400 empty / too_long (over MESSAGE_MAX_CHARS) / malformed
    403 not_allowed     409 chat_open (a counselor can answer a chat now)
    413 too_large       429 too_many_attempts (three letters per client per hour)
    503 letters_full    LETTERS_MAX letters are kept already

A letter stays a letter: when its visitor writes again, the follow-up goes back to the
counselors' list as unanswered, even if the chat has opened meanwhile. They chose to
write rather than wait with the page open, which may not be safe for them; and the
counselor who answered can keep the thread.
"""

from __future__ import annotations

import math

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app import log
from app.chat import return_codes
from app.chat.link import announce_change
from app.errors import (
    ChatOpen,
    CodeFormat,
    CodeUnknown,
    Empty,
    Malformed,
    NotAllowed,
    ServiceError,
    TooLong,
    TooManyAttempts,
)
from app.forms import small_json
from app.i18n import N_
from app.security import origin_allowed
from app.services import Services
from app.visitor.pages import language

RETURN_BODY_MAX_BYTES = 1024
CODE_MAX_CHARS = 64
JSON_BYTES_PER_CHAR = 12
"""The most one character can take in a JSON body: an escaped surrogate pair."""

MESSAGES = {
    "code_unknown": N_(
        "That code does not open a conversation. Check the digits and try again. A code stops "
        "working some days after the conversation's last message, when the conversation is deleted."
    ),
    "code_format": N_("A return code has 16 digits. Please check it and try again."),
    "too_many_attempts": N_(
        "Too many tries. For everyone's safety, please wait {minutes} min and try again."
    ),
    "empty": N_("Please write your message first."),
    "too_long": N_("Your message is too long. Please shorten it to {max} characters."),
    "too_large": N_("That was too long to send. Please shorten it and try again."),
    "chat_open": N_("The chat is open and a counselor can answer you now. Please start a chat instead."),
    "letters_full": N_(
        "Too many messages are waiting for an answer right now. Please try again later, or call "
        "Kvinnofridslinjen on 020-50 50 50 (free, open day and night)."
    ),
    "malformed": N_("That could not be read. Please reload the page and try again."),
    "not_allowed": N_("That could not be sent from here. Please reload the page and try again."),
}


def refusal(services: Services, lang: str, error: ServiceError) -> Response:
    settings = services.settings
    message = services.text(lang, MESSAGES[error.code]).format(
        max=settings.message_max_chars, minutes=math.ceil(getattr(error, "retry_after", 60) / 60),
    )
    body: dict[str, object] = {"error": error.code, "message": message}
    headers = {}
    if isinstance(error, TooManyAttempts):
        body["retry_after"] = error.retry_after
        headers["Retry-After"] = str(error.retry_after)
    log.event("visitor.refused", reason=error.code)
    return JSONResponse(body, status_code=error.status, headers=headers)


async def restore(request: Request) -> Response:
    """Reopen a conversation with its return code."""
    services: Services = request.app.state.services
    lang = language(request)
    try:
        if not origin_allowed(request.scope, services.settings.allowed_origins):
            raise NotAllowed()
        typed = (await small_json(request, RETURN_BODY_MAX_BYTES)).get("code")
        if not isinstance(typed, str) or len(typed) > CODE_MAX_CHARS:
            raise Malformed("code must be a string")
        code = return_codes.normalize(typed)
        if code is None:
            raise CodeFormat()
        await services.throttle.code_attempt(request)  # before the costly hash
        restored = await services.store.restore(code, await services.can_chat_now(),
                                                services.settings.queue_max)
        if restored is None:
            raise CodeUnknown()
    except ServiceError as error:
        return refusal(services, lang, error)
    # Whoever still holds the old token is shut out; the counselor sees "returned".
    await services.relay.publish(services.keys.conversation_channel(restored.cid), {"kind": "replaced"})
    await announce_change(services.store, services.relay, restored.cid)
    log.event("chat.returned", state=restored.state)
    await services.counters.add("chat.returned")
    return JSONResponse({"token": restored.token, "state": restored.state,
                         "expires_in_days": services.code_days()})


async def letter_box(request: Request) -> Response:
    """Whether a message may be left now, and what the visitor is promised."""
    services: Services = request.app.state.services
    settings = services.settings
    return JSONResponse({"accepting": await services.accepts_letters(),
                         "reply_within_days": settings.letter_reply_days,
                         "max_chars": settings.message_max_chars,
                         "expires_in_days": services.code_days()})


async def leave_letter(request: Request) -> Response:
    """Leave a message when nobody can answer now; get a code to read the answer later."""
    services: Services = request.app.state.services
    settings = services.settings
    lang = language(request)
    try:
        if not origin_allowed(request.scope, settings.allowed_origins):
            raise NotAllowed()
        if not await services.accepts_letters():
            raise ChatOpen()
        text = (await small_json(request, settings.message_max_chars * JSON_BYTES_PER_CHAR + 256)).get("text")
        if not isinstance(text, str):
            raise Malformed("text must be a string")
        text = text.replace("\r\n", "\n").strip()
        if not text:
            raise Empty()
        if len(text) > settings.message_max_chars:
            raise TooLong()
        await services.throttle.letter(request)
        token, code = await services.store.create_letter(lang, text, settings.letters_max)
    except ServiceError as error:
        return refusal(services, lang, error)
    await services.relay.publish(services.keys.queue_channel, {"kind": "letters"})
    log.event("letter.left", lang=lang)
    await services.counters.add("letter.left")
    return JSONResponse({"token": token, "code": return_codes.display(code),
                         "reply_within_days": settings.letter_reply_days,
                         "expires_in_days": services.code_days()}, status_code=201)


routes = [
    Route("/api/return", restore, methods=["POST"]),
    Route("/api/letter", letter_box, methods=["GET"]),
    Route("/api/letter", leave_letter, methods=["POST"]),
]
