"""CSV that officers open in a spreadsheet: a cell that starts like a formula is neutralised.

A cell beginning with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return, which some
spreadsheets skip before reading a formula) is run as a formula by Excel and LibreOffice, so a
registry or bank file could make an officer's spreadsheet fetch a URL or run a command (OWASP
"CSV injection"). Such a cell is written with a leading ``'``, which spreadsheets show as text.
"""

import csv
from collections.abc import Iterable
from typing import Any, TextIO

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """``value`` as it may be written to a CSV cell: text that starts like a formula gets ``'``."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def write_rows(stream: TextIO, rows: Iterable[Iterable[Any]]) -> None:
    """Write ``rows`` to ``stream`` as CSV, every cell through :func:`safe_cell`."""
    writer = csv.writer(stream)
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
