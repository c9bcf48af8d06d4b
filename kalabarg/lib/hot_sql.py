"""A cursor for the few statements every POS purchase runs: prepared once per connection on
PostgreSQL (planning the checkout's context query costs more than running it), Django's own
cursor elsewhere.

Django's cursors bind parameters on the client and never prepare, which is right for the rest of
the project (it keeps connection poolers working); these statements are fixed, so they use a
server-binding psycopg cursor with ``prepare=True``. Database errors are translated to Django's
(``IntegrityError``, ``OperationalError``) as with any Django cursor, so callers handle one kind.
Statements are logged like Django's own when query logging is on (``CaptureQueriesContext``,
``DEBUG``), so query-count tests count them too.
"""

import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from django.conf import settings
from django.db import connection


class PreparedCursor:
    """The part of the DB-API cursor the hot path uses, over a server-binding psycopg cursor."""

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    def execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> None:
        started = time.monotonic()
        with connection.wrap_database_errors:
            self._cursor.execute(sql, params, prepare=True)
        if connection.queries_logged:
            connection.queries_log.append(
                {"sql": f"/* prepared */ {sql}", "time": f"{time.monotonic() - started:.3f}"}
            )

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        return list(self._cursor.fetchall())

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return int(self._cursor.rowcount)


@contextmanager
def hot_cursor() -> Iterator[Any]:
    """A cursor on the default connection (inside the caller's transaction, if any)."""
    if connection.vendor != "postgresql" or not settings.DATABASE_PREPARED_STATEMENTS:
        with connection.cursor() as cursor:
            yield cursor
        return
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        yield PreparedCursor(cursor)
