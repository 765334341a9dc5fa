"""Text normalisation for risk matching: the text becomes a list of normalised word tokens.

Chat text and the phrases in ``moderation/data/risk_*.txt`` go through the same ``tokenise``, so a
phrase matches however it is typed. Each token is:

- case-folded; Latin diacritics are stripped except on å, ä and ö, which tell Swedish words apart
  ("dö" die, "do"); ø and æ become ö and ä;
- Arabic/Persian letter variants unified (ي ی ى, ك ک, ة ۀ ه, أ إ آ ا), harakat, tatweel and
  zero-width (non-)joiners removed, Arabic-Indic digits made ASCII;
- stripped of repeated letters ("dööööö", "hjäääälp", "kommer" → "dö", "hjälp", "komer"), since
  stretched words are how people stress, and the same is done to the phrases;
- split where letters and digits meet ("12år" → "12", "år"; Arabizi "yi2tilni" likewise);
- read as its standard spelling when it is a chat spelling listed in
  ``moderation/data/risk_spellings.txt`` ("mej" → "mig", "ja" → "jag", "e" → "är", "nån" →
  "någon"), so one phrase in a word list covers the ways it is typed;
- left out when it is a filler word listed in ``moderation/data/risk_fillers.txt`` ("typ",
  "asså", "just"), so "vill typ inte leva" reads as "vill inte leva".

The Persian verb prefix می / نمی is written joined, with a zero-width non-joiner or with a space;
a separate prefix is joined to the next word. Each token keeps its span in the original text
(evidence is shown as written), whether a clause break (``. , ! ? ; :`` or a line break) comes
before it, and whether a sentence end (``. ! ?`` or a line break) does.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

__all__ = ["Tokens", "normalise_token", "tokenise"]

_MARKS = r"\u0300-\u036f\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u200b-\u200d\u0640"
_TOKEN = re.compile(rf"(?:[^\W\d_]|[{_MARKS}])+|\d+")
_BREAK = re.compile(r"[.!?;:,\n\u060c\u061f\u06d4]")  # includes Arabic comma, question mark, full stop
_SENTENCE_END = re.compile(r"[.!?\n\u061f\u06d4]")
_REPEATS = re.compile(r"([^\W\d_])\1+")
_KEEP_MARKS = frozenset("\u030a\u0308")  # ring and diaeresis: å, ä, ö survive
_PERSIAN_PREFIXES = frozenset({"می", "نمی"})

_TRANSLATE = str.maketrans(
    {
        "ü": "u", "ë": "e", "ï": "i", "ÿ": "y", "ø": "ö", "æ": "ä", "œ": "oe", "ð": "d", "þ": "th",
        "ł": "l", "đ": "d", "ı": "i",
        "ی": "ي", "ى": "ي", "ک": "ك", "ة": "ه", "ۀ": "ه", "ٱ": "ا",
        "\u0640": None, "\u200b": None, "\u200c": None, "\u200d": None,
        **{chr(0x0660 + d): str(d) for d in range(10)},
        **{chr(0x06F0 + d): str(d) for d in range(10)},
    }
)


def _data_lines(name: str) -> list[str]:
    text = resources.files("moderation").joinpath("data", name).read_text(encoding="utf-8")
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [line for line in lines if line]


def _fillers() -> frozenset[str]:
    return frozenset(normalise_token(word) for word in _data_lines("risk_fillers.txt"))


def _spellings() -> dict[str, str]:
    spellings = {}
    for line in _data_lines("risk_spellings.txt"):
        variant, standard = (normalise_token(side.strip()) for side in line.split("=", 1))
        spellings[variant] = standard
    return spellings


@dataclass(frozen=True)
class Tokens:
    """The normalised words of a text and, for each, where it stands in the original text."""

    words: tuple[str, ...]
    starts: tuple[int, ...]
    ends: tuple[int, ...]
    breaks: tuple[bool, ...]  # a clause break (punctuation) between the word and the one before
    sentences: tuple[bool, ...]  # a sentence end (. ! ? line break) there


@lru_cache(maxsize=65536)
def normalise_token(raw: str) -> str:
    """The normalised form of one word (see the module docstring)."""
    decomposed = unicodedata.normalize("NFKD", raw.casefold())
    kept = "".join(ch for ch in decomposed if ch in _KEEP_MARKS or not unicodedata.combining(ch))
    return _REPEATS.sub(r"\1", unicodedata.normalize("NFC", kept).translate(_TRANSLATE))


_FILLERS = _fillers()
_SPELLINGS = _spellings()


def tokenise(text: str) -> Tokens:
    """The normalised tokens of ``text``, in order."""
    words: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    breaks: list[bool] = []
    sentences: list[bool] = []
    normalise, find_break, find_end = normalise_token, _BREAK.search, _SENTENCE_END.search
    spellings = _SPELLINGS
    previous_end = 0
    for m in _TOKEN.finditer(text):
        start, end = m.span()
        word = normalise(m.group())
        word = spellings.get(word, word)
        gap = text[previous_end:start]
        previous_end = end
        broken = gap != " " and find_break(gap) is not None
        if word in _FILLERS:
            # Dropped; a break before it counts before the next word.
            previous_end = start if broken else end
            continue
        if not broken and words and words[-1] in _PERSIAN_PREFIXES and len(gap) <= 1:
            words[-1] += word
            ends[-1] = end
        elif word:
            words.append(word)
            starts.append(start)
            ends.append(end)
            breaks.append(broken)
            sentences.append(broken and find_end(gap) is not None)
    if words:  # the first word starts a clause and a sentence
        breaks[0] = sentences[0] = True
    return Tokens(tuple(words), tuple(starts), tuple(ends), tuple(breaks), tuple(sentences))
