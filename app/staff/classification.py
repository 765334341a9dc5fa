"""The short end-of-chat classification: its questions, and counting the answers per day.

Only counters are kept (a hash per day, `question:answer` -> count, and `total`), in the
durable Redis: no conversation id, no time of day, nothing that links an answer to a chat.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import redis.asyncio as aioredis

from app.errors import Malformed
from app.i18n import N_
from app.keys import Keys


@dataclass(frozen=True)
class Question:
    code: str
    label: str
    answers: tuple[tuple[str, str], ...]
    several: bool = False
    """Several answers may be chosen (the forms of violence); otherwise exactly one."""


QUESTIONS = (
    Question("who", N_("Who reached out"), (
        ("subjected", N_("Person subjected to violence")),
        ("using", N_("Person using violence")),
        ("relative", N_("Relative or friend")),
        ("professional", N_("Professional")),
        ("unknown", N_("Unknown")),
    )),
    Question("forms", N_("Forms of violence"), (
        ("physical", N_("Physical")),
        ("psychological", N_("Psychological")),
        ("sexual", N_("Sexual")),
        ("economic", N_("Economic")),
        ("honour", N_("Honour-related")),
        ("digital", N_("Digital")),
        ("other", N_("Other")),
    ), several=True),
    Question("age", N_("Age"), (
        ("under18", N_("Under 18")),
        ("18-25", "18–25"),
        ("26-64", "26–64"),
        ("65plus", N_("65 and over")),
        ("unknown", N_("Unknown")),
    )),
    Question("found", N_("How they found us"), (
        ("school", N_("School")),
        ("web", N_("Web search")),
        ("poster", N_("Poster or leaflet")),
        ("agency", N_("Another agency")),
        ("relative", N_("Friend or relative")),
        ("other", N_("Other")),
        ("unknown", N_("Unknown")),
    )),
)


def counter_fields(answers: dict[str, list[str]]) -> list[str]:
    """The counter names (`question:answer`) for one classification, or `Malformed`."""
    if set(answers) - {q.code for q in QUESTIONS}:
        raise Malformed("unknown question")
    fields: list[str] = []
    for question in QUESTIONS:
        chosen = answers.get(question.code, [])
        known = {code for code, _ in question.answers}
        if not chosen and question.several:
            continue  # no form of violence came up
        if len(chosen) != len(set(chosen)) or not set(chosen) <= known or \
                (len(chosen) != 1 and not question.several):
            raise Malformed(f"{question.code} is not valid")
        fields.extend(f"{question.code}:{code}" for code in chosen)
    return fields


class Classifications:
    """Adds one classification to today's counters."""

    def __init__(self, durable: aioredis.Redis, keys: Keys, timezone: str) -> None:
        self.redis = durable
        self.keys = keys
        self.zone = ZoneInfo(timezone)

    async def count(self, fields: list[str]) -> None:
        key = self.keys.classes(datetime.now(self.zone).date().isoformat())
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hincrby(key, "total", 1)
            for name in fields:
                pipe.hincrby(key, name, 1)
            await pipe.execute()

    async def day(self, day: str) -> dict[str, int]:
        counts = await self.redis.hgetall(self.keys.classes(day))
        return {str(name): int(value) for name, value in counts.items()}
