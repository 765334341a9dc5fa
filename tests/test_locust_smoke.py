"""The locust load test (loadtests/locustfile.py) against a real server, briefly: it must run
headless, speak the real protocol both ways and see nothing lost, duplicated or refused.
A smoke test, not a benchmark: it asserts counts and failures, never timings."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

from tests.clients import TOTP_SECRETS, add_staff
from tests.conftest import StartServer
from tests.servers import ROOT

VISITORS = 30
COUNSELORS = 6
SECONDS = 20
HARD_TIMEOUT = 180


def test_locust_runs_visitors_and_counselors_without_failures(start_server: StartServer,
                                                              tmp_path: Path) -> None:
    server = start_server(RATE_LIMIT_MESSAGES="1000", QUEUE_MAX="500")
    accounts = [add_staff(server.env, name=f"Locust {i}") for i in range(COUNSELORS)]
    env = {
        **server.env,
        "LOCUST_STAFF": ",".join(f"{user}:{password}:{TOTP_SECRETS[user]}" for user, password in accounts),
        "LOCUST_VISITOR_PAUSE": "1-2",
        "LOCUST_REPLY_PAUSE": "0.2-1",
    }
    prefix = tmp_path / "locust"
    output = tmp_path / "locust.out"
    with output.open("w") as out:
        result = subprocess.run(
            [sys.executable, "-m", "locust", "-f", str(ROOT / "loadtests" / "locustfile.py"),
             "--headless", "-u", str(VISITORS + COUNSELORS), "-r", str(VISITORS + COUNSELORS),
             "-t", f"{SECONDS}s", "--host", server.url, "--csv", str(prefix),
             "--exit-code-on-error", "1", "--only-summary", "--loglevel", "WARNING"],
            cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=HARD_TIMEOUT,
        )
    log = output.read_text(errors="replace")
    assert result.returncode == 0, log[-5000:]

    with (tmp_path / "locust_stats.csv").open() as f:
        rows = {(row["Type"], row["Name"]): row for row in csv.DictReader(f)}
    failures = {name: row["Failure Count"] for name, row in rows.items() if int(row["Failure Count"])}
    assert not failures, (failures, (tmp_path / "locust_failures.csv").read_text())

    def count(name: str) -> int:
        return int(rows[("ws", name)]["Request Count"]) if ("ws", name) in rows else 0

    # Every socket opened and every counselor logged in (one account each).
    assert count("counselor socket opened") == COUNSELORS
    assert count("visitor socket opened") >= VISITORS
    assert int(rows[("POST", "/staff/login/code")]["Request Count"]) == COUNSELORS
    # Chats were taken, visitors' messages acknowledged (an unacknowledged one is a failure,
    # checked above) and reached the counselors, and the counselors' replies reached the visitors.
    assert count("visitor chat taken") >= VISITORS
    assert count("visitor message acked") >= VISITORS
    assert count("visitor message delivered") >= 1
    assert count("counselor reply acked") >= 1
    assert count("counselor reply delivered") >= 1
