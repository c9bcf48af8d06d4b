"""Loading many rows at once: COPY on PostgreSQL, ``executemany`` elsewhere (SQLite).

National runs never build a Python model object per row; they stream tuples into a table
(often a temporary staging table) and then apply them with one set-based statement.
"""

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection


def copy_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Append ``rows`` to ``table`` (trusted identifiers only) and return how many were written."""
    column_list = ", ".join(columns)
    count = 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            raw = cursor.cursor  # the psycopg cursor under Django's wrapper
            with raw.copy(f"COPY {table} ({column_list}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
            return count
        placeholders = ", ".join(["%s"] * len(columns))
        sql = f"INSERT INTO {table} ({column_list}) VALUES ({placeholders})"  # noqa: S608
        batch: list[Sequence[Any]] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= 5000:
                cursor.executemany(sql, batch)
                count += len(batch)
                batch = []
        if batch:
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
