"""The benchmark (loadtests/bench_chat.py) briefly, app and baseline relay alike: it must run and see
nothing lost, duplicated or refused. A smoke test: it asserts counts, never timings."""

from __future__ import annotations

import re
import subprocess
import sys

from loadtests.bench_chat import Row, median_row
from tests.servers import ROOT

VISITORS = 50
HARD_TIMEOUT = 240


def test_the_benchmark_runs_both_systems_without_losing_a_message() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "loadtests.bench_chat", "--visitors", str(VISITORS), "--seconds", "20",
         "--interval", "2", "--servers", "2", "--check"],
        cwd=ROOT, capture_output=True, text=True, timeout=HARD_TIMEOUT,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    rows = {}
    for line in result.stdout.splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if len(cells) == 13 and cells[0] in ("app", "baseline"):
            rows[cells[0]] = cells
    assert set(rows) == {"app", "baseline"}, result.stdout
    for system, (_, visitors, _, _, _, rate, lost, dup, errors, *_rest) in rows.items():
        assert int(visitors) == VISITORS
        assert (lost, dup, errors) == ("0", "0", "0"), (system, result.stdout)
        # Each side of each chat sends a message every 2 s: all of them arrived.
        assert float(rate) > VISITORS * 2 / 2 * 0.8, (system, result.stdout)
    assert re.search(r"\| 50 \| [\d.]+x \| [\d.]+x \| [\d.]+x \|", result.stdout), result.stdout


def test_several_runs_are_reported_as_medians_and_whatever_went_wrong_in_any_of_them() -> None:
    runs = [Row("app", 100, 1.0, p50, p99, 13.0, 780, lost, 0, 0, 2.0, 70.0, 30.0)
            for p50, p99, lost in ((1.0, 3.0, 0), (2.0, 9.0, 1), (1.5, 4.0, 0))]
    row = median_row(runs)
    assert (row.p50, row.p99, row.p99_range) == (1.5, 4.0, (3.0, 9.0))
    assert (row.sent, row.lost) == (3 * 780, 1)  # one run lost a message: the figures say so
