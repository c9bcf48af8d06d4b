"""Small-cell suppression for published tables: no cell about fewer than 10 households is shown,
and none can be worked out from the totals.

A table is a grid of cells (rows × columns) with a total per row, per column and a grand total.
Every row (its cells and its total) and every column (its cells and its total), the row of
column totals and the column of row totals included, is one sum a reader could subtract from.

- Primary suppression: every cell, total included, that counts fewer than ``threshold``
  households.
- Complementary suppression: while some sum has exactly one suppressed member, the smallest
  shown member of that sum is suppressed too (an inner cell before a total), and this is
  repeated until every sum has none or at least two. With two unknowns a sum no longer gives
  either away.

A suppressed cell hides every figure it carries (money too), since they would betray its count.
The one-dimensional case (a list and its total) is a grid of one column.
"""

from collections.abc import Sequence
from dataclasses import dataclass

THRESHOLD = 10


@dataclass(frozen=True)
class Grid:
    """Which cells of a grid with margins are shown: ``hidden[r][c]`` for the inner cells,
    ``row_total_hidden[r]``, ``column_total_hidden[c]`` and ``grand_total_hidden``."""

    hidden: tuple[tuple[bool, ...], ...]
    row_total_hidden: tuple[bool, ...]
    column_total_hidden: tuple[bool, ...]
    grand_total_hidden: bool


def suppress_grid(counts: Sequence[Sequence[int]], *, threshold: int = THRESHOLD) -> Grid:
    """The cells to hide in ``counts`` (households per cell) and in its margins."""
    rows = len(counts)
    columns = len(counts[0]) if rows else 0
    # The grid with its margins: row ``rows`` holds the column totals, column ``columns`` the row
    # totals, and (rows, columns) the grand total.
    full = [[*list(row), sum(row)] for row in counts]
    full.append([sum(counts[r][c] for r in range(rows)) for c in range(columns)] + [0])
    full[rows][columns] = sum(full[rows][:columns])
    hidden = [[value < threshold for value in row] for row in full]
    sums = [[(r, c) for c in range(columns + 1)] for r in range(rows + 1)] + [
        [(r, c) for r in range(rows + 1)] for c in range(columns + 1)
    ]
    changed = True
    while changed:
        changed = False
        for members in sums:
            if sum(hidden[r][c] for r, c in members) != 1:
                continue
            shown = [(r, c) for r, c in members if not hidden[r][c]]
            if not shown:
                continue
            # Prefer an inner cell to a total; among them the smallest, then the first.
            inner = [(r, c) for r, c in shown if r < rows and c < columns]
            r, c = min(inner or shown, key=lambda cell: full[cell[0]][cell[1]])
            hidden[r][c] = True
            changed = True
    return Grid(
        hidden=tuple(tuple(hidden[r][:columns]) for r in range(rows)),
        row_total_hidden=tuple(hidden[r][columns] for r in range(rows)),
        column_total_hidden=tuple(hidden[rows][:columns]),
        grand_total_hidden=hidden[rows][columns],
    )


def suppress_list(counts: Sequence[int], *, threshold: int = THRESHOLD) -> tuple[list[bool], bool]:
    """A list and its total: (which items to hide, whether to hide the total)."""
    grid = suppress_grid([[count] for count in counts], threshold=threshold)
    return [hidden for (hidden,) in grid.hidden], grid.grand_total_hidden
