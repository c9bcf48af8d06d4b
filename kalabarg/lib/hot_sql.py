"""A cursor for the few statements every POS purchase runs: prepared once per connection on
PostgreSQL (planning the checkout's context query costs more than running it), Django's own
cursor elsewhere.

Django's cursors bind parameters on the client and never prepare, which is right for the rest of
the project (it keeps connection poolers working); these statements are fixed, so they use a
server-binding psycopg cursor with ``prepare=True``. Database errors are translated to Django's
(``IntegrityError``, ``OperationalError``) as with any Django cursor, so callers handle one kind.
Statements are logged like Django's own when query logging is on (``CaptureQueriesContext``,
``DEBUG``), so query-count tests count them too.

Behind PgBouncer in transaction mode (``DATABASE_POOL_MODE=transaction``) the protocol's prepared
statements cannot be kept (PgBouncer 1.18, Debian 12's, does not track them; psycopg names them
per client connection while the server connections are shared). There each statement is named
after its text and sent with its arguments as literals in one simple query,
``SELECT kalabarg_prepare(name, text); EXECUTE name(args)``: the database function
(``settlements/sql/hot_prepare.sql``) prepares it on that server connection the first time the
connection sees it, and every later purchase on that connection, from any client, executes the
prepared statement. docs/decisions.md, "Connection pooling and a read replica".
"""

import hashlib
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import psycopg
from django.conf import settings
from django.db import connection
from psycopg import sql


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


# Django's placeholders: %(name)s, %s, and %% for a literal percent sign.
_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%s|%%")


@lru_cache(maxsize=256)
def named_statement(sql_text: str) -> tuple[str, str, tuple[str | int, ...]]:
    """``sql_text`` with ``$n`` parameters, its name (``kb_`` and a digest of that text), and the
    key of each parameter in order (an index for ``%s``, a name for ``%(name)s``)."""
    keys: list[str | int] = []
    positional = 0

    def number(match: re.Match[str]) -> str:
        nonlocal positional
        if match.group(0) == "%%":
            return "%"
        key: str | int = match.group(1) if match.group(1) else positional
        if match.group(1) is None:
            positional += 1
        if key not in keys or isinstance(key, int):
            keys.append(key)
            return f"${len(keys)}"
        return f"${keys.index(key) + 1}"

    numbered = _PLACEHOLDER.sub(number, sql_text)
    digest = hashlib.sha256(numbered.encode()).hexdigest()[:24]
    return f"kb_{digest}", numbered, tuple(keys)


class PooledPreparedCursor(PreparedCursor):
    """A prepared statement that survives a transaction-mode pooler (see the module's docstring)."""

    def execute(self, sql_text: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> None:
        name, numbered, keys = named_statement(sql_text)
        values = [params[key] for key in keys]  # type: ignore[index]
        call = sql.SQL("SELECT kalabarg_prepare({name}, {text}); EXECUTE {ident}{args}").format(
            name=sql.Literal(name),
            text=sql.Literal(numbered),
            ident=sql.Identifier(name),
            args=sql.SQL("({})").format(sql.SQL(", ").join(map(sql.Literal, values)))
            if values
            else sql.SQL(""),
        )
        started = time.monotonic()
        with connection.wrap_database_errors:
            # No parameters: psycopg sends it as one simple query, so both statements run on the
            # one server connection PgBouncer lends for it.
            self._cursor.execute(call)
            self._cursor.nextset()  # the EXECUTE's rows
        if connection.queries_logged:
            connection.queries_log.append(
                {
                    "sql": f"/* prepared {name} */ {sql_text}",
                    "time": f"{time.monotonic() - started:.3f}",
                }
            )


@contextmanager
def hot_cursor() -> Iterator[Any]:
    """A cursor on the default connection (inside the caller's transaction, if any)."""
    if connection.vendor != "postgresql" or not settings.DATABASE_PREPARED_STATEMENTS:
        with connection.cursor() as cursor:
            yield cursor
        return
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        if settings.DATABASE_POOL_MODE == "transaction":
            yield PooledPreparedCursor(cursor)
        else:
            yield PreparedCursor(cursor)
