"""The supervisors' statistics over real HTTP: suppressed tables, the same figures in every export,
the printable report, and who may see them."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import redis.asyncio as aioredis

from app.config import load_settings
from app.keys import Keys
from app.stats.counters import Counters
from tests.clients import staff_http
from tests.redis_scan import audit_log

pytestmark = pytest.mark.anyio

SEEDED = {
    # Answered 7 and left 3 within a minute: the row total (10) minus the 7 would give the 3 away.
    ("chat.taken", "wait", "0-1m"): 7,
    ("chat.abandoned", "wait", "0-1m"): 3,
    ("chat.taken", "wait", "1-5m"): 20,
    ("chat.abandoned", "wait", "1-5m"): 9,
    ("chat.started", "lang", "sv"): 30,
    ("chat.started", "lang", "ar"): 2,
    ("chat.started", "lang", "en"): 7,
}


async def seed(server) -> None:
    settings = load_settings(server.env)
    client = aioredis.from_url(settings.durable_url, decode_responses=True)
    counters = Counters(client, Keys.from_settings(settings), ZoneInfo(settings.timezone))
    for (metric, dim, value), n in SEEDED.items():
        await counters.add(metric, n, **{dim: value})
    await client.aclose()


def leaks(rows: list[list[str]], row_total: bool, col_total: bool) -> list[str]:
    """Lines (rows or columns, with their total visible) in which exactly one cell is hidden: it could be
    worked out by subtracting the visible cells from the total."""
    found = []
    lines = [("row", row) for row in (rows[:-1] if row_total else rows)]
    lines += [("column", list(column)) for column in zip(*rows, strict=True)]
    for kind, line in lines:
        has_total = (kind == "row" and col_total) or (kind == "column" and row_total)
        if has_total and line[-1] != "<5" and sum(cell == "<5" for cell in line[:-1]) == 1:
            found.append(f"{kind} {line}")
    return found


async def test_small_figures_are_hidden_alike_on_the_page_and_in_every_export(server):
    await seed(server)
    month = datetime.now(ZoneInfo("Europe/Stockholm")).strftime("%Y-%m")
    async with staff_http(server, "supervisor") as (http, username, _):
        page = (await http.get(f"/staff/statistics?period={month}")).text
        exported = (await http.get(f"/staff/statistics/export.json?period={month}")).json()
        lines = list(
            csv.reader(io.StringIO((await http.get(f"/staff/statistics/export.csv?period={month}")).text))
        )
    assert exported["period"] == month
    tables = {table["title"]: table for table in exported["tables"]}
    waiting = tables["Väntan i kön"]
    cells = [row["cells"] for row in waiting["rows"]]
    assert cells[0] == ["<5", "<5", "10"]  # 3 is below five; 7 goes too, or 10 − 7 would tell
    assert cells[1] == ["20", "9", "29"]
    assert leaks(cells, row_total=True, col_total=True) == []
    languages = tables["Påbörjade chattar per språk"]
    shown = {row["label"]: row["cells"][0] for row in languages["rows"]}
    assert shown["Svenska"] == "30" and shown["العربية"] == "<5" and shown["English"] == "7"
    assert leaks([row["cells"] for row in languages["rows"]], row_total=True, col_total=False) == []
    for table in [t for t in exported["tables"] if t["rows"]]:  # no line of any export gives one away
        assert (
            leaks(
                [row["cells"] for row in table["rows"]],
                row_total=table["rows"][-1]["label"] == "Totalt",
                col_total=table["columns"][-1] == "Totalt",
            )
            == []
        ), table["title"]
    csv_cells = {(line[1], line[2], line[3]): line[4] for line in lines[1:]}
    for table in exported["tables"]:
        for row in table["rows"]:
            for column, value in zip(table["columns"], row["cells"], strict=True):
                assert csv_cells[(table["title"], row["label"], column)] == value
    assert (
        "<svg" in page and "&lt;5" in page and ">3<" not in page.split("Väntan i kön")[1].split("</table>")[0]
    )
    exports = [
        e
        for e in audit_log(server.env["REDIS_URL"], server.env["KEY_PREFIX"])
        if e["action"] == "stats_export"
    ]
    assert [(e["actor"], e["target"], e["other"]) for e in exports] == [
        (username, month, "json"),
        (username, month, "csv"),
    ]


async def test_the_committee_report_is_for_half_years_and_years_with_a_method_note(server):
    await seed(server)
    today = datetime.now(ZoneInfo("Europe/Stockholm"))
    half = f"{today.year}-H{1 if today.month <= 6 else 2}"
    async with staff_http(server, "supervisor") as (http, _, _):
        report = await http.get(f"/staff/statistics/report?period={half}")
        monthly = await http.get(f"/staff/statistics/report?period={today:%Y-%m}")
        yearly = await http.get(f"/staff/statistics/report?period={today.year}")
    assert (
        report.status_code == 200 and "Så tas siffrorna fram" in report.text and "data-print" in report.text
    )
    assert yearly.status_code == 200 and monthly.status_code == 400


async def test_only_supervisors_see_statistics(server):
    async with staff_http(server, "counselor") as (http, _, _):
        assert (await http.get("/staff/statistics")).status_code == 403
        assert (await http.get("/staff/statistics/export.csv")).status_code == 403
    async with staff_http(server, "supervisor") as (http, _, _):
        assert (await http.get("/staff/statistics/export.xml")).status_code == 404
        assert (await http.get("/staff/statistics?kind=year")).status_code == 200
