"""The service needs nothing at run time that only the dev extra installs: `./scripts/run` on a fresh
machine installs the runtime dependencies alone."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, packages_distributions, requires
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def distribution(requirement: str) -> str:
    return re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def closure(names: set[str]) -> set[str]:
    """The distributions and everything they require (markers such as extras left out)."""
    found, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name in found:
            continue
        found.add(name)
        try:
            todo += [distribution(r) for r in requires(name) or () if "extra ==" not in r]
        except PackageNotFoundError:
            continue
    return found


def test_every_module_the_service_imports_comes_with_its_runtime_dependencies():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    installed = closure({distribution(r) for r in project["dependencies"]})
    providers = packages_distributions()
    missing = {}
    for path in [*ROOT.glob("app/**/*.py"), *ROOT.glob("moderation/**/*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else []
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top in ("app", "moderation"):
                    continue
                dists = {distribution(d) for d in providers.get(top, [top])}
                if not dists & installed:
                    missing[top] = str(path.relative_to(ROOT))
    assert not missing, f"imported at run time but only installed for development: {missing}"


def test_redis_replies_are_parsed_by_the_c_parser():
    """Without hiredis redis-py parses in pure Python: a quarter of a chat process's CPU under load."""
    from redis.utils import HIREDIS_AVAILABLE

    assert HIREDIS_AVAILABLE
