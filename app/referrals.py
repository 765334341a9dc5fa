"""Referral links for schools and meeting points: short codes (durable Redis) and counting their visits.

A referral is a short code (printed on a poster, in a QR code) with a name for staff and an
audience that chooses the landing page. Visits are counted only in aggregate: the counter
`referral.visit` with the code and the audience (app/stats/counters.py), nothing per visitor,
nothing that could later be matched with a conversation. Removing a referral keeps its past
counters, like every other statistic.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime
from typing import cast
from zoneinfo import ZoneInfo

import redis.asyncio as aioredis

from app.i18n import N_
from app.keys import Keys
from app.stats.counters import Counters

AUDIENCES = ("young", "older", "general")
"""young: schools, student health, youth; older: meeting points for the elderly; general: anyone."""
CODE = re.compile(r"^[a-z0-9]{4,12}$")
CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
"""Generated codes leave out 0/o, 1/l/i: someone typing the address off a poster cannot mix them up."""
CODE_LENGTH = 6
NAME_MAX_CHARS = 100
NEW_CODE_TRIES = 5


@dataclass(frozen=True)
class Referral:
    code: str
    name: str
    audience: str
    created: str
    """The day it was made (YYYY-MM-DD)."""


def normal_code(text: str) -> str:
    """A code as typed (perhaps in capitals off a poster), as stored."""
    return text.strip().lower()


def problem(name: str, audience: str, code: str) -> str:
    """Why a referral with these fields cannot be made (an English msgid), or "". An empty code is made up."""
    if not name or len(name) > NAME_MAX_CHARS:
        return N_("Write a name of at most 100 characters.")
    if audience not in AUDIENCES:
        return N_("Choose who the link is for.")
    if code and not CODE.match(code):
        return N_("A code is 4 to 12 lowercase letters (a–z) and digits, or empty to make one up.")
    return ""


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


class Referrals:
    """Make, list and remove referrals; count their visits."""

    def __init__(self, durable: aioredis.Redis, keys: Keys, timezone: str, counters: Counters) -> None:
        self.redis = durable
        self.keys = keys
        self.zone = ZoneInfo(timezone)
        self.counters = counters

    def today(self) -> date:
        return datetime.now(self.zone).date()

    async def add(self, name: str, audience: str, code: str = "") -> str:
        """Make one (fields checked with `problem` first); its code, or "" if the given one is taken."""
        fields = json.dumps({"name": name, "audience": audience, "created": self.today().isoformat()},
                            ensure_ascii=False)
        for candidate in [code] if code else [new_code() for _ in range(NEW_CODE_TRIES)]:
            if await self.redis.hsetnx(self.keys.referrals, candidate, fields):
                return candidate
        return ""

    async def all(self) -> list[Referral]:
        """Every referral, by name."""
        rows = cast(dict[str, str], await self.redis.hgetall(self.keys.referrals))
        found = [Referral(code=code, **json.loads(raw)) for code, raw in rows.items()]
        return sorted(found, key=lambda r: (r.name.casefold(), r.code))

    async def get(self, code: str) -> Referral | None:
        raw = await self.redis.hget(self.keys.referrals, code)
        return Referral(code=code, **json.loads(raw)) if raw else None

    async def remove(self, code: str) -> bool:
        return bool(await self.redis.hdel(self.keys.referrals, code))

    async def visit(self, code: str) -> str | None:
        """Count one visit through `code`; return its audience, or None (nothing counted) if unknown."""
        referral = await self.get(code) if CODE.match(code) else None
        if referral is None:
            return None
        await self.counters.add("referral.visit", ref=code, audience=referral.audience)
        return referral.audience
