"""Abuse control in the chat: insults and threats aimed at the counselor, the same message over and over."""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Sequence
from importlib import resources

__all__ = ["abusive", "fingerprint", "is_repeat", "MIN_REPEAT_LENGTH"]

# Fingerprints shorter than this ("ok", "ja", "nej", "hej", "tack", "?", emoji) are answers people
# legitimately give many times in a row, so they never count as repeats.
MIN_REPEAT_LENGTH = 5

# What may stand between two words of a phrase: spaces, dashes, emoji ... but not clause
# punctuation or quotes, so "fuck, you know" is not "fuck you" and a quote ends a phrase.
_SEP = r"[^\w\n,.;:!?\"“”„«»'’‘`´]++"
# Chat is typed on phones without Swedish letters: "javla", "hall kaften".
_FOLDED = {"å": "[åa]", "ä": "[äa]", "ö": "[öo]"}
_BASE = {"å": "a", "ä": "a", "ö": "o"}


def _phrase_regex(phrase: str) -> str:
    """The regex for one line of a word list (syntax in ``data/abuse_targets.txt``).

    Every letter may be typed many times ("idiooot"), so a doubled letter in the phrase is written
    once and each letter matches one or more of itself, possessively (no backtracking). The first
    copy is a plain literal because the regex engine skips an alternative whose first literal does
    not match without entering it, which keeps the big alternations fast."""
    out: list[str] = []
    previous = ""
    for ch in phrase.casefold():
        if ch.isalnum():
            if _BASE.get(ch, ch) != previous:
                atom = _FOLDED.get(ch, re.escape(ch))
                out.append(f"{atom}{atom}*+")
                previous = _BASE.get(ch, ch)
            continue
        if ch != "'":
            previous = ""
        if ch in " -":
            if not out or out[-1] != _SEP:
                out.append(_SEP)
        elif ch == "'":
            out.append("['’]?+")
        elif ch == "(":
            out.append("(?:")
        elif ch in "|)":
            out.append(ch)
        elif ch == "?" and out and out[-1] == ")":
            out.append("?")
        else:
            raise ValueError(f"unexpected {ch!r} in abuse word list line {phrase!r}")
    return "".join(out)


def _alternatives(name: str) -> str:
    """The lines of ``data/<name>`` as one regex alternation (``#`` starts a comment)."""
    text = resources.files("moderation").joinpath("data", name).read_text(encoding="utf-8")
    regexes = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            regex = _phrase_regex(line)
            re.compile(regex)  # a broken line fails here, naming itself, not inside a big alternation
            regexes.append(regex)
    # Longest first, so that "you're" is tried before "you".
    return "(?:" + "|".join(sorted(regexes, key=len, reverse=True)) + ")"


_AIMED = re.compile(
    rf"(?<!\w){_alternatives('abuse_targets.txt')}(?:{_SEP}{_alternatives('abuse_fillers.txt')}){{0,4}}"
    rf"{_SEP}{_alternatives('abuse_insults.txt')}(?!\w)"
)
_PHRASE = re.compile(rf"(?<!\w){_alternatives('abuse_phrases.txt')}(?!\w)")
_NOT_AIMED = re.compile(_alternatives("abuse_not_aimed.txt"))
# A verb of saying, with the reader as its subject in group 1 ("du sa", "you said") when so.
_REPORTED = re.compile(
    rf"(?<!\w)(?:((?:du|ni|you|u){_SEP}(?:did{_SEP})?))?{_alternatives('abuse_reported.txt')}(?!\w)"
)
_SENTENCE_END = re.compile(r"[.!?\n]")
# A colon introduces what someone said, as chat transcripts do ("hon: du är en hora"); not in a time.
_COLON = re.compile(r"(?<!\d):|:(?!\d)")
# Quote marks; an apostrophe between two letters ("you're", "don't") is not one.
_QUOTE = re.compile(r"[\"“”„«»]|(?<![^\W\d_])['’‘`´]|['’‘`´](?![^\W\d_])")
_WORD = re.compile(r"\w+(?:['’]\w+)?")
# How far back to look for the two words before a phrase: two long words and some spaces.
_LOOKBACK = 60


def _lower(text: str) -> str:
    """`text` in lower case, character for character, so that spans found in it are spans of `text`.

    The word lists are matched against lower-cased text rather than with ``re.IGNORECASE``, which
    would turn off the engine's fast skipping of alternatives (see ``_phrase_regex``)."""
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    # A few letters grow when lower-cased ("İ" becomes "i" and a dot above): those stay as they are.
    return "".join(ch if len(ch.lower()) != 1 else ch.lower() for ch in text)


def abusive(text: str) -> tuple[str, ...]:
    """The insults, slurs, sexual harassment or threats aimed at the counselor found in `text`
    (the matched substrings as written), empty when none.

    Only what is aimed at the reader counts, because the people writing here describe abuse:

    - an insult or slur (``data/abuse_insults.txt``) counts only after a word addressing the reader
      (``data/abuse_targets.txt``: "du", "din", "you", "u" ...), with at most four words from
      ``data/abuse_fillers.txt`` between ("du e en jävla idiot", "you stupid bitch"); so "han kallar
      mig hora" and swearing on its own ("fan vad jobbigt") do not count;
    - a phrase from ``data/abuse_phrases.txt`` (orders such as "håll käften" and "kys", sexual
      harassment, threats) counts unless one of the two words before it is in
      ``data/abuse_not_aimed.txt`` ("han tvingar mig att skicka nakenbilder", "en kys");
    - nothing counts inside quotes, after a colon in the same sentence ("hon: du är en hora"), or
      in a sentence with a verb of saying from ``data/abuse_reported.txt`` ("min pappa sa 'din
      jävla idiot' till mig"), unless the reader is the one saying it ("du sa ...").

    The writer's own suicidal talk ("jag vill döda mig själv") never matches: the phrases are about
    "dig"/"yourself" (suicide risk is ``moderation.assess``'s job).
    """
    lowered = _lower(text)
    spans = [(m.start(), m.end(), False) for m in _AIMED.finditer(lowered)]
    spans += [(m.start(), m.end(), True) for m in _PHRASE.finditer(lowered)]
    if not spans:
        return ()
    # Computed only when something matched, and once per call, so a long text stays linear.
    ends = [m.start() for m in _SENTENCE_END.finditer(text)]
    quotes = [m.start() for m in _QUOTE.finditer(text)]
    colons = [m.start() for m in _COLON.finditer(text)]
    reported: dict[int, bool] = {}
    kept: list[tuple[int, int]] = []
    for start, end, is_phrase in sorted(spans):
        if bisect.bisect_left(quotes, start) % 2:
            continue  # inside quotes: someone else's words
        i = bisect.bisect_left(ends, start)
        sentence_start = ends[i - 1] + 1 if i else 0
        if sentence_start not in reported:
            sentence_end = ends[i] if i < len(ends) else len(text)
            reported[sentence_start] = any(
                m.group(1) is None for m in _REPORTED.finditer(lowered, sentence_start, sentence_end)
            )
        if reported[sentence_start]:
            continue
        colon = bisect.bisect_left(colons, start)
        if colon and colons[colon - 1] >= sentence_start:
            continue  # after "hon:" in the same sentence: someone else's words
        if is_phrase:
            before = _WORD.findall(lowered, max(sentence_start, start - _LOOKBACK), start)[-2:]
            if any(_NOT_AIMED.fullmatch(word) for word in before):
                continue
        if kept and start < kept[-1][1]:
            kept[-1] = (kept[-1][0], max(end, kept[-1][1]))  # overlapping: "fuck you bitch" is one
        else:
            kept.append((start, end))
    return tuple(text[start:end] for start, end in kept)


# After NFD, å ä ö are put back together: they tell Swedish words apart ("dö" die, "do"); ø and æ
# are their Nordic spellings. Every other diacritic is a combining mark by then, dropped below.
_SWEDISH = {"a\u030a": "å", "a\u0308": "ä", "o\u0308": "ö", "ø": "ö", "æ": "ä"}
# Combining marks, punctuation, emoji, whitespace: anything but letters and digits.
_NOT_ALNUM = re.compile(r"[\W_]+")
# The letter is captured by a lookbehind, so only the copies after it are matched and deleted.
_REPEATED_LETTER = re.compile(r"(?<=([^\W\d_]))\1+")


def fingerprint(text: str) -> str:
    """A normalised form for spotting the same message sent again and again: casefolded,
    diacritics kept for Swedish letters (å ä ö), punctuation/emoji/whitespace collapsed,
    repeated letters collapsed ("heeeej" == "hej"), digits kept. Two messages that differ only
    in case, spacing, punctuation or letter repetition have the same fingerprint."""
    folded = text.casefold()
    if not folded.isascii():
        folded = unicodedata.normalize("NFD", folded)
        for written, letter in _SWEDISH.items():
            folded = folded.replace(written, letter)
    return _REPEATED_LETTER.sub("", _NOT_ALNUM.sub("", folded))


def is_repeat(fingerprint: str, recent: Sequence[str], limit: int = 3) -> bool:
    """True when this fingerprint already occurs `limit - 1` or more times among `recent` (the
    fingerprints of the session's last messages): the `limit`-th identical message is a repeat.
    Very short messages ("ok", "ja", "nej", "?", "hej", "tack", emoji-only) never count as repeats:
    people legitimately answer "ja" many times."""
    if limit < 2:
        raise ValueError("limit must be at least 2: the first message cannot be a repeat")
    if len(fingerprint) < MIN_REPEAT_LENGTH:
        return False
    return sum(1 for seen in recent if seen == fingerprint) >= limit - 1
