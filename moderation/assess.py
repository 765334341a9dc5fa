"""Risk signals in a visitor's messages: imminent danger, suicide risk, a child at risk.

``assess(text)`` and ``assess_conversation(texts)`` return an ``Assessment``: a score in 0..1 for
every label in ``LABELS``, the labels whose score is at least ``THRESHOLD`` (0.5), and for each
label the words of the text that raised it, as written (for the counselor).

How a score comes about
-----------------------
The text is tokenised and normalised (``moderation/normalise.py``). The rules in
``moderation/data/risk_rules_<label>.txt`` combine concepts (``risk_words_<concept>.txt``: who
acts, threat verbs, victims, time markers ...) in order, each rule with a score, sometimes a higher
one when a booster such as ``{now}`` is present (see ``moderation/lexicon.py`` for the format).
Every rule match is a hit; a hit's score is damped:

- ×0.1 when negated: a word of ``risk_words_negation.txt`` up to four words before the match (not
  across punctuation) or between its parts ("jag vill inte dö", "han har aldrig hotat mig").
  Rules that contain a negation themselves ("vill inte leva") are not damped by it, and "vet
  inte" and the like (``risk_words_not_negation.txt``) do not negate.
- ``risk_words_past.txt`` (distant past: "för fem år sen", "used to", "när jag var liten") in the
  same clause, and no ``risk_words_now.txt`` word there: imminent danger ×0.2, child at risk ×0.25
  (a writer telling of their childhood is not a child at risk now), suicide risk ×0.4. Clauses end
  with a sentence (``. ! ?``, line break) and at the words of ``risk_words_clause_break.txt``
  ("men", "but"), so "för fem år sen slog han mig, nu säger han att han ska döda mig" counts.

The rest apply when their words occur anywhere in the message:

- ``risk_words_hypothetical.txt`` (questions about law and procedure, films, news): ×0.3.
- ``risk_words_game.txt`` (games): imminent danger ×0.15, the others ×0.3.
- ``risk_words_hyperbole.txt`` (idioms, and everyday mishaps as the condition of a "threat"):
  imminent danger and child at risk ×0.3, suicide risk ×0.5. Our choice for the ambiguous "mamma
  kommer döda mig om jag kommer hem sent": a teenager's exaggeration about curfew or grades is not
  flagged, while a threat conditioned on leaving, telling or calling ("han dödar mig om jag
  går") is, since that is how such threats are made.
- ``risk_words_habitual.txt`` ("ibland", "for years", "brukar"): imminent danger ×0.5, as violence
  that happens often is not by itself happening now.
- ``risk_words_custody.txt`` ("ta barnen", "vårdnad"): child at risk ×0.3, imminent danger ×0.5;
  a custody dispute is ordinary counselling talk.
- ``risk_words_joke.txt`` ("haha", "lol"): imminent danger ×0.3, child at risk ×0.5, suicide risk
  only ×0.7, since "vill dö lol" can be a real wish put lightly and still reaches the threshold.
- ``risk_words_denial.txt`` ("jag är inte suicidal", "i said no" to a therapist's question):
  suicide risk ×0.2.

Matches inside another match's words count once, with the better score; hits damped below 0.15
do not count. A label's score is the noisy-or of the rest (``1 - prod(1 - s)``), so separate weak
signals (he is on his way home; he has a knife) add up, and a score is never below its strongest
hit.

Choices
-------
- Third parties count for suicide risk ("min kompis vill ta livet av sig"): the counselor must see
  it whoever it concerns. Threats against others in the home ("han ska döda barnen") count as
  imminent danger, and "han ska ta livet av mig" is a threat, not suicide risk.
- Controlling behaviour alone ("han kontrollerar min telefon") is not imminent danger; habitual
  violence without a sign that it is happening now ("han slår mig ibland") is not either.
- A child at risk is a child being hit, abused, threatened or made to witness violence, including
  the writer when they say they are a child (the helper signal ``writer_child``: "jag är 13",
  "i'm in 7th grade"), which raises "han slår mig" anywhere in the conversation. A parent hitting
  "me" counts on its own, as adults rarely write that way about the present. A writer who is a
  child and in imminent danger of any kind ("jag är 14 och pappa skriker att han ska slå ihjäl
  mamma") is a child at risk too: the imminent danger score ×0.9 adds to child at risk.
- ``assess_conversation`` scores the visitor's messages together: the hits of all messages are
  combined, helper signals (``writer_child``, ``help_cry``) hold for the whole conversation, so a
  later message raises earlier ones and the result is never weaker than any single message's; the
  evidence then comes from every message that contributed.
- ``lang`` is accepted for the caller's convenience, but every language's vocabulary is always
  applied: visitors mix languages, and the chat's language setting says little about a message.
"""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from moderation.lexicon import RULES, Match, Occurrences, Rule, matches, occurrences
from moderation.normalise import Tokens, tokenise

__all__ = ["LABELS", "THRESHOLD", "Assessment", "assess", "assess_conversation"]

LABELS = ("imminent_danger", "suicide_risk", "child_at_risk")
THRESHOLD = 0.5

_NEGATION_WINDOW = 4
_NEGATED = 0.1
# Label -> factor for a hit told in the distant past.
_PAST: dict[str, float] = {"imminent_danger": 0.2, "suicide_risk": 0.4, "child_at_risk": 0.25}
# Concept anywhere in the message -> factor per label.
_DAMPING: dict[str, dict[str, float]] = {
    "hypothetical": {"imminent_danger": 0.3, "suicide_risk": 0.3, "child_at_risk": 0.3},
    "game": {"imminent_danger": 0.15, "suicide_risk": 0.3, "child_at_risk": 0.3},
    "hyperbole": {"imminent_danger": 0.3, "suicide_risk": 0.5, "child_at_risk": 0.3},
    "habitual": {"imminent_danger": 0.5, "suicide_risk": 1.0, "child_at_risk": 1.0},
    "custody": {"imminent_danger": 0.5, "suicide_risk": 1.0, "child_at_risk": 0.3},
    "joke": {"imminent_danger": 0.3, "suicide_risk": 0.7, "child_at_risk": 0.5},
    "denial": {"imminent_danger": 1.0, "suicide_risk": 0.2, "child_at_risk": 1.0},
}
# A writer who says they are a child and is in imminent danger (or watching it) is a child at risk:
# the imminent danger score, times this, counts for child_at_risk too.
_CHILD_IN_DANGER = 0.9
# Hits weaker than this after damping (negated ones, for instance) neither count nor show: many
# cancelled signals in a long text must not add up to a strong one.
_FLOOR = 0.15
_HELPER_SIGNALS = frozenset(rule.signal for rule in RULES) - set(LABELS)
_RULES_BY_LABEL = {label: tuple(r for r in RULES if r.signal == label) for label in LABELS}
_HELPER_RULES = {signal: tuple(r for r in RULES if r.signal == signal) for signal in sorted(_HELPER_SIGNALS)}
# Helper signal -> the concepts of each label rule it boosts.
_HELPER_USERS = {
    signal: tuple(r.required for r in RULES if r.booster == signal and r.signal in LABELS)
    for signal in _HELPER_RULES
}


@dataclass(frozen=True)
class Assessment:
    """The risk labels of a text or conversation, with scores and the words that raised them."""

    labels: tuple[str, ...]
    scores: dict[str, float]
    evidence: dict[str, tuple[str, ...]]


@dataclass(frozen=True)
class _Message:
    text: str
    tokens: Tokens
    found: Occurrences
    present: frozenset[str]  # the concepts found
    damping: dict[str, float]  # label -> product of the message-wide factors
    past_clauses: frozenset[int]  # clauses told in the distant past (and not "now")
    clause_of: list[int]  # token -> clause number
    hits: dict[tuple[str, frozenset[str]], list[tuple[float, str]]] = field(
        default_factory=dict, compare=False)
    """`_signal_hits` worked out so far: a conversation is assessed again at every message, and each
    earlier message's hits stay the same while the helper signals do."""


def _clauses(tokens: Tokens, found: Occurrences) -> list[int]:
    """The clause number of each token: clauses end with a sentence and at "men", "but" ..."""
    starts = {start for start, _ in found.get("clause_break", ())}
    numbers = []
    number = 0
    for i, sentence in enumerate(tokens.sentences):
        if i and (sentence or i in starts):
            number += 1
        numbers.append(number)
    return numbers


def _prepare(text: str) -> _Message:
    tokens = tokenise(text)
    found = occurrences(tokens)
    # "inte nu", "not now": a negated time marker says nothing is happening now.
    negation_ends = {end for _, end in found.get("negation", ())}
    current = [span for span in found.get("now", ()) if span[0] not in negation_ends]
    if current:
        found["now"] = current
    else:
        found.pop("now", None)
    damping = dict.fromkeys(LABELS, 1.0)
    for concept, factors in _DAMPING.items():
        if concept in found:
            for label, factor in factors.items():
                damping[label] *= factor
    clause_of = _clauses(tokens, found)
    now_clauses = {clause_of[start] for start, _ in found.get("now", ())}
    past = frozenset(clause_of[start] for start, _ in found.get("past", ())) - now_clauses
    return _Message(text, tokens, found, frozenset(found), damping, past, clause_of)


def _within(spans: list[tuple[int, int]], start: int, end: int) -> list[tuple[int, int]]:
    """The spans (sorted by start) that start and end within ``start``..``end``."""
    first = bisect.bisect_left(spans, (start, -1))
    last = bisect.bisect_left(spans, (end, -1))
    return [span for span in spans[first:last] if span[1] <= end]


def _negated(message: _Message, match: Match) -> bool:
    spans = message.found.get("negation")
    if not spans:
        return False
    first = match.start
    breaks = message.tokens.breaks
    while first > 0 and match.start - first < _NEGATION_WINDOW and not breaks[first]:
        first -= 1
    exempt = message.found.get("not_negation", [])
    for start, end in _within(spans, first, match.end):
        if any(start < p_end and p_start < end for p_start, p_end in match.parts):
            continue
        if any(e_start <= start and end <= e_end for e_start, e_end in _within(exempt, start - 3, end + 3)):
            continue
        return True
    return False


def _hits(message: _Message, rules: Sequence[Rule], label: str | None = None,
          helpers: frozenset[str] = frozenset()) -> list[tuple[float, str]]:
    """(damped score, evidence) of the rules' matches in one message, one per stretch of words.

    A match inside another match's words is the same signal, not a second one: the longer match
    stands for both, with the better score (so "han slår mig framför barnen" is not counted as
    "han slår mig" plus more).
    """
    present = message.present
    spans: dict[tuple[int, int], float] = {}
    for rule in rules:
        if not rule.required <= present:
            continue
        boosted = rule.booster is not None and (rule.booster in present or rule.booster in helpers)
        base = rule.boosted if boosted else rule.score
        if label is not None:
            base *= message.damping[label]
        for match in matches(rule, message.found):
            score = base * _NEGATED if _negated(message, match) else base
            if label is not None and message.clause_of[match.start] in message.past_clauses:
                score *= _PAST[label]
            span = (match.start, match.end)
            spans[span] = max(score, spans.get(span, 0.0))
    # Sorted by start, longest first, each span is inside the last outermost one or starts a new one.
    outer: list[tuple[int, int, float]] = []
    for (start, end), score in sorted(spans.items(), key=lambda item: (item[0][0], -item[0][1])):
        if outer and end <= outer[-1][1]:
            last_start, last_end, last_score = outer[-1]
            outer[-1] = (last_start, last_end, max(last_score, score))
        else:
            outer.append((start, end, score))
    starts, ends = message.tokens.starts, message.tokens.ends
    return [(score, message.text[starts[start]:ends[end - 1]]) for start, end, score in outer]


def _signal_hits(message: _Message, signal: str,
                 helpers: frozenset[str] = frozenset()) -> list[tuple[float, str]]:
    """`_hits` of one label's rules (damped for it, boosted by `helpers`) or of one helper signal's."""
    key = (signal, helpers)
    if key not in message.hits:
        if signal in _RULES_BY_LABEL:
            message.hits[key] = _hits(message, _RULES_BY_LABEL[signal], signal, helpers)
        else:
            message.hits[key] = _hits(message, _HELPER_RULES[signal])
    return message.hits[key]


def assess_conversation(texts: Sequence[str], lang: str | None = None) -> Assessment:
    """The risk labels of a visitor's messages (in order) taken together; see the module docstring."""
    return _assess([_prepare(text) for text in texts])


class Context:
    """A visitor's last `size` messages, each prepared once, assessed together as the chat grows.

    Preparing (tokenising, finding the concepts) is about two thirds of an assessment's cost; a
    chat assessed at every message would otherwise prepare each message `size` times."""

    def __init__(self, size: int) -> None:
        self._messages: deque[_Message] = deque(maxlen=size)

    def add(self, text: str) -> None:
        self._messages.append(_prepare(text))

    def assess(self) -> Assessment:
        """The same as `assess_conversation` over the messages added (the last `size` of them)."""
        return _assess(list(self._messages))


def _assess(messages: Sequence[_Message]) -> Assessment:
    # Only helper signals that some label rule could use here are worked out.
    wanted = [
        signal
        for signal, needs in _HELPER_USERS.items()
        if signal == "writer_child"  # also used below, for a child in imminent danger
        or any(required <= message.present for message in messages for required in needs)
    ]
    helpers = frozenset(
        signal
        for signal in wanted
        for message in messages
        if any(score >= THRESHOLD for score, _ in _signal_hits(message, signal))
    )
    scores: dict[str, float] = {}
    evidence: dict[str, tuple[str, ...]] = {}
    for label in LABELS:
        remaining = 1.0
        shown: dict[str, None] = {}  # ordered, without repeats
        for message in messages:
            for score, words in _signal_hits(message, label, helpers):
                if score >= _FLOOR:
                    remaining *= 1.0 - score
                    shown[words] = None
        if label == "child_at_risk" and "writer_child" in helpers:
            danger = scores["imminent_danger"] * _CHILD_IN_DANGER
            if danger >= _FLOOR:
                remaining *= 1.0 - danger
                shown.update(dict.fromkeys(evidence["imminent_danger"]))
        scores[label] = round(1.0 - remaining, 4)
        evidence[label] = tuple(shown)
    labels = tuple(label for label in LABELS if scores[label] >= THRESHOLD)
    return Assessment(labels, scores, evidence)


def assess(text: str, lang: str | None = None) -> Assessment:
    """The risk labels of one message; see the module docstring."""
    return assess_conversation([text], lang)
