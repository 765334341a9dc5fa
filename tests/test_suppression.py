"""Small-count suppression (pure): primary and complementary cells, and no hidden count can be worked out."""

import random
from fractions import Fraction

import pytest

from app.stats.suppression import SUPPRESS_BELOW, Table, shown, suppress

Shown = list[list[int | None]]


def table(cells: list[list[int]], row_total: bool = False, col_total: bool = False) -> Table:
    return Table("t", [f"r{i}" for i in range(len(cells))], [f"c{j}" for j in range(len(cells[0]))], cells,
                 row_total=row_total, col_total=col_total)


def with_totals(inner: list[list[int]], row_total: bool, col_total: bool) -> Table:
    """A table of inner counts with the totals it asks for appended (the grand total too when both)."""
    cells = [[*row, sum(row)] if col_total else list(row) for row in inner]
    if row_total:
        cells.append([sum(column) for column in zip(*cells, strict=True)])
    return table(cells, row_total, col_total)


def summed_lines(t: Table) -> list[tuple[list[tuple[int, int]], tuple[int, int] | None]]:
    """Each row and column whose sum a reader knows: its cells, and the cell holding its total if shown.

    A line with no total in the table counts as summed anyway when it has two cells or more (its
    total may be published elsewhere); a single cell with no total is a sum of nothing else.
    """
    rows, cols = len(t.cells), len(t.col_labels)
    lines: list[tuple[list[tuple[int, int]], tuple[int, int] | None]] = []
    if t.col_total or cols >= 2:
        total_col = cols - 1 if t.col_total else None
        lines += [([(i, j) for j in range(cols)], None if total_col is None else (i, total_col))
                  for i in range(rows)]
    if t.row_total or rows >= 2:
        total_row = rows - 1 if t.row_total else None
        lines += [([(i, j) for i in range(rows)], None if total_row is None else (total_row, j))
                  for j in range(cols)]
    return [(cells, total) for cells, total in lines if len(cells) >= 2]


def line_leaks(t: Table, out: Shown) -> list[tuple[int, int]]:
    """Hidden cells that a reader gets by subtracting the visible cells of one line from its total."""
    leaks = []
    for cells, _total in summed_lines(t):
        hidden = [(i, j) for i, j in cells if out[i][j] is None]
        if len(hidden) == 1:
            leaks.append(hidden[0])
    return leaks


def solvable(t: Table, out: Shown) -> set[tuple[int, int]]:
    """Hidden cells with one possible value given every visible number and every known sum together.

    Exact linear algebra over the rationals: a hidden cell is determined when its unit vector lies
    in the row space of the known sums restricted to the hidden cells (a row of the reduced echelon
    form with that cell alone).
    """
    hidden = [(i, j) for i, row in enumerate(out) for j, v in enumerate(row) if v is None]
    index = {cell: k for k, cell in enumerate(hidden)}
    matrix: list[list[Fraction]] = []
    for cells, total in summed_lines(t):
        row = [Fraction(0)] * len(hidden)
        for cell in cells:
            if cell in index:
                row[index[cell]] = Fraction(-1 if cell == total else 1)
        if any(row):
            matrix.append(row)
    lead = 0
    for col in range(len(hidden)):
        pivot = next((r for r in range(lead, len(matrix)) if matrix[r][col]), None)
        if pivot is None:
            continue
        matrix[lead], matrix[pivot] = matrix[pivot], matrix[lead]
        matrix[lead] = [x / matrix[lead][col] for x in matrix[lead]]
        for r in range(len(matrix)):
            if r != lead and matrix[r][col]:
                matrix[r] = [a - matrix[r][col] * b for a, b in zip(matrix[r], matrix[lead], strict=True)]
        lead += 1
    return {hidden[row.index(1)] for row in matrix[:lead] if sum(1 for x in row if x) == 1}


def check(t: Table) -> Shown:
    """Suppress and assert the promises: small cells hidden, others unchanged, nothing solvable."""
    out = suppress(t)
    for row, shown_row in zip(t.cells, out, strict=True):
        for n, v in zip(row, shown_row, strict=True):
            assert v is None or v == n
            if n < SUPPRESS_BELOW:
                assert v is None
    assert line_leaks(t, out) == []
    assert solvable(t, out) == set()
    return out


def test_shown_reads_like_swedish():
    assert shown(None) == "<5"
    assert shown(0) == "0"
    assert shown(999) == "999"
    assert shown(12345) == "12\u202f345"
    assert shown(1234567) == "1\u202f234\u202f567"


def test_no_small_cells_means_nothing_hidden():
    cells = [[5, 6, 11], [7, 8, 15], [12, 14, 26]]
    assert suppress(table(cells, row_total=True, col_total=True)) == cells


def test_naive_differencing_is_what_complementary_suppression_stops():
    # The crafted case: with only the 2 hidden, 72 - 30 - 40 gives it back (and 47 - 25 - 20).
    t = with_totals([[2, 30, 40], [25, 35, 45], [20, 33, 50]], row_total=True, col_total=True)
    primary_only = [[None if n < SUPPRESS_BELOW else n for n in row] for row in t.cells]
    assert line_leaks(t, primary_only) == [(0, 0), (0, 0)]
    assert solvable(t, primary_only) == {(0, 0)}
    out = check(t)
    # The smallest other inner cells go: 30 in its row, 20 in its column, then 33 closes both.
    assert out == [[None, None, 40, 72], [25, 35, 45, 105], [None, None, 50, 103], [47, 98, 135, 280]]


def test_a_total_goes_only_when_no_inner_cell_can():
    out = check(with_totals([[3], [40], [12]], row_total=True, col_total=False))
    assert out == [[None], [40], [None], [55]]
    # One inner column and its row totals: the total is the only other cell of the row.
    out = check(with_totals([[3], [40], [12]], row_total=False, col_total=True))
    assert out[0] == [None, None]
    assert [row[1] for row in out].count(None) >= 2


def test_totals_below_five_are_hidden_with_their_whole_line():
    t = with_totals([[1, 2, 1], [10, 20, 30], [11, 9, 14]], row_total=True, col_total=True)
    out = check(t)
    assert out[0] == [None, None, None, None]
    assert out[-1][-1] == 98


def test_every_count_below_five_is_hidden():
    t = with_totals([[1, 2], [3, 4]], row_total=True, col_total=True)
    # 6 and 7 go as complements; the grand total alone reveals nothing.
    assert check(t) == [[None, None, None], [None, None, None], [None, None, 10]]


def test_zeros_are_hidden_and_protected():
    out = check(table([[0, 12], [15, 20]]))
    assert out[0][0] is None
    out = check(with_totals([[0, 0, 9], [12, 30, 7], [6, 40, 50]], row_total=True, col_total=True))
    assert out[0][0] is None and out[0][1] is None


def test_a_one_by_one_table():
    assert check(table([[3]])) == [[None]]
    assert check(table([[7]])) == [[7]]
    assert check(with_totals([[3]], row_total=True, col_total=True)) == [[None, None], [None, None]]
    assert check(with_totals([[70]], row_total=True, col_total=True)) == [[70, 70], [70, 70]]


def test_one_column_without_totals_still_hides_a_second_cell():
    # Its total (chats started, say) is on the dashboard anyway.
    out = check(table([[40], [2], [17], [9]]))
    assert out == [[40], [None], [17], [None]]


def test_one_row_of_one_cell_per_line_reveals_nothing():
    assert check(table([[2, 50, 70]])) == [[None, None, 70]]


def test_several_lines_together_cannot_reveal_a_cell():
    # Hiding cells line by line alone gives the first answer below: every line hides two cells or
    # none, yet the 1 at (3, 0) is column 0's hidden sum minus rows 1 and 2's plus column 3's,
    # because it joins two closed groups of hidden cells. The bridge pass closes a cycle through it.
    inner = [[20, 2, 10, 50], [3, 50, 50, 2], [10, 40, 40, 30], [1, 1, 10, 50]]
    t = with_totals(inner, row_total=True, col_total=True)
    line_by_line: Shown = [[20, None, None, 50, 82], [None, 50, 50, None, 105], [None, 40, 40, None, 120],
                           [None, None, None, 50, 62], [34, 93, 110, 132, 369]]
    assert line_leaks(t, line_by_line) == []
    assert solvable(t, line_by_line) == {(3, 0)}
    check(t)


@pytest.mark.parametrize("row_total", [False, True])
@pytest.mark.parametrize("col_total", [False, True])
def test_random_tables_never_leak(row_total: bool, col_total: bool):
    rng = random.Random(f"suppression-{row_total}-{col_total}")
    for _ in range(300):
        rows, cols = rng.randint(1, 6), rng.randint(1, 6)
        small = rng.random() * 0.5
        inner = [[rng.randint(0, 4) if rng.random() < small else rng.randint(5, 80) for _ in range(cols)]
                 for _ in range(rows)]
        check(with_totals(inner, row_total, col_total))


def test_table_shape_is_checked():
    with pytest.raises(ValueError):
        Table("t", ["a"], ["x", "y"], [[1]])
    with pytest.raises(ValueError):
        Table("t", ["a"], ["x"], [[-1]])
