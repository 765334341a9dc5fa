"""Supervisors' statistics: the figures of a week, month, half-year or year as suppressed tables with
server-drawn charts, CSV and JSON exports of exactly those tables, and a printable report.

Every view is built from the same suppressed tables, so nothing shown anywhere can be subtracted
from another figure of the same period to reveal a count below five. Exports are audited.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from app.services import Services
from app.staff import access
from app.staff.layout import staff_page
from app.staff.sessions import StaffSession
from app.stats import figures, periods
from app.stats.charts import bar_chart
from app.stats.periods import Period
from app.stats.suppression import Table, shown, suppress
from app.visitor.pages import language

PATH = "/staff/statistics"
EXPORTS = ("csv", "json")
REPORT_KINDS = ("half", "year")
"""The committee gets a report per half-year and per year."""


def chosen_period(request: Request, services: Services) -> Period:
    """The period asked for (?period=2026-11), else the current one of ?kind= (a month by default)."""
    asked = periods.parse(request.query_params.get("period", ""))
    if asked is not None:
        return asked
    kind = request.query_params.get("kind", "month")
    return periods.containing(kind if kind in periods.KINDS else "month", services.now().date())


async def suppressed_tables(
    services: Services, period: Period
) -> tuple[list[tuple[Table, list[list[int | None]]]], float]:
    """The period's tables, each with its suppressed cells, and the staffed hours."""
    totals = await services.counters.totals(period.first, period.last)
    referrals = [(r.code, r.name) for r in await services.referrals.all()]
    return [(table, suppress(table)) for table in figures.tables(totals, referrals)], figures.staffed_hours(
        totals
    )


def translated(services: Services, lang: str, table: Table, cells: list[list[int | None]]) -> dict[str, Any]:
    """A table as the pages and exports show it: labels in the reader's language, "<5" for suppressed."""
    text = services.text
    return {
        "title": text(lang, table.title),
        "columns": [text(lang, label) for label in table.col_labels],
        "rows": [
            {"label": text(lang, label), "cells": [shown(value) for value in row]}
            for label, row in zip(table.row_labels, cells, strict=True)
        ],
    }


def chart(services: Services, lang: str, table: Table, cells: list[list[int | None]]) -> Any:
    """A bar chart of the table's first column, without its total row."""
    rows = list(zip(table.row_labels, cells, strict=True))
    if table.row_total:
        rows = rows[:-1]
    return bar_chart(
        services.text(lang, table.title),
        [services.text(lang, label) for label, _ in rows],
        [row[0] for _, row in rows],
    )


@dataclass(frozen=True)
class Figures:
    """A period's suppressed tables, shown in the reader's language, and its staffed hours."""

    services: Services
    lang: str
    period: Period
    found: list[tuple[Table, list[list[int | None]]]]
    hours: float

    def shown(self) -> list[dict[str, Any]]:
        return [translated(self.services, self.lang, table, cells) for table, cells in self.found]

    def with_charts(self) -> list[tuple[dict[str, Any], Any]]:
        return [(translated(self.services, self.lang, t, c), chart(self.services, self.lang, t, c))
                for t, c in self.found]


async def figures_for(request: Request) -> Figures:
    """The figures of the period the request asks for."""
    services: Services = request.app.state.services
    period = chosen_period(request, services)
    found, hours = await suppressed_tables(services, period)
    return Figures(services, language(request), period, found, hours)


@access.staff_endpoint(access.STATS_READ)
async def dashboard(request: Request, session: StaffSession) -> Response:
    stats = await figures_for(request)
    period = stats.period
    return staff_page(
        request, session, "staff/statistics.html", period=period, kinds=periods.KINDS,
        earlier=periods.before(period), later=periods.after(period), hours=stats.hours,
        tables=stats.with_charts(), report=period.kind in REPORT_KINDS,
    )


@access.staff_endpoint(access.STATS_READ)
async def export(request: Request, session: StaffSession) -> Response:
    """The same suppressed tables as CSV (one line per cell) or JSON."""
    kind = request.path_params["format"]
    if kind not in EXPORTS:
        return PlainTextResponse("Not found", status_code=404)
    stats = await figures_for(request)
    period, shown_tables = stats.period, stats.shown()
    await stats.services.audit.record(session.username, session.role, "stats_export", target=period.code,
                                      other=kind)
    disposition = {"Content-Disposition": f'attachment; filename="nexus-statistics-{period.code}.{kind}"'}
    if kind == "json":
        return JSONResponse({"period": period.code, "first": period.first.isoformat(),
                             "last": period.last.isoformat(), "staffed_hours": stats.hours,
                             "tables": shown_tables}, headers=disposition)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["period", "table", "row", "column", "value"])
    for table in shown_tables:
        for row in table["rows"]:
            for column, value in zip(table["columns"], row["cells"], strict=True):
                writer.writerow([period.code, table["title"], row["label"], column, value])
    return PlainTextResponse(buffer.getvalue(), media_type="text/csv; charset=utf-8", headers=disposition)


@access.staff_endpoint(access.STATS_READ)
async def report(request: Request, session: StaffSession) -> Response:
    """The printable half-year or year report for the committee, with a note on method."""
    stats = await figures_for(request)
    if stats.period.kind not in REPORT_KINDS:
        return PlainTextResponse("A report covers a half-year or a year.", status_code=400)
    return staff_page(request, session, "staff/statistics_report.html", period=stats.period,
                      hours=stats.hours, tables=stats.with_charts())


routes = [
    Route(PATH, dashboard, methods=["GET"]),
    Route(PATH + "/export.{format:str}", export, methods=["GET"]),
    Route(PATH + "/report", report, methods=["GET"]),
]
