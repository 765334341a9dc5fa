"""Personal-data scrubbing: identifiers in free text are replaced by typed Swedish placeholders.

``scrub(text)`` returns the text with every identifier found by ``find(text)`` replaced by its
placeholder:

=========================  =======================================================================
``[personnummer]``         Swedish personnummer and samordningsnummer (day + 60), with or without
                           century, dash, ``+`` (over 100) or spaces; valid date and Luhn check
                           digit required.
``[telefon]``              Swedish (``070-123 45 67``, ``08-123 456 78``, ``+46 70 ...``,
                           ``0046 ...``) and international (``+44 20 7946 0958``) phone numbers.
                           Public numbers in ``data/public_numbers.txt`` (112, 020-50 50 50 ...)
                           stay.
``[e-post]``               E-mail addresses.
``[adress]``               Street addresses (a street name ending as listed in
                           ``data/street_suffixes.txt``, possibly after "Övre", "Norra" ... or a
                           first name, followed by a house number, optionally ``lgh NNNN`` and a
                           postcode) and postcodes followed by a place name.
``[registreringsnummer]``  Licence plates (``ABC 123``, ``ABC 12A``), upper case only.
``[ip]``                   IPv4 and IPv6 addresses.
``[länk]``                 URLs that carry ids: a query string, a fragment, a long or id-like path
                           segment, a profile on a social network (``instagram.com/kalle.s``).
                           Plain site links such as ``uppsala.se/kontakt`` stay.
=========================  =======================================================================

Dates, times, amounts, percentages, years and ages stay. Placeholders contain no digits and no
upper-case runs, so ``scrub(scrub(x)) == scrub(x)``. Every pattern is precompiled and anchored at
token boundaries (no nested unbounded quantifiers), so the work is linear in the input's length.
Pure Python: the only files read are the word lists in ``moderation/data``, once, at import.
"""

from __future__ import annotations

import bisect
import datetime
import ipaddress
import re
from importlib import resources
from typing import NamedTuple

__all__ = ["Finding", "find", "scrub", "PLACEHOLDERS"]

PLACEHOLDERS: dict[str, str] = {
    "personnummer": "[personnummer]",
    "telefon": "[telefon]",
    "e-post": "[e-post]",
    "adress": "[adress]",
    "registreringsnummer": "[registreringsnummer]",
    "ip": "[ip]",
    "länk": "[länk]",
}


class Finding(NamedTuple):
    """One identifier: ``text[start:end]`` is of ``kind`` (a key of ``PLACEHOLDERS``)."""

    start: int
    end: int
    kind: str


def _data_lines(name: str) -> list[str]:
    """The non-comment lines of a data file, each without its trailing ``# comment``."""
    text = resources.files("moderation").joinpath("data", name).read_text(encoding="utf-8")
    lines = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            lines.append(line)
    return lines


def _load_public_numbers() -> tuple[frozenset[str], tuple[str, ...]]:
    exact: set[str] = set()
    prefixes: list[str] = []
    for line in _data_lines("public_numbers.txt"):
        if line.startswith("prefix "):
            prefixes.append(re.sub(r"\D", "", line))
        else:
            exact.add(re.sub(r"\D", "", line))
    return frozenset(exact), tuple(prefixes)


_PUBLIC_EXACT, _PUBLIC_PREFIXES = _load_public_numbers()
_STREET_SUFFIXES = sorted({s.lower() for s in _data_lines("street_suffixes.txt")}, key=len, reverse=True)
_PLATE_STOPWORDS = frozenset(s.upper() for s in _data_lines("plate_stopwords.txt"))
_POSTCODE_STOPWORDS = frozenset(s.lower() for s in _data_lines("postcode_stopwords.txt"))

_LETTER = "A-Za-zÅÄÖåäöÉéÜüÆæØø"
_UPPER = "A-ZÅÄÖÉÜÆØ"

# --- e-mail ---------------------------------------------------------------------------------------
_EMAIL = re.compile(
    r"(?<![\w.%+-])[\w.%+-]{1,64}@(?:[A-Za-z0-9-]{1,63}\.){1,8}[A-Za-z]{2,24}(?![\w-])"
)

# Written around filters: "kalle(at)example.com", "kalle [at] example [dot] com".
_EMAIL_OBFUSCATED = re.compile(
    r"(?<![\w.%+-])[\w.%+-]{1,64}[ ]?[(\[{]at[)\]}][ ]?[A-Za-z0-9-]{1,63}"
    r"(?:(?:\.|[ ]?[(\[{]dot[)\]}][ ]?)[A-Za-z0-9-]{1,63}){1,8}(?![\w-])",
    re.IGNORECASE,
)

# --- links ----------------------------------------------------------------------------------------
_URL = re.compile(
    r"(?<![\w@./-])(?:(?:https?|ftp)://[^\s<>\"]+|www\.[^\s<>\"]+|(?:[A-Za-z0-9-]{1,63}\.){1,8}[A-Za-z]{2,24}/[^\s<>\"]*)",
    re.IGNORECASE,
)
_URL_TRAILING = ".,;:!?)]}'\"»”’"
_TOKENISH = re.compile(r"^(?=.*\d)(?=.*[A-Za-z])[A-Za-z0-9_\-]{6,}$")
_MANY_DIGITS = re.compile(r"\d{5,}")
# A link to a person's page on a social network names them: "instagram.com/kalle.svensson".
_PROFILE_LINK = re.compile(
    r"^(?:[a-z]{1,10}://)?(?:[\w-]{1,63}\.){0,8}(?:facebook|fb|instagram|tiktok|twitter|x|snapchat|linkedin|youtube"
    r"|threads|vk|onlyfans|pinterest|reddit|tumblr)\.(?:com|net)/(?!(?:about|help|privacy|legal|terms)\b)[^/\s]{2,}",
    re.IGNORECASE,
)

# --- IP -------------------------------------------------------------------------------------------
_OCTET = r"(?:25[0-5]|2[0-4]\d|[01]?\d?\d)"
_IPV4 = re.compile(rf"(?<![\d.])(?:{_OCTET}\.){{3}}{_OCTET}(?!\.?\d)")
_IPV6 = re.compile(r"(?<![\w:.])[0-9A-Fa-f:]{2,39}(?:%\w{1,16})?(?![\w:])")

# --- kept as they are: dates and times block the detectors after them ----------------------------
_KEEP = re.compile(
    r"(?<![\d.:/-])(?:(?:1[89]|20)\d\d-[01]\d-[0-3]\d|[0-3]?\d[./-][01]?\d[./-](?:1[89]|20)?\d\d"
    r"|[0-2]?\d[:.][0-5]\d(?:[:.][0-5]\d)?)(?![\d.:/-]?\d)"
)

# --- personnummer ---------------------------------------------------------------------------------
_PNR = re.compile(
    r"(?<![\d+])(?P<century>18|19|20)?(?P<yy>\d\d)(?P<mm>\d\d)(?P<dd>\d\d)"
    r"(?:[ ]{0,2}(?P<sep>[-+\u2013])[ ]{0,2}|[ ])?(?P<serial>\d{4})(?!\d)"
)

# --- phone ----------------------------------------------------------------------------------------
_PHONE_UNIT = r"(?:\(\d{1,4}\)[ ]?)?\d{1,13}"
_PHONE = re.compile(
    rf"(?<![\w+./:,-])(?P<intl>\+[ ]?|00)?{_PHONE_UNIT}"
    rf"(?:(?:[ ]?[-\u2013][ ]?|[ ]|/|(?=\())(?:{_PHONE_UNIT}))*"
    rf"(?![\w])"
)
_PHONE_GROUP_SEP = re.compile(r"(?:[ ]?[-\u2013][ ]?|[ ]|/)(?=\(?\d)")
_DATE_LIKE = re.compile(r"^(\d{1,2})[-/ ](\d{1,2})[-/ ](\d{2}|\d{4})$")
_AFTER_AMOUNT = re.compile(r"^\s*(?:kr\b|kronor|sek\b|:-|%|€|\$|£|procent|euro|dollar|st\b|km\b|mil\b)",
                           re.IGNORECASE)

# --- addresses and postcodes ---------------------------------------------------------------------
_SUFFIX_ALT = "|".join(re.escape(s) for s in _STREET_SUFFIXES)
# A street type written as its own word after a capitalised name: "Drottningholms väg 3".
_SEPARATE_ALT = "(?i:väg|gata|gatan|gränd|allé|torg|torget)"
_HOUSE = r"\d{1,4}(?:(?:[A-Ha-h]|[ ][A-H])(?![\w@]|\.\w))?(?:-\d{1,4})?"
_FLAT = r"(?:,?[ ]{0,2}(?:lgh|lägenhet|lägh)\.?[ ]{0,2}\d{3,4})?"
_POSTCODE_CORE = r"(?:SE-?[ ]?)?\d{3}[ ]?\d{2}"
# Words that come before a street's name: "Övre Slottsgatan 6", "Stora Torget 1".
_STREET_PREFIX = r"(?:(?:Övre|Nedre|Stora|Lilla|Norra|Södra|Östra|Västra|Gamla|Nya|Sankt|S:t)[ ])"
_STREET = re.compile(
    rf"(?<![\w]){_STREET_PREFIX}?(?:[{_LETTER}][{_LETTER}\-]{{1,40}}(?:{_SUFFIX_ALT})"
    # A separate street type may follow a person's full name: "Dag Hammarskjölds väg 16".
    rf"|(?:[{_UPPER}][{_LETTER}\-]{{1,40}}[ ](?=[{_UPPER}][{_LETTER}\-]{{0,40}}s[ ]))?"
    rf"[{_UPPER}][{_LETTER}\-]{{1,40}}[ ](?:{_SEPARATE_ALT}))"
    rf"[ ]{{1,2}}{_HOUSE}{_FLAT}"
    rf"(?:,?[ ]{{1,2}}{_POSTCODE_CORE}(?![\d.:])(?:[ ]{{1,2}}[{_UPPER}][{_LETTER}\-]{{1,40}})?)?"
    rf"(?![\w])"
)
_AFTER_STREET_NOT_HOUSE = re.compile(
    r"^\s*(?:km|m|meter|min|minuter|kr|kronor|år|st|gånger|ggr|procent|%)(?!\w)", re.IGNORECASE
)
_POSTCODE = re.compile(
    rf"(?<![\w-])(?P<code>(?:SE-?[ ]?)?\d{{3}}[ ]?\d{{2}})(?![\d])"
    rf"(?P<place>[ ]{{1,2}}[{_UPPER}][{_LETTER}\-]{{1,40}}(?![\w]))?"
)
_POSTCODE_CONTEXT = re.compile(
    r"(?:postnummer|postnumret|postnr|post nr|postkod|postkoden|zip|zip code|postcode|postal code)"
    r"(?:[\s:.]{0,3}|\s+(?:är|is)\s+)$",
    re.IGNORECASE,
)

# --- licence plates -------------------------------------------------------------------------------
# Swedish plates never use I, Q, V (nor Å, Ä, Ö).
_PLATE = re.compile(
    r"(?<![\w-])(?P<letters>[A-HJ-PR-UW-Z]{3})[ ]?(?P<digits>\d{2}[A-HJ-PR-UW-Z0-9])(?![\w-])"
)
_AFTER_PLATE_NOT = re.compile(r"^\s*(?:kr\b|kronor|%|:-|procent)", re.IGNORECASE)


def luhn_ok(digits: str) -> bool:
    """The Luhn check over a personnummer's 10 digits (the last is the check digit)."""
    total = 0
    for i, ch in enumerate(digits):
        n = int(ch) * (2 if i % 2 == 0 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


def _valid_date(year: int, month: int, day: int) -> bool:
    try:
        datetime.date(year, month, day)
    except ValueError:
        return False
    return True


def _is_personnummer(m: re.Match[str]) -> bool:
    yy, mm, dd = int(m["yy"]), int(m["mm"]), int(m["dd"])
    if dd > 60:  # samordningsnummer
        dd -= 60
    years = [int(m["century"]) * 100 + yy] if m["century"] else [1900 + yy, 2000 + yy]
    if not any(_valid_date(y, mm, dd) for y in years):
        return False
    return luhn_ok(m["yy"] + m["mm"] + m["dd"] + m["serial"])


def _phone_digits_ok(candidate: str, after: str) -> bool:
    """Whether the candidate (separators included) is a private phone number."""
    stripped = candidate.strip()
    digits = re.sub(r"\D", "", stripped)
    if _AFTER_AMOUNT.match(after):
        return False
    if stripped.startswith("+") or stripped.startswith("00"):
        national_digits = digits[2:] if stripped.startswith("00") else digits
        if not 8 <= len(national_digits) <= 15:
            return False
        if national_digits.startswith("46"):
            rest = national_digits[2:]
            if rest.startswith("0"):
                rest = rest[1:]
            national = "0" + rest
            return not _is_public(national) and 8 <= len(national) <= 11
        return True
    if not digits.startswith("0") or not 8 <= len(digits) <= 10:
        return False
    date = _DATE_LIKE.match(stripped)
    if date and 1 <= int(date[1]) <= 31 and 1 <= int(date[2]) <= 12:
        return False
    if len(set(digits)) == 1:
        return False
    return not _is_public(digits)


def _is_public(national_digits: str) -> bool:
    return national_digits in _PUBLIC_EXACT or national_digits.startswith(_PUBLIC_PREFIXES)


def _url_carries_id(url: str) -> bool:
    if re.search(r"[?#=&]", url) or _PROFILE_LINK.match(url):
        return True
    path = re.sub(r"^(?:[a-z]+://)?[^/]*", "", url, flags=re.IGNORECASE)
    for segment in path.split("/"):
        if not segment:
            continue
        if len(segment) > 30 or _MANY_DIGITS.search(segment) or _TOKENISH.match(segment):
            return True
    return False


def _find_urls(text: str) -> list[Finding]:
    found = []
    for m in _URL.finditer(text):
        url = m.group(0).rstrip(_URL_TRAILING)
        if url and _url_carries_id(url):
            found.append(Finding(m.start(), m.start() + len(url), "länk"))
    return found


def _find_ipv6(text: str) -> list[Finding]:
    found = []
    for m in _IPV6.finditer(text):
        candidate = m.group(0)
        if candidate.count(":") < 2 or not re.search(r"[0-9A-Fa-f]", candidate):
            continue
        try:
            ipaddress.IPv6Address(candidate.split("%", 1)[0])
        except ValueError:
            continue
        found.append(Finding(m.start(), m.end(), "ip"))
    return found


_PHONE_MAX_GROUPS = 8


def _find_phones(text: str) -> list[Finding]:
    found = []
    for m in _PHONE.finditer(text):
        candidate = m.group(0)
        # A run of digit groups may hold a phone number anywhere: "811218-9876 070-123 45 67", or
        # "ring 070-123 45 67 2 ggr". A number starts at the run's start or after a space (never right
        # after "-" or "/", as inside a date); the longest run of at most eight groups from it goes first.
        separators = list(_PHONE_GROUP_SEP.finditer(candidate))
        bounds = [(0, 0)] + [(s.end(), i + 1) for i, s in enumerate(separators)]
        done = 0
        for start, group in bounds:
            if start < done or (group and not separators[group - 1].group(0).startswith(" ")):
                continue
            last = min(group + _PHONE_MAX_GROUPS, len(separators) + 1)
            ends = [separators[g - 1].start() if g <= len(separators) else len(candidate)
                    for g in range(last, group, -1)]
            for end in ends:
                after = text[m.start() + end:m.start() + end + 12]
                if _phone_digits_ok(candidate[start:end], after):
                    found.append(Finding(m.start() + start, m.start() + end, "telefon"))
                    done = end
                    break
    return found


def _find_personnummer(text: str) -> list[Finding]:
    return [Finding(m.start(), m.end(), "personnummer") for m in _PNR.finditer(text) if _is_personnummer(m)]


def _find_streets(text: str) -> list[Finding]:
    found = []
    for m in _STREET.finditer(text):
        if _AFTER_STREET_NOT_HOUSE.match(text[m.end():m.end() + 12]):
            continue
        found.append(Finding(m.start(), m.end(), "adress"))
    return found


def _find_postcodes(text: str) -> list[Finding]:
    found = []
    for m in _POSTCODE.finditer(text):
        place = m["place"]
        before = text[max(0, m.start() - 30):m.start()]
        if _POSTCODE_CONTEXT.search(before) or m["code"].upper().startswith("SE"):
            found.append(Finding(m.start(), m.end(), "adress"))
            continue
        if place and place.split()[0].lower() not in _POSTCODE_STOPWORDS:
            found.append(Finding(m.start(), m.end(), "adress"))
    return found


def _find_plates(text: str) -> list[Finding]:
    found = []
    for m in _PLATE.finditer(text):
        if m["letters"] in _PLATE_STOPWORDS or _AFTER_PLATE_NOT.match(text[m.end():m.end() + 10]):
            continue
        found.append(Finding(m.start(), m.end(), "registreringsnummer"))
    return found


def find(text: str) -> list[Finding]:
    """The identifiers in ``text``, sorted by position and non-overlapping.

    Detectors run in priority order (e-mail, link, IP, personnummer, phone, address, postcode,
    plate); a later finding that overlaps an earlier one is dropped. Dates and times are found just
    before personnummer and kept, so no later detector takes their digits.
    """
    detectors = (
        lambda t: [Finding(m.start(), m.end(), "e-post") for m in _EMAIL.finditer(t)],
        lambda t: [Finding(m.start(), m.end(), "e-post") for m in _EMAIL_OBFUSCATED.finditer(t)],
        _find_urls,
        lambda t: [Finding(m.start(), m.end(), "ip") for m in _IPV4.finditer(t)],
        _find_ipv6,
        lambda t: [Finding(m.start(), m.end(), "") for m in _KEEP.finditer(t)],
        _find_personnummer,
        _find_phones,
        _find_streets,
        _find_postcodes,
        _find_plates,
    )
    taken: list[Finding] = []  # sorted by start, non-overlapping
    for detect in detectors:
        for finding in detect(text):
            i = bisect.bisect_left(taken, finding)
            if i > 0 and taken[i - 1].end > finding.start:
                continue
            if i < len(taken) and taken[i].start < finding.end:
                continue
            taken.insert(i, finding)
    return [finding for finding in taken if finding.kind]


def scrub(text: str) -> str:
    """``text`` with every identifier replaced by its placeholder (see the module docstring)."""
    findings = find(text)
    if not findings:
        return text
    parts = []
    position = 0
    for finding in findings:
        parts.append(text[position:finding.start])
        parts.append(PLACEHOLDERS[finding.kind])
        position = finding.end
    parts.append(text[position:])
    return "".join(parts)
