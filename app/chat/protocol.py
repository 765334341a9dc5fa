"""The chat's WebSocket frames: parsing and checking what clients send (pure, no I/O).

Every frame is one JSON object with a `type`. Visitor frames concern the visitor's own
conversation; staff frames name it in `conv`.

Client -> server
    hello   {token?, last_id?, chats?}  first frame. Visitor: `token` (its session) and
                                        `last_id` (last entry it has). Staff: `chats`,
                                        {conv: last_id} for the chats it already shows.
    msg     {text, client_id, conv?}    a message; `client_id` makes re-sending after a
                                        reconnect safe (stored once).
    typing  {conv?}                     "I am typing" (never the draft itself)
    seen    {id, conv?}                 everything up to `id` has reached me
    end     {conv?}                     end the conversation
    take    {conv}                      staff only: take a waiting conversation
    ping    {}                          keep-alive

Server -> client
    state    {state, position?, wait_minutes?, counselors_online?, counselor?, conv?}
    entry    {id, kind: msg|join|end, from, text?, client_id?, name?, ts, conv?}
    sent     {client_id, id, conv?}     a message is stored (shown as sent)
    delivered{id, conv?}                the other side has everything up to `id`
    typing   {conv?}                    the other side is typing
    queue    {items: [{conv, waiting_seconds, lang}]}           staff only
    chats    {items: [{conv, lang, state}]}                     staff only
    taken    {conv} / take_failed {conv}                        staff only
    error    {code, message}            something the client sent was refused
    pong     {}
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
TYPES = frozenset({"hello", "msg", "typing", "seen", "end", "take", "ping"})
MAX_OPEN_CHATS = 50


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
    if kind not in TYPES or (kind == "take" and not staff):
        raise Malformed("unknown type")
    conv = _matching(data, "conv", CONV_ID)
    if staff and kind in ("msg", "typing", "seen", "end", "take") and not conv:
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
    if kind == "hello":
        return Frame(
            type=kind,
            token=_string(data, "token", 100),
            last_id=_matching(data, "last_id", STREAM_ID, "0-0"),
            chats=_chats(data.get("chats", {})) if staff else {},
        )
    return Frame(type=kind, conv=conv)


def _chats(value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or len(value) > MAX_OPEN_CHATS:
        raise Malformed("chats must be an object")
    chats: dict[str, str] = {}
    for conv, last_id in value.items():
        if not isinstance(last_id, str) or not CONV_ID.match(conv) or not STREAM_ID.match(last_id):
            raise Malformed("chats is not valid")
        chats[conv] = last_id
    return chats
