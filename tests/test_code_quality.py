"""The code stays the way the project writes it: ruff's rules and mypy's strict types, checked in CI."""

from __future__ import annotations

import subprocess
import sys

from tests.servers import ROOT


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True,
                          check=False)


def test_ruff_finds_nothing():
    result = run("ruff", "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_finds_nothing():
    result = run("mypy")
    assert result.returncode == 0, result.stdout + result.stderr
