"""The README documents every setting, and CI runs the README's own test command."""

import re
from pathlib import Path

from app.config import declared

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_every_setting_is_in_the_readme_table():
    for setting in declared():
        assert f"| `{setting.metadata['env']}` |" in README, setting.metadata["env"]


def test_ci_runs_the_test_command_the_readme_gives():
    commands = re.findall(r"^    (\./scripts/\w+)$", README, flags=re.MULTILINE)
    assert commands[:2] == ["./scripts/run", "./scripts/test"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert "./scripts/test" in ci.splitlines()[-1]
