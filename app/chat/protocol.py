"""The chat's WebSocket frames: parsing and checking what clients send (pure, no I/O).

Every frame is one JSON object with a `type`. Visitor frames concern the visitor's own
conversation; staff frames name it in `conv`.

Client -> server
    hello   {token?, last_id?, chats?}  first frame. Visitor: `token` (its session) and
                                        `last_id` (last entry it has). Staff: `chats`,
                                        {conv: last_id} for the chats and open letters it
                                        already shows (letters it still holds are reopened).
    msg     {text, client_id, conv?}    a message; `client_id` makes re-sending after a
                                        reconnect safe (stored once). In a letter: the
                                        visitor's follow-up, or the counselor's reply.
    typing  {conv?}                     "I am typing" (never the draft itself)
    seen    {id, conv?}                 everything up to `id` has reached me
    end     {conv?}                     end the conversation
    code    {}                          visitor only: give me a return code (replaces any
                                        earlier one; counts against the message rate limit)
    take    {conv}                      staff only: take a waiting conversation
    open_letter  {conv}                 staff only: hold a letter (one counselor at a time)
                                        and read it
    close_letter {conv}                 staff only: let go of it
    note    {conv, text}                staff only: a private note on a chat this counselor
                                        holds (running or ended); never sent to the visitor
    transfer {conv, to, text?}          staff only: hand a running chat to the colleague `to`
                                        (a username, on duty), with a note for them only
    requeue {conv, text?}               staff only: put a running chat back at the front of
                                        the queue (the note is for whoever takes it)
    classify {conv, answers}            staff only: the end-of-chat classification of an
                                        ended chat, once: {question: [answer, ...]} (see
                                        app/staff/classification.py)
    status  {status}                    staff only: available | busy | away
    block   {conv}                      staff only: end a running chat this counselor holds
                                        because of abuse; the visitor sees only that the chat
                                        ended, and new chats from the same client are slowed
                                        for a day (app/visitor/throttle.py)
    propose_intake {conv, kind, kind_text?, note?, summary?, risk_notes?}
                                        staff only: propose an intake in a chat this counselor
                                        holds (kind: assessment | protected_housing | other,
                                        with kind_text); summary and risk notes are staff-only
    consent {proposal_id, address_as, personnummer?, contact: phone|office, phone?,
             safe_times?, messages: "all" | "none" | [entry id, ...], mask?, confirmed: true}
                                        visitor only: yes to this conversation's open proposal
                                        (once; see app/intake/consent.py)
    decline  {proposal_id}              visitor only: "no thanks" to the open proposal
    withdraw {proposal_id}              visitor only: take back a consent not yet sent
    ping    {}                          keep-alive

Server -> client
    state    {state, position?, wait_minutes?, counselors_online?, counselor?,
              reply_within_days?, conv?}
             state: waiting | active | letter | ended | gone. `letter`: a message left for
             the counselors (or a restored chat nobody can answer now); what the visitor
             writes is answered within `reply_within_days` working days, by `counselor`
             when someone has already answered.
    entry    {id, kind: msg|join|end|returned, from, text?, client_id?, name?, reason?, ts, conv?}
             `from`: visitor | counselor | system. `returned`: the visitor came back with
             the return code. `end` with reason "left" (quick exit) or "idle" (from
             "system": a coded conversation nobody was connected to; it is kept).
             A message's own entry (its `client_id`) is what tells the socket that sent it
             that it is stored: sent at once, or after the entries that socket had missed.
    sent     {client_id, id, conv?}     a re-sent message (its client id) was stored before
    delivered{id, conv?}                the other side has everything up to `id`
    typing   {conv?}                    the other side is typing
    code     {code, expires_in_days}    visitor only: the return code, shown once
                                        ("1234 5678 9012 3456"); it works until
                                        `expires_in_days` after the last message
    queue    {items: [{conv, waiting_seconds, lang, risk?, evidence?, returning?, for_you?,
              for_name?}]}              staff only, at-risk chats first. `risk`: labels
                                        screening gave it, if any, with the words that set
                                        them off (`evidence`); `returning`: came back with a code;
                                        `for_you` / `for_name`: for a short while it is
                                        offered first to the counselor it had (when on
                                        duty); anyone may still take it
    letters  {items: [{conv, waiting_seconds, lang, replied, counselor?, opened_by?}]}
                                        staff only: unanswered first, longest waiting first
    chats    {items: [{conv, lang, state}]}                     staff only
    taken    {conv} / take_failed {conv}                        staff only
    letter_opened {conv}                staff only: held; its entries follow
    letter_failed {conv, reason: held|gone, by?}                staff only
    letter_closed {conv}                staff only: no longer held (closed, or lost)
    note     {conv, id, kind: note|transfer|requeue, name, text, ts, to?}
                                        staff only: a private note (`transfer`: the note
                                        of a hand-over from `name` to `to`)
    transferred {conv, to}              staff only: handed to `to`, no longer shown here
    transferred_in {conv, lang, from}   staff only: a colleague (`from`, empty when not
                                        known) handed this chat to you; its entries and
                                        notes follow
    transfer_failed {conv, reason: not_yours|self|not_on_duty|unknown}   staff only
    requeued {conv}                     staff only: back in the queue, no longer shown here
    classified {conv} / classify_failed {conv, reason}                  staff only
    propose_failed {conv, reason: not_yours|consented|invalid}          staff only
    status   {status}                   staff only: own status (at the start and when set)
    lang     {conv, lang}               staff only: the visitor switched language
    colleagues {items: [{username, name}]}  staff only: the colleagues on duty, whom a
                                        chat can be handed to (when that changes)
    proposal {id, status, kind?, kind_text?, note?, expires_in?, text_id?, text?, conv?}
             an intake proposal and its status: open | consented | declined | withdrawn |
             expired. Visitor: while open, the card (`text`: its paragraphs, as hashed
             into the consent record), never the counselor's summary or risk notes.
             Staff: the outcome, with `resources` (text to share) when declined.
    intake   {id, status: consented | withdrawn | sent, message?}
             visitor only: the answer to consent / withdraw (`sent`: too late to withdraw;
             `message` says how to reach Nexus about it)
    urgent   {message}                  visitor only: screening found imminent danger in what
                                        the visitor wrote: show 112 prominently, at once
    notice   {code: identifiers, message}   visitor only: a gentle word after the first
                                        personnummer or phone number typed in the chat
    error    {code, message}            something the client sent was refused (`repeated`:
                                        the same message again and again)
    pong     {}

Close codes are listed in `app/errors.py`. The HTTP side of return codes and letters
(`/api/return`, `/api/letter`) is described in `app/visitor/returning.py`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from app.errors import Malformed, TooLong

STREAM_ID = re.compile(r"^\d{1,20}-\d{1,20}$")
CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
CONV_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
TYPES = frozenset({"hello", "msg", "typing", "seen", "end", "code", "take", "open_letter",
                   "close_letter", "ping", "note", "transfer", "requeue", "classify", "status",
                   "propose_intake", "consent", "decline", "withdraw", "block"})
STAFF_ONLY = frozenset({"take", "open_letter", "close_letter", "note", "transfer", "requeue", "classify",
                        "status", "propose_intake", "block"})
VISITOR_ONLY = frozenset({"code", "consent", "decline", "withdraw"})
NAMING_CONV = frozenset({"msg", "typing", "seen", "end"}) | STAFF_ONLY - {"status"}
"""Staff frames that must say which conversation they concern."""
MAX_OPEN_CHATS = 50
USERNAME = re.compile(r"^[a-z0-9._-]{2,40}$")
STATUSES = frozenset({"available", "busy", "away"})
ANSWER = re.compile(r"^[a-z0-9-]{1,20}$")
MAX_ANSWERS = 20
CONSENT_FIELDS = ("address_as", "personnummer", "contact", "phone", "safe_times", "messages", "mask",
                  "confirmed")


@dataclass(frozen=True)
class Frame:
    """A checked client frame."""

    type: str
    conv: str = ""
    text: str = ""
    client_id: str = ""
    id: str = ""
    token: str = ""
    last_id: str = "0-0"
    chats: dict[str, str] = field(default_factory=dict)
    to: str = ""
    status: str = ""
    answers: dict[str, list[str]] = field(default_factory=dict)
    proposal_id: str = ""
    fields: dict[str, Any] = field(default_factory=dict)
    """propose_intake's and consent's own fields, checked by app/intake/ (shapes and sizes here)."""


def _string(data: dict[str, Any], name: str, limit: int) -> str:
    value = data.get(name, "")
    if not isinstance(value, str):
        raise Malformed(f"{name} must be a string")
    if len(value) > limit:
        raise Malformed(f"{name} is too long")
    return value


def _matching(data: dict[str, Any], name: str, pattern: re.Pattern[str], default: str = "") -> str:
    value = _string(data, name, 100) or default
    if value and not pattern.match(value):
        raise Malformed(f"{name} is not valid")
    return value


def parse(raw: str | bytes, max_chars: int, staff: bool = False) -> Frame:
    """Parse one client frame, or raise `Malformed` / `TooLong`."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise Malformed("not JSON") from None
    if not isinstance(data, dict):
        raise Malformed("not an object")
    kind = data.get("type")
    if kind not in TYPES or kind in (VISITOR_ONLY if staff else STAFF_ONLY):
        raise Malformed("unknown type")
    conv = _matching(data, "conv", CONV_ID)
    if staff and kind in NAMING_CONV and not conv:
        raise Malformed("conv is required")
    if kind == "msg":
        text = _string(data, "text", max_chars * 2)
        text = text.replace("\r\n", "\n").strip()
        if not text:
            raise Malformed("empty message")
        if len(text) > max_chars:
            raise TooLong()
        client_id = _matching(data, "client_id", CLIENT_ID)
        if not client_id:
            raise Malformed("client_id is required")
        return Frame(type=kind, conv=conv, text=text, client_id=client_id)
    if kind == "seen":
        seen = _matching(data, "id", STREAM_ID)
        if not seen:
            raise Malformed("id is required")
        return Frame(type=kind, conv=conv, id=seen)
    if kind in ("note", "transfer", "requeue"):
        text = _string(data, "text", max_chars * 2).replace("\r\n", "\n").strip()
        if len(text) > max_chars:
            raise TooLong()
        if kind == "note" and not text:
            raise Malformed("empty note")
        to = _matching(data, "to", USERNAME) if kind == "transfer" else ""
        if kind == "transfer" and not to:
            raise Malformed("to is required")
        return Frame(type=kind, conv=conv, text=text, to=to)
    if kind == "status":
        status = _string(data, "status", 20)
        if status not in STATUSES:
            raise Malformed("status is not valid")
        return Frame(type=kind, status=status)
    if kind == "classify":
        return Frame(type=kind, conv=conv, answers=_answers(data.get("answers")))
    if kind == "propose_intake":
        return Frame(type=kind, conv=conv, fields={
            "kind": _string(data, "kind", 20), "kind_text": _string(data, "kind_text", 200).strip(),
            **{name: _string(data, name, max_chars).strip() for name in ("note", "summary", "risk_notes")}})
    if kind in ("consent", "decline", "withdraw"):
        proposal_id = _matching(data, "proposal_id", CONV_ID)
        if not proposal_id:
            raise Malformed("proposal_id is required")
        return Frame(type=kind, proposal_id=proposal_id,
                     fields={name: data.get(name) for name in CONSENT_FIELDS} if kind == "consent" else {})
    if kind == "hello":
        return Frame(
            type=kind,
            token=_string(data, "token", 100),
            last_id=_matching(data, "last_id", STREAM_ID, "0-0"),
            chats=_chats(data.get("chats", {})) if staff else {},
        )
    return Frame(type=kind, conv=conv)


def _answers(value: Any) -> dict[str, list[str]]:
    """{question: [answer, ...]}: short codes only; which ones exist is the classification's business."""
    if not isinstance(value, dict) or len(value) > MAX_ANSWERS:
        raise Malformed("answers must be an object")
    answers: dict[str, list[str]] = {}
    for question, chosen in value.items():
        if not ANSWER.match(question) or not isinstance(chosen, list) or len(chosen) > MAX_ANSWERS or \
                not all(isinstance(code, str) and ANSWER.match(code) for code in chosen):
            raise Malformed("answers is not valid")
        answers[question] = chosen
    return answers


def _chats(value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or len(value) > MAX_OPEN_CHATS:
        raise Malformed("chats must be an object")
    chats: dict[str, str] = {}
    for conv, last_id in value.items():
        if not isinstance(last_id, str) or not CONV_ID.match(conv) or not STREAM_ID.match(last_id):
            raise Malformed("chats is not valid")
        chats[conv] = last_id
    return chats
