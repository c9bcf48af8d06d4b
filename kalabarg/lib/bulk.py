"""Loading many rows at once: COPY on PostgreSQL, ``executemany`` elsewhere (SQLite).

National runs never build a Python model object per row; they stream tuples into a table
(often a temporary staging table) and then apply them with one set-based statement. Every COPY
in the project goes through :func:`copy_rows`.
"""

from collections.abc import Iterable, Sequence
from itertools import islice
from typing import Any

from django.db import connection

# Rows per write: PostgreSQL parses one batch while the caller builds the next, and SQLite's
# executemany gets lists of a bounded size.
BATCH_ROWS = 5_000


def copy_rows(
    *,
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]] | None = None,
    lines: Iterable[str] | None = None,
) -> int:
    """Append to ``table`` (trusted identifiers only) and return how many rows were written.

    Give exactly one of:

    - ``rows``: tuples of Python values. PostgreSQL gets them by COPY through psycopg's
      adapters; SQLite by ``executemany``.
    - ``lines``: rows already formatted as COPY text, one per line, tab-separated, each ending
      in a newline (PostgreSQL only). The caller vouches that no value holds a tab, newline
      or backslash. One f-string per row is several times cheaper than psycopg's per-value
      adapters, which is what lets the generators load a million households in minutes.
    """
    if (rows is None) == (lines is None):
        raise TypeError("copy_rows takes rows or lines, not both and not neither")
    postgres = connection.vendor == "postgresql"
    if lines is not None:
        if not postgres:
            raise ValueError("COPY text lines need PostgreSQL; pass rows instead")
        return _copy(table, columns, lines=lines)
    if rows is None:  # unreachable after the check above; narrows the type
        raise TypeError("copy_rows needs rows")
    if postgres:
        return _copy(table, columns, rows=rows)
    return _insert_many(table, columns, rows)


def _copy(
    table: str,
    columns: Sequence[str],
    *,
    rows: Iterable[Sequence[Any]] = (),
    lines: Iterable[str] = (),
) -> int:
    count = 0
    with connection.cursor() as cursor:
        raw = cursor.cursor  # the psycopg cursor under Django's wrapper
        with raw.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            pending = iter(lines)
            # Batches joined in C: no Python step per line here.
            while batch := list(islice(pending, BATCH_ROWS)):
                copy.write("".join(batch))
                count += len(batch)
            for row in rows:
                copy.write_row(row)
                count += 1
    return count


def _insert_many(table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    placeholders = ", ".join(["%s"] * len(columns))
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})"  # noqa: S608
    count = 0
    pending = iter(rows)
    with connection.cursor() as cursor:
        while batch := list(islice(pending, BATCH_ROWS)):
            cursor.executemany(sql, batch)
            count += len(batch)
    return count


def analyze(*tables: str) -> None:
    """Refresh the planner's statistics after a bulk load (PostgreSQL; nothing on SQLite).

    Autovacuum gets there eventually, but a national run started right after an import would
    otherwise be planned for the empty tables it saw before (minutes instead of seconds)."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return  # inside a caller's transaction the statistics would not help before it commits
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {', '.join(tables)}")


def temporary_table(cursor: Any, name: str, select: str, params: Sequence[Any]) -> None:
    """``CREATE TEMPORARY TABLE name AS select`` on the cursor's connection, replacing one of the
    same name: a set-based step's intermediate rows, gone with the connection (or dropped)."""
    cursor.execute(f"DROP TABLE IF EXISTS {name}")
    cursor.execute(f"CREATE TEMPORARY TABLE {name} AS {select}", params)
