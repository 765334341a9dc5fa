"""Risk vocabulary: loads the word lists and rules of ``moderation/data/risk_*.txt``, finds them in tokens.

Two kinds of file, both one entry a line, ``#`` starting a comment:

``risk_words_<concept>.txt``
    The words and phrases of one concept (``kill``, ``now``, ``child`` ...), in any language. A
    phrase is several words in a row. ``word*`` matches every word starting with ``word``; ``?``
    matches any one word ("för ? år sen").

``risk_rules_<signal>.txt``
    How concepts combine into a signal: one of ``moderation.assess.LABELS``, or a helper signal
    (``writer_child``, ``child_mentioned``, ``help_cry``) that rules of the labels use as a
    booster. A line reads::

        0.85: {agent} {will} {kill} {victim}
        0.3 / 0.9 if {now}: {agent} {hit} {me}

    The first number is the score of a match; the optional ``/ number if {booster}`` is the score
    when the booster is present too (the same message's words, or a helper signal anywhere in the
    conversation). After the colon come the elements in order: ``{concept}`` or literal words (a
    run of literal words must be adjacent); ``!{concept}`` means the next word is not of that
    concept ("orkar inte mer" but not "orkar inte mer med honom"), and as the first element that
    the concept does not occur in the two words before the match ("jag ska ta livet av mig" but
    not "han ska ta livet av mig"). Up to two other words may stand between elements;
    ``...`` before an element allows up to six.

Matching is linear in the text: every token is looked up once (exact words in a dict, prefixes by
their own lengths, results cached per word), and a rule is tried only when all its concepts occur.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from moderation.normalise import Tokens, tokenise

__all__ = ["Rule", "Match", "Occurrences", "RULES", "occurrences", "matches"]

ANY = "?"
NEAR_GAP = 2
WIDE_GAP = 6

Occurrences = dict[str, list[tuple[int, int]]]
"""Concept -> the (first token, end token) of each of its occurrences, by position."""


@dataclass(frozen=True)
class Rule:
    """One line of a rules file."""

    signal: str
    score: float
    boosted: float
    booster: str | None
    elements: tuple[str, ...]
    gaps: tuple[int, ...]  # words allowed before each element (the first's is unused)
    required: frozenset[str]


@dataclass(frozen=True)
class Match:
    """Where a rule matched: token range and the token ranges of its elements."""

    start: int
    end: int
    parts: tuple[tuple[int, int], ...]


def _data_files(prefix: str) -> Iterator[tuple[str, list[str]]]:
    folder = resources.files("moderation").joinpath("data")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.startswith(prefix) and entry.name.endswith(".txt"):
            lines = []
            for raw in entry.read_text(encoding="utf-8").splitlines():
                line = raw.split("#", 1)[0].strip()
                if line:
                    lines.append(line)
            yield entry.name[len(prefix):-len(".txt")], lines


def _pattern_tokens(phrase: str) -> tuple[str, ...]:
    """A phrase as token matchers: a normalised word, ``word*`` (prefix) or ``?`` (any word)."""
    matchers: list[str] = []
    for piece in phrase.split():
        if piece == ANY:
            matchers.append(ANY)
            continue
        words = list(tokenise(piece).words)
        if not words:  # a filler word, left out of the text too
            continue
        if piece.endswith("*"):
            words[-1] += "*"
        matchers.extend(words)
    if not matchers:
        raise ValueError(f"no word in {phrase!r}")
    return tuple(matchers)


# First matcher ("=word" or "word*") -> number of further words -> those words -> concepts. Phrases
# with a "?" or a "word*" after the first word are in _PATTERN_ENTRIES instead.
_ENTRIES: dict[str, dict[int, dict[tuple[str, ...], list[str]]]] = {}
_PATTERN_ENTRIES: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
_PREFIX_LENGTHS: set[int] = set()


def _add_entry(concept: str, phrase: str) -> None:
    first, *rest = _pattern_tokens(phrase)
    if first == ANY:
        raise ValueError(f"a phrase cannot start with ?: {phrase!r}")
    key = first if first.endswith("*") else "=" + first
    if first.endswith("*"):
        _PREFIX_LENGTHS.add(len(first) - 1)
    by_length = _ENTRIES.setdefault(key, {})
    if any(m == ANY or m.endswith("*") for m in rest):
        _PATTERN_ENTRIES.setdefault(key, []).append((concept, tuple(rest)))
    else:
        by_length.setdefault(len(rest), {}).setdefault(tuple(rest), []).append(concept)


_RULE_LINE = re.compile(
    r"^(?P<score>[01](?:\.\d+)?)\s*(?:/\s*(?P<boosted>[01](?:\.\d+)?)\s+if\s+\{(?P<booster>\w+)\})?\s*:"
    r"\s*(?P<body>.+)$"
)


def _parse_rule(signal: str, line: str) -> Rule:
    m = _RULE_LINE.match(line)
    if not m:
        raise ValueError(f"bad rule in risk_rules_{signal}.txt: {line!r}")
    elements: list[str] = []
    gaps: list[int] = []
    gap = NEAR_GAP
    literal: list[str] = []

    def close_literal() -> None:
        nonlocal gap
        if literal:
            phrase = " ".join(literal)
            concept = "'" + phrase
            if concept not in _CONCEPTS:
                _CONCEPTS.add(concept)
                _add_entry(concept, phrase)
            elements.append(concept)
            gaps.append(gap)
            gap = NEAR_GAP
            literal.clear()

    for piece in m["body"].split():
        if piece == "...":
            close_literal()
            gap = WIDE_GAP
        elif piece.lstrip("!").startswith("{") and piece.endswith("}"):
            close_literal()
            name = piece[1:-1] if piece[0] == "{" else "!" + piece[2:-1]
            if name.lstrip("!") not in _CONCEPTS:
                raise ValueError(f"unknown concept {name!r} in rule {line!r}")
            elements.append(name)
            gaps.append(gap)
            gap = NEAR_GAP
        else:
            literal.append(piece)
    close_literal()
    score = float(m["score"])
    boosted = float(m["boosted"]) if m["boosted"] else score
    required = frozenset(e for e in elements if not e.startswith("!"))
    return Rule(signal, score, boosted, m["booster"], tuple(elements), tuple(gaps), required)


_CONCEPTS: set[str] = set()
for _concept, _lines in _data_files("risk_words_"):
    _CONCEPTS.add(_concept)
    for _line in _lines:
        _add_entry(_concept, _line)

RULES: tuple[Rule, ...] = tuple(
    _parse_rule(signal, line) for signal, lines in _data_files("risk_rules_") for line in lines
)
_UNKNOWN_BOOSTERS = {r.booster for r in RULES if r.booster} - {r.signal for r in RULES} - _CONCEPTS
if _UNKNOWN_BOOSTERS:
    raise ValueError(f"unknown boosters in risk_rules_*.txt: {sorted(_UNKNOWN_BOOSTERS)}")
_SORTED_PREFIX_LENGTHS = tuple(sorted(_PREFIX_LENGTHS))


@lru_cache(maxsize=65536)
def _keys(word: str) -> tuple[str, ...]:
    """The entry keys a word matches: itself and its listed prefixes."""
    keys = ["=" + word] if "=" + word in _ENTRIES else []
    for length in _SORTED_PREFIX_LENGTHS:
        if length > len(word):
            break
        key = word[:length] + "*"
        if key in _ENTRIES:
            keys.append(key)
    return tuple(keys)


def _token_matches(matcher: str, word: str) -> bool:
    if matcher == ANY:
        return True
    if matcher.endswith("*"):
        return word.startswith(matcher[:-1])
    return word == matcher


def occurrences(tokens: Tokens) -> Occurrences:
    """Every concept occurrence in the tokens."""
    found: Occurrences = {}
    words = tokens.words

    def add(concept: str, start: int, end: int) -> None:
        spans = found.setdefault(concept, [])
        if not spans or spans[-1] != (start, end):
            spans.append((start, end))

    for i, word in enumerate(words):
        for key in _keys(word):
            for length, phrases in _ENTRIES[key].items():
                concepts = phrases.get(words[i + 1:i + 1 + length] if length else ())
                if concepts:
                    for concept in concepts:
                        add(concept, i, i + 1 + length)
            for concept, rest in _PATTERN_ENTRIES.get(key, ()):
                end = i + 1 + len(rest)
                following = words[i + 1:end]
                if end <= len(words) and all(map(_token_matches, rest, following)):
                    add(concept, i, end)
    return found


def _extend(rule: Rule, found: Occurrences, index: int, after: int,
            parts: tuple[tuple[int, int], ...]) -> tuple[tuple[int, int], ...] | None:
    """The first way to match the rule's elements from ``index`` on, starting at or after ``after``."""
    if index == len(rule.elements):
        return parts
    name = rule.elements[index]
    if name.startswith("!"):
        # A "not followed by" element: nothing of that concept may start right after.
        if any(start == after for start, _ in found.get(name[1:], ())):
            return None
        return _extend(rule, found, index + 1, after, parts)
    spans = found[name]
    limit = after + rule.gaps[index]
    for j in range(bisect.bisect_left(spans, (after, -1)), len(spans)):
        start, end = spans[j]
        if start > limit:
            break
        done = _extend(rule, found, index + 1, end, (*parts, (start, end)))
        if done is not None:
            return done
    return None


def _excluded_before(rule: Rule, found: Occurrences, start: int) -> bool:
    """Whether a leading ``!{concept}`` occurs just before the match (within the near gap)."""
    name = rule.elements[0]
    return any(start - NEAR_GAP <= s < start for s, _ in found.get(name[1:], ()))


def matches(rule: Rule, found: Occurrences) -> Iterator[Match]:
    """The non-overlapping matches of a rule whose concepts all occur, left to right."""
    first = 1 if rule.elements[0].startswith("!") else 0
    done_until = 0
    for start, end in found[rule.elements[first]]:
        if start < done_until or (first and _excluded_before(rule, found, start)):
            continue
        parts = _extend(rule, found, first + 1, end, ((start, end),))
        if parts is not None:
            done_until = parts[-1][1]
            yield Match(start, done_until, parts)
