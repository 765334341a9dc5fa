"""The log review page: supervisors filter the audit log and export it as CSV; looking is itself logged."""

from __future__ import annotations

import csv
import io
import secrets
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import redis.asyncio as aioredis

from app.audit import ACTIONS, Audit
from app.config import load_settings
from app.keys import Keys
from app.staff.audit_page import ACTION_LABELS, PAGE_SIZE
from tests.clients import staff_http
from tests.redis_scan import audit_log

pytestmark = pytest.mark.anyio

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def today() -> str:
    return datetime.now(STOCKHOLM).date().isoformat()


@pytest.fixture
async def log_of(redis_url):
    """Writes to a server's audit log through the real Audit class."""
    clients = []

    def open_log(prefix: str) -> Audit:
        client = aioredis.Redis.from_url(redis_url, decode_responses=True)
        clients.append(client)
        return Audit(client, Keys.from_settings(load_settings({"KEY_PREFIX": prefix})), retention_days=1095)

    yield open_log
    for client in clients:
        await client.aclose()


def rows_of(export: str) -> list[dict[str, str]]:
    assert export.startswith("\ufeff"), "a byte order mark, for spreadsheet programs"
    return list(csv.DictReader(io.StringIO(export.removeprefix("\ufeff"))))


async def a_hand_over(log: Audit, taken: str, handed: str) -> None:
    """Anna takes a chat and hands another to Bo, who ends a third."""
    await log.record("anna", "counselor", "take", target=taken)
    await log.record("anna", "counselor", "transfer", target=handed, other="bo")
    await log.record("bo", "counselor", "end", target="conv-9")


async def test_filters_by_person_action_and_period(server, log_of, redis_url):
    await a_hand_over(log_of(server.env["KEY_PREFIX"]), "conv-1", "conv-1")
    async with staff_http(server) as (http, supervisor, _):
        page = await http.get("/staff/audit", params={"person": "Anna"})
        assert page.status_code == 200
        assert "Visar 1–2 av 2 händelser, nyaste först." in page.text
        assert "<td>Lämnade över en chatt</td>" in page.text and "till bo" in page.text
        assert page.text.index("<td>Lämnade över en chatt</td>") < page.text.index("<td>Tog en chatt</td>"), \
            "newest first"
        assert "<td>conv-1</td>" in page.text and "<td>Avslutade en chatt</td>" not in page.text

        page = await http.get("/staff/audit", params={"action": "end"})
        assert "Visar 1–1 av 1 händelser" in page.text and "<td>Avslutade en chatt</td>" in page.text

        tomorrow = (datetime.now(STOCKHOLM).date() + timedelta(days=1)).isoformat()
        page = await http.get("/staff/audit", params={"from": tomorrow, "to": tomorrow})
        assert "Inga händelser matchar." in page.text
    views = [e for e in audit_log(redis_url, server.env["KEY_PREFIX"]) if e["action"] == "audit_view"]
    month = f"{datetime.now(STOCKHOLM).date() - timedelta(days=30)}/{today()}"  # the default period
    assert [(e["actor"], e["role"], e.get("target", ""), e["other"]) for e in views] == [
        (supervisor, "supervisor", "anna", f"all:{month}"),
        (supervisor, "supervisor", "", f"end:{month}"),
        (supervisor, "supervisor", "", f"all:{tomorrow}/{tomorrow}"),
    ]


@pytest.mark.parametrize(("params", "says"), [
    ({"person": "han har en kniv"}, "Det är inget användarnamn."),
    ({"action": "peek"}, "Välj en händelse i listan."),
    ({"from": "24/12"}, "Skriv datumen som 2026-12-24."),
    ({"from": "2026-12-02", "to": "2026-12-01"}, "Perioden slutar innan den börjar."),
])
async def test_wrong_filters_are_explained_and_not_logged(server, redis_url, params, says):
    async with staff_http(server) as (http, _, _):
        page = await http.get("/staff/audit", params=params)
        export = await http.get("/staff/audit.csv", params=params)
    assert page.status_code == 400 and says in page.text
    assert export.status_code == 400 and says in export.text
    actions = {e["action"] for e in audit_log(redis_url, server.env["KEY_PREFIX"])}
    assert not actions & {"audit_view", "audit_export"}
    assert "han har en kniv" not in repr(audit_log(redis_url, server.env["KEY_PREFIX"]))


async def test_a_long_log_is_paged(server, log_of):
    log = log_of(server.env["KEY_PREFIX"])
    for n in range(PAGE_SIZE + 5):
        await log.record("anna", "counselor", "take", target=f"conv-{n}")
    async with staff_http(server) as (http, _, _):
        first = await http.get("/staff/audit", params={"person": "anna"})
        assert f"Visar 1–{PAGE_SIZE} av {PAGE_SIZE + 5} händelser" in first.text
        assert f">conv-{PAGE_SIZE + 4}<" in first.text and ">conv-4<" not in first.text
        assert "page=2" in first.text
        second = await http.get("/staff/audit", params={"person": "anna", "page": "2"})
        assert f"Visar {PAGE_SIZE + 1}–{PAGE_SIZE + 5} av {PAGE_SIZE + 5} händelser" in second.text
        assert ">conv-4<" in second.text and ">conv-0<" in second.text


async def test_csv_export_holds_the_filtered_entries_safely(server, log_of, redis_url):
    await a_hand_over(log_of(server.env["KEY_PREFIX"]), "@SUM", "-2")
    async with staff_http(server) as (http, supervisor, _):
        export = await http.get("/staff/audit.csv", params={"person": "anna"})
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("text/csv")
    assert export.headers["content-disposition"].startswith('attachment; filename="audit-')
    rows = rows_of(export.text)
    assert [(r["person"], r["role"], r["action"], r["object"], r["other"]) for r in rows] == [
        ("anna", "counselor", "transfer", "'-2", "bo"),  # a leading - or @ would run as a formula
        ("anna", "counselor", "take", "'@SUM", ""),
    ]
    assert all(datetime.fromisoformat(r["time"]).utcoffset() in (timedelta(hours=1), timedelta(hours=2))
               for r in rows)
    [exported] = [e for e in audit_log(redis_url, server.env["KEY_PREFIX"]) if e["action"] == "audit_export"]
    assert (exported["actor"], exported["target"]) == (supervisor, "anna")


async def test_times_are_local_also_in_the_repeated_autumn_hour(start_server, redis_url, log_of):
    prefix = f"t{secrets.token_hex(4)}:"
    log = log_of(prefix)
    # 2025-10-26 01:30 UTC is 02:30 CET, the second time the clock showed 02:30 that night.
    moment = int(datetime(2025, 10, 26, 1, 30, tzinfo=ZoneInfo("UTC")).timestamp() * 1000)
    await log.redis.xadd(log.key, {"actor": "anna", "role": "counselor", "action": "take", "target": "c1"},
                         id=f"{moment}-0")
    server = start_server(KEY_PREFIX=prefix)
    async with staff_http(server) as (http, _, _):
        params = {"from": "2025-10-26", "to": "2025-10-26"}
        page = await http.get("/staff/audit", params=params)
        export = await http.get("/staff/audit.csv", params=params)
    assert "2025-10-26 02:30:00" in page.text
    assert [r["time"] for r in rows_of(export.text)] == ["2025-10-26T02:30:00+01:00"]


@pytest.mark.parametrize("role", ["counselor", "admin"])
async def test_only_supervisors_review_the_log(server, role):
    async with staff_http(server, role=role) as (http, _, _):
        assert (await http.get("/staff/audit")).status_code == 403
        assert (await http.get("/staff/audit.csv")).status_code == 403
        assert 'href="/staff/audit"' not in (await http.get("/staff")).text
    async with staff_http(server) as (http, _, _):
        assert 'href="/staff/audit"' in (await http.get("/staff")).text


def test_every_action_has_plain_words():
    assert set(ACTION_LABELS) == ACTIONS
