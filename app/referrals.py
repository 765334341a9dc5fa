"""Referral links for schools and meeting points: short codes (durable Redis) and their visits per day.

A referral is a short code (printed on a poster, in a QR code) with a name for staff and an
audience that chooses the landing page. Visits are counted only in aggregate: one counter per
code per day (`{p}stats:referrals:{day}`, the day in TIMEZONE), nothing per visitor, no time of
day, nothing that could later be matched with a conversation. Removing a referral keeps its
past counters, like every other statistic.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import cast
from zoneinfo import ZoneInfo

import redis.asyncio as aioredis

from app.i18n import N_
from app.keys import Keys

AUDIENCES = ("young", "older", "general")
"""young: schools, student health, youth; older: meeting points for the elderly; general: anyone."""
CODE = re.compile(r"^[a-z0-9]{4,12}$")
CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
"""Generated codes leave out 0/o, 1/l/i: someone typing the address off a poster cannot mix them up."""
CODE_LENGTH = 6
NAME_MAX_CHARS = 100
NEW_CODE_TRIES = 5

_VISIT = """
-- KEYS: referrals, today's counters. ARGV: code. Counts a visit only for a known code;
-- returns the referral's JSON, or false for an unknown one.
local found = redis.call('HGET', KEYS[1], ARGV[1])
if not found then return false end
redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
return found
"""


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

    def __init__(self, durable: aioredis.Redis, keys: Keys, timezone: str) -> None:
        self.redis = durable
        self.keys = keys
        self.zone = ZoneInfo(timezone)
        self._visit = durable.register_script(_VISIT)

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
        """Count one visit through `code` today; return its audience, or None (nothing counted) if unknown."""
        if not CODE.match(code):
            return None
        today = self.keys.referral_counts(self.today().isoformat())
        found = await self._visit(keys=[self.keys.referrals, today], args=[code])
        return str(json.loads(found)["audience"]) if found else None

    async def visits(self, days: int) -> dict[str, int]:
        """Visits per code over the last `days` days, today included."""
        today = self.today()
        async with self.redis.pipeline(transaction=False) as pipe:
            for back in range(days):
                pipe.hgetall(self.keys.referral_counts((today - timedelta(days=back)).isoformat()))
            per_day = cast(list[dict[str, str]], await pipe.execute())
        totals: dict[str, int] = {}
        for counts in per_day:
            for code, count in counts.items():
                totals[code] = totals.get(code, 0) + int(count)
        return totals
