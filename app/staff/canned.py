"""Canned responses: short texts per language that counselors insert and edit before sending.

Kept in the durable Redis, one hash of id -> JSON {lang, title, text}. Supervisors manage
them; every counselor reads them.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass
from typing import cast

import redis.asyncio as aioredis

from app.i18n import LANGUAGES, N_
from app.keys import Keys

TITLE_MAX_CHARS = 80
TEXT_MAX_CHARS = 2000


@dataclass(frozen=True)
class Canned:
    id: str
    lang: str
    title: str
    text: str


def problem(lang: str, title: str, text: str) -> str:
    """Why these fields cannot be saved (an English msgid), or ""."""
    if lang not in LANGUAGES:
        return N_("Choose a language.")
    if not title or not text:
        return N_("Both a title and a text are needed.")
    if len(title) > TITLE_MAX_CHARS or len(text) > TEXT_MAX_CHARS:
        return N_("The title or the text is too long.")
    return ""


class CannedResponses:
    """Read and change the canned responses."""

    def __init__(self, durable: aioredis.Redis, keys: Keys) -> None:
        self.redis = durable
        self.key = keys.canned

    async def all(self) -> list[Canned]:
        """Every canned response, by language then title."""
        rows = cast(dict[str, str], await self.redis.hgetall(self.key))
        found = [Canned(id=cid, **json.loads(raw)) for cid, raw in rows.items()]
        return sorted(found, key=lambda c: (c.lang, c.title.casefold(), c.id))

    async def save(self, lang: str, title: str, text: str, cid: str = "") -> str:
        """Add (no `cid`) or replace one; return its id. Fields are checked with `problem` first."""
        cid = cid or secrets.token_urlsafe(8)
        fields = asdict(Canned(cid, lang, title, text))
        del fields["id"]
        await self.redis.hset(self.key, cid, json.dumps(fields, ensure_ascii=False))
        return cid

    async def exists(self, cid: str) -> bool:
        return bool(await self.redis.hexists(self.key, cid))

    async def delete(self, cid: str) -> bool:
        return bool(await self.redis.hdel(self.key, cid))
