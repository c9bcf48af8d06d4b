"""Month partitions of PostgreSQL tables: declarative range partitioning on a ``period`` date.

A period is the first day (as a Gregorian date) of a Jalali month in Tehran: the programme's
cycles are Jalali months, so a month's partition holds exactly one cycle's charges, and an officer
archives "1403-05", not a range of dates. Each table has one partition per month, named
``<table>_p1405_09``, and a default partition that catches a row whose month has none yet, so a
late beat never refuses money (``create_month`` moves such rows into the month's partition).

Everything here is generic DDL over a table's catalogue (and how to plan a statement over a month
that is being filled, ``planned_by_index``); which tables, and how each row's period is found,
belong to the app that owns them (``settlements.services.partitions``).
"""

import datetime as dt
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import jdatetime
from django.db import connection
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.backends.utils import CursorWrapper
from django.db.migrations.operations.base import Operation
from django.db.migrations.state import ProjectState

TEHRAN = ZoneInfo("Asia/Tehran")
PERIOD_COLUMN = "period"


# --- Planning over a month that is being filled -------------------------------------------------


@contextmanager
def planned_by_index() -> Iterator[None]:
    """Inside the caller's transaction, plan the statements of the block as if sequential scans
    cost too much (``enable_seqscan`` off), then restore the setting.

    For a statement of a national run that looks up, household by household, rows of the month
    partition the run is filling: planned on statistics taken while that partition was empty
    (relpages 0), PostgreSQL picks a nested loop that scans the partition once per household,
    which costs nothing while it is empty and grows with every row another chunk commits: one
    chunk of 25,000 households took 60 s instead of 0.1 s (docs/benchmarks.md, "A chunk planned
    on an empty month"). The index look-up is the right plan whatever the size. A sequential scan
    with no index to replace it (a temporary table) is still chosen. No-op off PostgreSQL.

    Set with ``is_local``: if the block raises, the transaction (or its savepoint) that is
    rolled back takes the setting with it; a failed PostgreSQL transaction takes no statement, so
    the setting is restored only when the block ends normally."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('enable_seqscan'), set_config('enable_seqscan', 'off', true)"
        )
        previous = cursor.fetchone()[0]
    yield
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('enable_seqscan', %s, true)", [previous])


# --- Months -------------------------------------------------------------------------------------


def month_start(day: dt.date) -> dt.date:
    """The first day of the Jalali month ``day`` lies in (a Gregorian date)."""
    j = jdatetime.date.fromgregorian(date=day)
    return jdatetime.date(j.year, j.month, 1).togregorian()


def next_month(period: dt.date) -> dt.date:
    """The period after ``period``: the first day of the next Jalali month."""
    j = jdatetime.date.fromgregorian(date=period)
    year, month = (j.year + 1, 1) if j.month == 12 else (j.year, j.month + 1)
    return jdatetime.date(year, month, 1).togregorian()


def period_of(moment: dt.datetime) -> dt.date:
    """The period of a moment: the Jalali month of its date in Tehran."""
    return month_start(moment.astimezone(TEHRAN).date())


def month_label(period: dt.date) -> str:
    """``1405-09``: how officers and the cycles name a month."""
    j = jdatetime.date.fromgregorian(date=period)
    return f"{j.year}-{j.month:02d}"


def period_from_label(label: str) -> dt.date:
    """The period of ``1405-09``; ``ValueError`` for anything else."""
    match = re.fullmatch(r"(1[34]\d\d)-(0[1-9]|1[0-2])", label)
    if not match:
        raise ValueError(f"{label!r} is not a month like 1405-09")
    return jdatetime.date(int(match[1]), int(match[2]), 1).togregorian()


def months_between(first: dt.date, last: dt.date) -> list[dt.date]:
    """Every period from the one holding ``first`` to the one holding ``last``, inclusive."""
    periods, period = [], month_start(first)
    while period <= last:
        periods.append(period)
        period = next_month(period)
    return periods


def partition_name(table: str, period: dt.date) -> str:
    j = jdatetime.date.fromgregorian(date=period)
    return f"{table}_p{j.year}_{j.month:02d}"


def default_partition_name(table: str) -> str:
    return f"{table}_default"


# --- What a table is now ------------------------------------------------------------------------


def is_partitioned(cursor: CursorWrapper, table: str) -> bool:
    cursor.execute(
        "SELECT 1 FROM pg_partitioned_table pt JOIN pg_class c ON c.oid = pt.partrelid "
        "WHERE c.relname = %s AND c.relnamespace = 'public'::regnamespace",
        [table],
    )
    return cursor.fetchone() is not None


@dataclass(frozen=True)
class Partition:
    name: str
    period: dt.date | None  # None: the default partition
    rows_estimate: int


def partitions(cursor: CursorWrapper, table: str) -> list[Partition]:
    """The table's attached partitions, months in order and the default last."""
    cursor.execute(
        "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid), c.reltuples::bigint FROM pg_inherits i "
        "JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent "
        "WHERE p.relname = %s AND p.relnamespace = 'public'::regnamespace",
        [table],
    )
    found = []
    for name, bound, estimate in cursor.fetchall():
        start = re.search(r"FROM \('(\d{4}-\d{2}-\d{2})'\)", bound or "")
        period = dt.date.fromisoformat(start[1]) if start else None
        found.append(Partition(name, period, max(int(estimate), 0)))
    return sorted(found, key=lambda p: (p.period is None, p.period or dt.date.min))


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# --- Creating and detaching months ----------------------------------------------------------------


def create_month(cursor: CursorWrapper, table: str, period: dt.date) -> bool:
    """Create ``table``'s partition for ``period`` if it is missing; True when created.

    Rows of that month already in the default partition (written before the month had its own)
    are moved into it in the same transaction: PostgreSQL refuses to attach a range the default
    partition holds rows of. The move bypasses the tables' own append-only triggers by disabling
    the user triggers of the detached default partition only while it runs."""
    if period != month_start(period):
        raise ValueError(f"{period} is not the first day of a Jalali month")
    name = partition_name(table, period)
    cursor.execute("SELECT to_regclass(%s)", [f"public.{name}"])
    if cursor.fetchone()[0] is not None:
        return False
    default = default_partition_name(table)
    end = next_month(period)
    cursor.execute(
        f"SELECT EXISTS (SELECT 1 FROM {_quote(default)} WHERE {PERIOD_COLUMN} >= %s AND {PERIOD_COLUMN} < %s)",
        [period, end],
    )
    if not cursor.fetchone()[0]:
        cursor.execute(
            f"CREATE TABLE {_quote(name)} PARTITION OF {_quote(table)} FOR VALUES FROM (%s) TO (%s)",
            [period, end],
        )
        return True
    cursor.execute(f"ALTER TABLE {_quote(table)} DETACH PARTITION {_quote(default)}")
    cursor.execute(
        f"CREATE TABLE {_quote(name)} PARTITION OF {_quote(table)} FOR VALUES FROM (%s) TO (%s)",
        [period, end],
    )
    cursor.execute(
        f"INSERT INTO {_quote(name)} SELECT * FROM {_quote(default)} "
        f"WHERE {PERIOD_COLUMN} >= %s AND {PERIOD_COLUMN} < %s",
        [period, end],
    )
    cursor.execute(f"ALTER TABLE {_quote(default)} DISABLE TRIGGER USER")
    cursor.execute(
        f"DELETE FROM {_quote(default)} WHERE {PERIOD_COLUMN} >= %s AND {PERIOD_COLUMN} < %s",
        [period, end],
    )
    cursor.execute(f"ALTER TABLE {_quote(default)} ENABLE TRIGGER USER")
    cursor.execute(f"ALTER TABLE {_quote(table)} ATTACH PARTITION {_quote(default)} DEFAULT")
    return True


def detach_month(cursor: CursorWrapper, table: str, period: dt.date) -> str:
    """Detach ``table``'s partition of ``period``: it stays in the database as a table of its own,
    renamed ``archive_<name>``, for ``pg_dump`` and then ``DROP``. Returns the archive's name."""
    name = partition_name(table, period)
    archive = f"archive_{name}"
    cursor.execute(f"ALTER TABLE {_quote(table)} DETACH PARTITION {_quote(name)}")
    cursor.execute(f"ALTER TABLE {_quote(name)} RENAME TO {_quote(archive)}")
    # An archive is a frozen copy: its foreign keys would pin live rows (households, terminals)
    # and stop the live tables' TRUNCATE, so they go; its rows were checked while attached.
    cursor.execute(
        "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'f'",
        [archive],
    )
    for (constraint,) in cursor.fetchall():
        cursor.execute(f"ALTER TABLE {_quote(archive)} DROP CONSTRAINT {_quote(constraint)}")
    return archive


# --- Converting a plain table -------------------------------------------------------------------


@dataclass(frozen=True)
class TableDefinition:
    """What a table's DDL holds besides its columns, as PostgreSQL prints it."""

    primary_key: tuple[str, list[str]] | None  # (name, columns)
    uniques: list[tuple[str, list[str]]]  # unique constraints (name, columns)
    foreign_keys: list[tuple[str, str]]  # outgoing (name, definition)
    indexes: list[tuple[str, str, bool]]  # (name, CREATE INDEX …, unique) not backing a constraint
    triggers: list[str]  # CREATE TRIGGER …
    referenced_by: list[tuple[str, str]]  # foreign keys of other tables naming it (table, name)


def read_definition(cursor: CursorWrapper, table: str) -> TableDefinition:
    oid_sql = (
        "(SELECT oid FROM pg_class WHERE relname = %s AND relnamespace = 'public'::regnamespace)"
    )
    cursor.execute(
        "SELECT con.conname, con.contype, pg_get_constraintdef(con.oid), "
        "ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(n, o) "
        "JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.o) "
        f"FROM pg_constraint con WHERE con.conrelid = {oid_sql} AND con.contype IN ('p', 'u', 'f') "
        "ORDER BY con.conname",
        [table],
    )
    primary_key, uniques, foreign_keys = None, [], []
    for name, kind, definition, columns in cursor.fetchall():
        if kind == "p":
            primary_key = (name, list(columns))
        elif kind == "u":
            uniques.append((name, list(columns)))
        elif f" REFERENCES {table}(" not in definition:
            # A key naming the table itself would name a partitioned table: it goes, as the
            # keys of other tables naming it do (``referenced_by``).
            foreign_keys.append((name, definition))
    cursor.execute(
        "SELECT ic.relname, pg_get_indexdef(i.indexrelid), i.indisunique FROM pg_index i "
        f"JOIN pg_class ic ON ic.oid = i.indexrelid WHERE i.indrelid = {oid_sql} "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = i.indexrelid) "
        "ORDER BY ic.relname",
        [table],
    )
    indexes = [(name, definition, unique) for name, definition, unique in cursor.fetchall()]
    cursor.execute(
        f"SELECT pg_get_triggerdef(t.oid) FROM pg_trigger t WHERE t.tgrelid = {oid_sql} "
        "AND NOT t.tgisinternal ORDER BY t.tgname",
        [table],
    )
    triggers = [row[0] for row in cursor.fetchall()]
    cursor.execute(
        "SELECT c.relname, con.conname FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid "
        f"WHERE con.confrelid = {oid_sql} AND con.contype = 'f' AND con.conrelid <> con.confrelid "
        "ORDER BY c.relname, con.conname",
        [table],
    )
    referenced_by = [(t, n) for t, n in cursor.fetchall()]
    return TableDefinition(primary_key, uniques, foreign_keys, indexes, triggers, referenced_by)


def with_period(index_definition: str) -> str:
    """``CREATE UNIQUE INDEX … USING btree (a, b) WHERE …`` with the period added to its columns:
    a unique index of a partitioned table must hold its partition key."""
    opening = index_definition.index(" USING ")
    opening = index_definition.index("(", opening)
    depth, position = 0, opening
    for position in range(opening, len(index_definition)):
        if index_definition[position] == "(":
            depth += 1
        elif index_definition[position] == ")":
            depth -= 1
            if depth == 0:
                break
    return index_definition[:position] + f", {PERIOD_COLUMN}" + index_definition[position:]


def convert_to_partitioned(
    cursor: CursorWrapper,
    table: str,
    *,
    rows_sql: str,
    extra_months: list[dt.date],
    log: Callable[[str], None] = lambda message: None,
) -> int:
    """Rebuild the plain ``table`` as one partitioned by month on a new ``period`` column.

    ``rows_sql`` selects every old row's columns in the table's order followed by its period,
    reading the old rows from ``<table>__unpartitioned``. The new table keeps the old one's name,
    columns, checks, identity (continuing from the highest id), indexes, foreign keys and triggers;
    its primary key and unique constraints gain the period. Foreign keys of other tables that
    pointed at it are dropped: a key naming a partitioned table would have to carry the period,
    so the owner checks those references per statement instead. One transaction: on any error
    nothing changed. Returns the rows copied."""
    definition = read_definition(cursor, table)
    old = f"{table}__unpartitioned"
    cursor.execute(f"ALTER TABLE {_quote(table)} RENAME TO {_quote(old)}")
    cursor.execute(
        f"CREATE TABLE {_quote(table)} (LIKE {_quote(old)} INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
        f"INCLUDING IDENTITY INCLUDING STORAGE INCLUDING COMMENTS, {PERIOD_COLUMN} date NOT NULL) "
        f"PARTITION BY RANGE ({PERIOD_COLUMN})"
    )
    cursor.execute(f"SELECT min(period), max(period) FROM ({rows_sql}) s")
    first, last = cursor.fetchone()
    months = set(extra_months)
    if first is not None:
        months.update(months_between(first, last))
    for period in sorted(months):
        cursor.execute(
            f"CREATE TABLE {_quote(partition_name(table, period))} PARTITION OF {_quote(table)} "
            "FOR VALUES FROM (%s) TO (%s)",
            [period, next_month(period)],
        )
    cursor.execute(
        f"CREATE TABLE {_quote(default_partition_name(table))} PARTITION OF {_quote(table)} DEFAULT"
    )
    log(f"{table}: {len(months)} months, copying rows")
    cursor.execute(f"INSERT INTO {_quote(table)} {rows_sql}")
    copied = max(cursor.rowcount, 0)
    log(f"{table}: {copied} rows copied")
    for referencing, name in definition.referenced_by:
        cursor.execute(f"ALTER TABLE {_quote(referencing)} DROP CONSTRAINT {_quote(name)}")
    cursor.execute(
        "SELECT pg_get_serial_sequence(%s, 'id'), pg_get_serial_sequence(%s, 'id')", [old, table]
    )
    old_sequence, new_sequence = cursor.fetchone()
    cursor.execute(
        f"DROP TABLE {_quote(old)}"
    )  # no CASCADE: anything else depending on it stops us
    if old_sequence and new_sequence and old_sequence != new_sequence:
        # The new identity's sequence was named beside the old one's; it takes the old name back.
        old_name = old_sequence.rsplit(".", 1)[-1].strip('"')
        cursor.execute(f"ALTER SEQUENCE {new_sequence} RENAME TO {_quote(old_name)}")
    cursor.execute(
        f"SELECT setval(pg_get_serial_sequence(%s, 'id'), COALESCE((SELECT max(id) FROM {_quote(table)}), 0) + 1, false)",
        [table],
    )
    if definition.primary_key is not None:
        name, columns = definition.primary_key
        cursor.execute(
            f"ALTER TABLE {_quote(table)} ADD CONSTRAINT {_quote(name)} "
            f"PRIMARY KEY ({', '.join(map(_quote, [*columns, PERIOD_COLUMN]))})"
        )
    for name, columns in definition.uniques:
        cursor.execute(
            f"ALTER TABLE {_quote(table)} ADD CONSTRAINT {_quote(name)} "
            f"UNIQUE ({', '.join(map(_quote, [*columns, PERIOD_COLUMN]))})"
        )
    for _name, index_sql, unique in definition.indexes:
        cursor.execute(with_period(index_sql) if unique else index_sql)
    log(f"{table}: indexes built")
    for name, fk_sql in definition.foreign_keys:
        cursor.execute(f"ALTER TABLE {_quote(table)} ADD CONSTRAINT {_quote(name)} {fk_sql}")
    for trigger_sql in definition.triggers:
        cursor.execute(trigger_sql)
    cursor.execute(f"ANALYZE {_quote(table)}")
    return copied


# --- Migrations ---------------------------------------------------------------------------------


class UnlessPostgres(Operation):
    """A schema operation carried out on every database but PostgreSQL.

    On PostgreSQL the month partitioning rebuilds the money tables with their new columns and
    keys in one pass (``convert_to_partitioned``); the embedded SQLite default has no partitions
    and takes the plain operation. The model state moves the same way on both."""

    reduces_to_sql = False

    def __init__(self, operation: Operation) -> None:
        self.operation = operation

    def deconstruct(self) -> tuple[str, list[Operation], dict[str, object]]:
        return self.__class__.__qualname__, [self.operation], {}

    def state_forwards(self, app_label: str, state: ProjectState) -> None:
        self.operation.state_forwards(app_label, state)

    def database_forwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        if schema_editor.connection.vendor != "postgresql":
            self.operation.database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        if schema_editor.connection.vendor != "postgresql":
            self.operation.database_backwards(app_label, schema_editor, from_state, to_state)

    def describe(self) -> str:
        return f"{self.operation.describe()} (not on PostgreSQL, where partitioning does it)"
