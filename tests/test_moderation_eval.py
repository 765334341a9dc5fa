"""The moderation evaluation (tests/moderation_eval) meets its targets: the CI pass line."""

from __future__ import annotations

from tests.moderation_eval import (
    ENFORCED,
    MAX_CLEAN_CHANGED,
    MAX_LEAKAGE,
    MIN_PRECISION,
    MIN_RECALL,
    evaluate_risk,
    evaluate_scrub,
    failures,
    load_conversations,
    load_messages,
    main,
)


def test_the_labelled_sets_are_as_large_as_promised():
    messages = load_messages()
    assert len(messages) >= 320
    support = {label: sum(label in m.gold for m in messages) for label in ("imminent_danger", "suicide_risk")}
    assert min(support.values()) >= 60
    assert sum("child_at_risk" in m.gold for m in messages) >= 40
    assert sum(not m.gold for m in messages) >= 120  # hard negatives
    assert {m.lang for m in messages} >= {"sv", "en", "ar", "fa", "so"}


def test_risk_targets_are_met():
    result = evaluate_risk(load_messages())
    for label in ENFORCED:
        counts = result.counts[label]
        assert counts.recall >= MIN_RECALL, (label, counts, result.misses)
        assert counts.precision >= MIN_PRECISION, (label, counts, result.misses)


def test_conversations_are_scored_together():
    result = evaluate_risk(load_conversations())
    for counts in result.counts.values():
        assert counts.recall >= MIN_RECALL and counts.precision >= MIN_PRECISION, result.misses


def test_scrub_targets_are_met():
    result = evaluate_scrub()
    assert result.identifier_chars > 1000
    assert result.leakage <= MAX_LEAKAGE, result.problems
    assert result.clean_changed <= MAX_CLEAN_CHANGED, result.problems


def test_the_script_reports_success(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "identifier leakage" in out and "All targets met." in out
    assert failures(evaluate_risk(load_messages()), evaluate_scrub()) == []
