"""The opening hours supervisors edit, kept in the durable Redis and read by every process.

Every read is one GET (the landing page and starting a chat ask), so a change saved on one
process is what every other process answers with on its very next request: no cache to
go stale and no message to miss. The parsed value is kept while the stored text is the
same, so parsing happens once per change. Until a supervisor saves, the OPENING_HOURS
setting is the answer.

A save names the version it was edited from; when someone else saved in between, it is
refused rather than silently overwriting their change.
"""

from __future__ import annotations

import hashlib
import json
from typing import cast

import redis.asyncio as aioredis

from app import hours
from app.keys import Keys

_SAVE_IF_UNCHANGED = """
local current = redis.call('GET', KEYS[1]) or ''
if redis.sha1hex(current) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
return 1
"""


def version_of(raw: str) -> str:
    """The version a supervisor edits from: a digest of the stored text ("" when none is stored)."""
    return hashlib.sha1(raw.encode(), usedforsecurity=False).hexdigest()


def dumps(opening_hours: hours.OpeningHours) -> str:
    return json.dumps({
        "week": hours.week_texts(opening_hours),
        "exceptions": [hours.exception_text(e) for e in opening_hours.exceptions],
    }, ensure_ascii=False)


def loads(raw: str) -> hours.OpeningHours:
    data = json.loads(raw)
    return hours.build(list(data["week"]), list(data["exceptions"]))


class HoursStore:
    """Read and save the opening hours."""

    def __init__(self, durable: aioredis.Redis, keys: Keys, initial: hours.OpeningHours) -> None:
        self.redis = durable
        self.key = keys.opening_hours
        self.initial = initial
        self._raw = ""
        self._parsed = initial
        self._save = durable.register_script(_SAVE_IF_UNCHANGED)

    async def current(self) -> tuple[hours.OpeningHours, str]:
        """The hours in force and their version."""
        raw = cast(str | None, await self.redis.get(self.key)) or ""
        if not raw:
            return self.initial, version_of("")
        if raw != self._raw:
            self._parsed, self._raw = loads(raw), raw
        return self._parsed, version_of(raw)

    async def save(self, opening_hours: hours.OpeningHours, version: str) -> bool:
        """Store new hours unless they changed since `version`; whether they were stored."""
        return bool(await self._save(keys=[self.key], args=[version, dumps(opening_hours)]))
