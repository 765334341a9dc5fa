"""The short end-of-chat classification: its questions, and counting the answers.

Only counters are kept (app/stats/counters.py): `class.<question>|answer=<answer>`, and
`class.<question>` (for `who`, exactly one per classified chat: their total). No conversation
id, nothing that links an answer to a chat.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.errors import Malformed
from app.i18n import N_
from app.stats.counters import Counters


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


def counter_fields(answers: dict[str, list[str]]) -> list[tuple[str, str]]:
    """The (question, answer) pairs of one classification, or `Malformed`."""
    if set(answers) - {q.code for q in QUESTIONS}:
        raise Malformed("unknown question")
    fields: list[tuple[str, str]] = []
    for question in QUESTIONS:
        chosen = answers.get(question.code, [])
        known = {code for code, _ in question.answers}
        if not chosen and question.several:
            continue  # no form of violence came up
        if len(chosen) != len(set(chosen)) or not set(chosen) <= known or \
                (len(chosen) != 1 and not question.several):
            raise Malformed(f"{question.code} is not valid")
        fields.extend((question.code, code) for code in chosen)
    return fields


async def count(counters: Counters, fields: list[tuple[str, str]]) -> None:
    """Count one classification's answers (from `counter_fields`)."""
    for question, answer in fields:
        await counters.add(f"class.{question}", answer=answer)
