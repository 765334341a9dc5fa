"""Small-count suppression of a statistics table (pure): which cells may be shown and which read "<5".

What it protects against. A reader who sees one table, or any export made from the same
suppressed table (the page, a CSV, a printout: all of them must be made from `suppress`'s
result, never from the raw counts), cannot work out any count below `SUPPRESS_BELOW`:

- primary suppression hides every cell below 5, zeros and totals included (a zero says
  "nobody", which is as telling as "one person");
- complementary suppression makes sure no hidden cell can be computed back by subtracting
  the visible cells of a row or column from its total, nor by adding and subtracting several
  rows and columns (for example the sum of two rows minus the sum of two columns). In the
  language of the method: the hidden cells of every row and column come at least two at a
  time, and every hidden cell lies on a closed cycle of hidden cells, so each one could be
  larger or smaller by the same amount the cycle moves the others and the totals still add up.

A row or column whose total is not in the table is protected as if its total were published
elsewhere (the dashboard shows headline totals next to its breakdowns), except a line with a
single cell, whose sum is the cell itself. Totals are only hidden when no inner cell of that
line can be: the smallest inner cells go first.

What it does NOT protect against: comparing different tables or different periods. The counts
of 1-7 March and of 1-8 March, each suppressed on its own, differ by what happened on 8 March,
small or not; two tables that share cells (one split by language, one by language and waiting
time) can be combined. Choose periods and tables that do not overlap when publishing outside
the service, or check them together. Complementary cells are shown as "<5" like primary ones,
so that the reader cannot tell which hidden cells are the small ones; such a cell may be larger.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

SUPPRESS_BELOW = 5
THIN_SPACE = "\u202f"
"""Narrow no-break space: Swedish groups thousands with a thin space that never breaks a number."""


@dataclass(frozen=True)
class Table:
    """A table of counts; the last row may be the column totals and the last column the row totals."""

    title: str
    row_labels: list[str]
    col_labels: list[str]
    cells: list[list[int]]
    row_total: bool = False
    """The last row holds the column totals."""
    col_total: bool = False
    """The last column holds the row totals."""

    def __post_init__(self) -> None:
        if len(self.cells) != len(self.row_labels) or any(len(r) != len(self.col_labels) for r in self.cells):
            raise ValueError("cells must have one row per row label and one column per column label")
        if any(n < 0 for row in self.cells for n in row):
            raise ValueError("counts are never negative")
        if (self.row_total and not self.cells) or (self.col_total and not self.col_labels):
            raise ValueError("a totals line needs a line to hold it")


Cell = tuple[int, int]
Node = tuple[str, int]
"""A line whose sum is known, ("row", i) or ("col", j), or FREE for the lines whose sum is not."""
FREE: Node = ("free", 0)


def shown(value: int | None) -> str:
    """How a suppressed count reads: "<5" for a hidden cell, else the number as Swedish writes it."""
    if value is None:
        return f"<{SUPPRESS_BELOW}"
    return f"{value:,}".replace(",", THIN_SPACE)


def suppress(table: Table) -> list[list[int | None]]:
    """The table's cells with None where a count must read "<5" (primary and complementary)."""
    layout = _Layout(table)
    hidden = {(i, j) for i, row in enumerate(table.cells) for j, n in enumerate(row) if n < SUPPRESS_BELOW}
    _complete_lines(layout, hidden)
    # A cell can still be worked out from sums of several lines when it is a bridge of the
    # graph of hidden cells (lines as nodes): close a cycle through each bridge until none is left.
    while (bridge := _find_bridge(layout, hidden)) is not None:
        hidden.update(_cheapest_cycle(layout, hidden, bridge))
    return [[None if (i, j) in hidden else n for j, n in enumerate(row)] for i, row in enumerate(table.cells)]


class _Layout:
    """Which lines of a table have a known sum, and what hiding each cell costs."""

    def __init__(self, table: Table) -> None:
        self.cells = table.cells
        self.rows = len(table.cells)
        self.cols = len(table.col_labels)
        inner_rows = self.rows - table.row_total
        inner_cols = self.cols - table.col_total
        # A row's sum is known when the table shows it, or (we assume) when it is published
        # elsewhere; a line of one cell has no sum apart from the cell itself.
        self.rows_summed = table.col_total or inner_cols >= 2
        self.cols_summed = table.row_total or inner_rows >= 2
        self.total_row = self.rows - 1 if table.row_total else None
        self.total_col = self.cols - 1 if table.col_total else None

    def ends(self, cell: Cell) -> tuple[Node, Node]:
        """The two lines a cell is counted in: an edge of the graph whose nodes are lines."""
        i, j = cell
        return (("row", i) if self.rows_summed else FREE), (("col", j) if self.cols_summed else FREE)

    def cost(self, cell: Cell) -> tuple[int, int]:
        """What hiding a cell costs: totals only when no inner cell can do, then the smallest count."""
        i, j = cell
        return (i == self.total_row) + (j == self.total_col), self.cells[i][j]

    def lines(self) -> list[list[Cell]]:
        """Every row and column with a known sum, as the cells it adds up (total included)."""
        found = []
        if self.rows_summed:
            found += [[(i, j) for j in range(self.cols)] for i in range(self.rows)]
        if self.cols_summed:
            found += [[(i, j) for i in range(self.rows)] for j in range(self.cols)]
        return [line for line in found if len(line) >= 2]

    def all_cells(self) -> list[Cell]:
        return [(i, j) for i in range(self.rows) for j in range(self.cols)]


def _complete_lines(layout: _Layout, hidden: set[Cell]) -> None:
    """Until stable: a line with exactly one hidden cell also hides its cheapest other cell."""
    lines = layout.lines()
    changed = True
    while changed:
        changed = False
        for line in lines:
            if sum(cell in hidden for cell in line) != 1:
                continue
            hidden.add(min((c for c in line if c not in hidden),
                           key=lambda c: (*layout.cost(c), not _crosses_hidden(layout, hidden, c), c)))
            changed = True


def _crosses_hidden(layout: _Layout, hidden: set[Cell], cell: Cell) -> bool:
    """Whether the cell's other lines already hide a cell: hiding it then closes a pair, not a new gap."""
    i, j = cell
    in_row = any((i, k) in hidden for k in range(layout.cols))
    return in_row and any((k, j) in hidden for k in range(layout.rows))


def _find_bridge(layout: _Layout, hidden: set[Cell]) -> Cell | None:
    """A hidden cell on no cycle of hidden cells (it alone could be solved for), or None."""
    edges = sorted(hidden)
    for cell in edges:
        start, goal = layout.ends(cell)
        if start == goal:
            continue  # counted in no known sum at all: nothing to solve it from
        if not _connected(layout, [e for e in edges if e != cell], start, goal):
            return cell
    return None


def _connected(layout: _Layout, edges: list[Cell], start: Node, goal: Node) -> bool:
    neighbours: dict[Node, list[Node]] = {}
    for edge in edges:
        a, b = layout.ends(edge)
        neighbours.setdefault(a, []).append(b)
        neighbours.setdefault(b, []).append(a)
    seen, todo = {start}, [start]
    while todo:
        for nxt in neighbours.get(todo.pop(), []):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return goal in seen


def _cheapest_cycle(layout: _Layout, hidden: set[Cell], bridge: Cell) -> list[Cell]:
    """The cells to hide so that a cycle runs through the bridge: the cheapest path between its ends."""
    start, goal = layout.ends(bridge)
    # Dijkstra over lines; hidden cells are free, others cost (totals used, sum of counts, cells).
    best: dict[Node, tuple[int, int, int]] = {start: (0, 0, 0)}
    via: dict[Node, tuple[Node, Cell]] = {}
    queue: list[tuple[tuple[int, int, int], Node]] = [((0, 0, 0), start)]
    edges = [c for c in layout.all_cells() if c != bridge]
    while queue:
        cost, node = heapq.heappop(queue)
        if node == goal:
            break
        if cost > best[node]:
            continue
        for cell in edges:
            a, b = layout.ends(cell)
            if node not in (a, b):
                continue
            other = b if node == a else a
            totals, count = (0, 0) if cell in hidden else layout.cost(cell)
            step = (cost[0] + totals, cost[1] + count, cost[2] + (cell not in hidden))
            if other not in best or step < best[other]:
                best[other], via[other] = step, (node, cell)
                heapq.heappush(queue, (step, other))
    if goal not in via:
        raise RuntimeError("a line with a known sum always has a second cell to close a cycle with")
    path, node = [], goal
    while node != start:
        node, cell = via[node]
        path.append(cell)
    return [cell for cell in path if cell not in hidden]
