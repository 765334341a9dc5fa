"""Evaluation of moderation.assess and moderation.scrub against the labelled sets in this folder.

Run ``python -m tests.moderation_eval`` (``-v`` lists every miss); tests/test_moderation_eval.py
runs the same in-process and asserts the targets.

Risk signals (``risk.tsv``: gold labels, language, message; ``conversations.jsonl``: a visitor's
messages and the gold labels of the conversation): per label, precision = TP / (TP + FP) and
recall = TP / (TP + FN), support = TP + FN. Targets: recall >= 0.9 and precision >= 0.75 for
imminent_danger and suicide_risk over the single messages; child_at_risk and the conversations are
reported against the same figures but not enforced.

Scrubbing (``scrub.tsv``: one message a line, identifiers marked ``⟦...⟧``): the message without
the markers is scrubbed and aligned with the output by ``difflib.SequenceMatcher`` (no junk
heuristic). A character of the input is *kept* when it lies in a matching block: it appears
verbatim, in place, in the output.

- identifier leakage = kept non-space characters inside marked spans / all non-space characters
  inside marked spans, counting only matching blocks of at least three characters (a letter or two
  of a placeholder such as ``[adress]`` can align with the identifier by chance, "ss" in
  "Sysslomansgatan"; a real leak such as a surviving "45 67" is longer). Target <= 2 %.
- clean text changed = characters outside the marked spans that are not kept / all characters
  outside the marked spans (any block length). Target <= 1 %.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from moderation import LABELS, assess, assess_conversation, scrub

HERE = Path(__file__).resolve().parent
OPEN, CLOSE = "⟦", "⟧"
ENFORCED = ("imminent_danger", "suicide_risk")
MIN_RECALL = 0.9
MIN_PRECISION = 0.75
MAX_LEAKAGE = 0.02
MAX_CLEAN_CHANGED = 0.01


@dataclass(frozen=True)
class Example:
    """A labelled message (one text) or conversation (several)."""

    texts: tuple[str, ...]
    gold: frozenset[str]
    lang: str


@dataclass
class LabelCounts:
    """Confusion counts of one label."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def support(self) -> int:
        return self.tp + self.fn


@dataclass
class RiskResult:
    """Counts per label, and the examples that went wrong (text, gold, predicted)."""

    counts: dict[str, LabelCounts]
    misses: list[tuple[Example, frozenset[str]]] = field(default_factory=list)


@dataclass(frozen=True)
class ScrubResult:
    """Scrub figures over scrub.tsv, and the lines that leaked or changed clean text."""

    identifier_chars: int
    leaked_chars: int
    clean_chars: int
    changed_chars: int
    problems: tuple[tuple[str, str], ...]

    @property
    def leakage(self) -> float:
        return self.leaked_chars / self.identifier_chars if self.identifier_chars else 0.0

    @property
    def clean_changed(self) -> float:
        return self.changed_chars / self.clean_chars if self.clean_chars else 0.0


def _lines(name: str) -> list[str]:
    text = (HERE / name).read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


def load_messages() -> list[Example]:
    examples = []
    for line in _lines("risk.tsv"):
        labels, lang, text = line.split("\t")
        gold = frozenset() if labels == "-" else frozenset(labels.split(","))
        if not gold <= set(LABELS):
            raise ValueError(f"unknown label in risk.tsv: {line!r}")
        examples.append(Example((text,), gold, lang))
    return examples


def load_conversations() -> list[Example]:
    examples = []
    for line in _lines("conversations.jsonl"):
        item = json.loads(line)
        examples.append(Example(tuple(item["messages"]), frozenset(item["labels"]), "mixed"))
    return examples


def evaluate_risk(examples: Sequence[Example]) -> RiskResult:
    result = RiskResult({label: LabelCounts() for label in LABELS})
    for example in examples:
        if len(example.texts) == 1:
            predicted = frozenset(assess(example.texts[0]).labels)
        else:
            predicted = frozenset(assess_conversation(example.texts).labels)
        for label in LABELS:
            counts = result.counts[label]
            if label in example.gold:
                if label in predicted:
                    counts.tp += 1
                else:
                    counts.fn += 1
            elif label in predicted:
                counts.fp += 1
            else:
                counts.tn += 1
        if predicted != example.gold:
            result.misses.append((example, predicted))
    return result


def _unmark(line: str) -> tuple[str, list[tuple[int, int]]]:
    """The message without markers and the (start, end) of each marked span in it."""
    text: list[str] = []
    spans = []
    position = 0
    start = -1
    for ch in line:
        if ch == OPEN:
            start = position
        elif ch == CLOSE:
            spans.append((start, position))
        else:
            text.append(ch)
            position += 1
    return "".join(text), spans


def evaluate_scrub() -> ScrubResult:
    identifier = leaked = clean = changed = 0
    problems = []
    for line in _lines("scrub.tsv"):
        text, spans = _unmark(line)
        output = scrub(text)
        matcher = difflib.SequenceMatcher(None, text, output, autojunk=False)
        kept_any = [False] * len(text)
        kept_long = [False] * len(text)
        for block in matcher.get_matching_blocks():
            for i in range(block.a, block.a + block.size):
                kept_any[i] = True
                kept_long[i] = block.size >= 3
        inside = [False] * len(text)
        for start, end in spans:
            for i in range(start, end):
                inside[i] = True
        line_leaked = line_changed = 0
        for i, ch in enumerate(text):
            if inside[i]:
                if not ch.isspace():
                    identifier += 1
                    line_leaked += kept_long[i]
            else:
                clean += 1
                line_changed += not kept_any[i]
        leaked += line_leaked
        changed += line_changed
        if line_leaked or line_changed:
            problems.append((line, output))
    return ScrubResult(identifier, leaked, clean, changed, tuple(problems))


def failures(messages: RiskResult, scrubbed: ScrubResult) -> list[str]:
    """The targets missed, as sentences (empty when all are met)."""
    missed = []
    for label in ENFORCED:
        counts = messages.counts[label]
        if counts.recall < MIN_RECALL:
            missed.append(f"{label} recall {counts.recall:.3f} < {MIN_RECALL}")
        if counts.precision < MIN_PRECISION:
            missed.append(f"{label} precision {counts.precision:.3f} < {MIN_PRECISION}")
    if scrubbed.leakage > MAX_LEAKAGE:
        missed.append(f"identifier leakage {scrubbed.leakage:.2%} > {MAX_LEAKAGE:.0%}")
    if scrubbed.clean_changed > MAX_CLEAN_CHANGED:
        missed.append(f"clean text changed {scrubbed.clean_changed:.2%} > {MAX_CLEAN_CHANGED:.0%}")
    return missed


def _table(title: str, result: RiskResult) -> list[str]:
    header = f"  {'label':<17}{'precision':>10}{'recall':>8}{'support':>9}"
    rows = [title, header + "".join(f"{name:>5}" for name in ("TP", "FP", "FN", "TN"))]
    for label in LABELS:
        c = result.counts[label]
        target = "" if label in ENFORCED else "  (not enforced)"
        rows.append(f"  {label:<17}{c.precision:>10.3f}{c.recall:>8.3f}{c.support:>9}"
                    f"{c.tp:>5}{c.fp:>5}{c.fn:>5}{c.tn:>5}{target}")
    return rows


def main(argv: Sequence[str] = ()) -> int:
    """Print the evaluation; 1 when a target is missed, else 0."""
    verbose = "-v" in argv or "--verbose" in argv
    messages = load_messages()
    conversations = load_conversations()
    message_result = evaluate_risk(messages)
    conversation_result = evaluate_risk(conversations)
    scrubbed = evaluate_scrub()
    out = _table(f"Risk signals: {len(messages)} messages "
                 f"(targets: precision >= {MIN_PRECISION}, recall >= {MIN_RECALL})", message_result)
    out += _table(f"Risk signals: {len(conversations)} conversations (assess_conversation)",
                  conversation_result)
    out.append(f"Scrubbing: {len(_lines('scrub.tsv'))} messages")
    out.append(f"  identifier leakage   {scrubbed.leakage:7.2%}  ({scrubbed.leaked_chars} of "
               f"{scrubbed.identifier_chars} identifier characters kept; target <= {MAX_LEAKAGE:.0%})")
    out.append(f"  clean text changed  {scrubbed.clean_changed:7.2%}  ({scrubbed.changed_chars} of "
               f"{scrubbed.clean_chars} other characters changed; target <= {MAX_CLEAN_CHANGED:.0%})")
    if verbose:
        out.append("Risk misses (gold -> predicted):")
        for example, predicted in message_result.misses + conversation_result.misses:
            out.append(f"  {sorted(example.gold)} -> {sorted(predicted)}: {' | '.join(example.texts)}")
        out.append("Scrub problems (marked input -> output):")
        out += [f"  {line}\n    -> {output}" for line, output in scrubbed.problems]
    missed = failures(message_result, scrubbed)
    out.append("All targets met." if not missed else "Targets missed: " + "; ".join(missed))
    print("\n".join(out))
    return 1 if missed else 0
