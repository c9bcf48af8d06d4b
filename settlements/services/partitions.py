"""The money tables by month: purchases, journal entries and postings, partitioned on PostgreSQL.

Each row carries a ``period``, the first day of a Jalali month (``kalabarg.lib.partitions``):
- a purchase: the month it was made in (Tehran);
- a cycle charge or a bonus: its cycle's month, whenever it is posted. The one-charge-per-cycle
  key and the charge's idempotency key then always meet in one partition, so keys unique per
  month are unique outright, even for a late charge or a run resumed after the month turned;
- a purchase entry: its purchase's month (the checkout writes both in one statement);
- any other entry: the month it is posted in. Its key is taken under a transaction lock on the
  key (``ledger.post_entry``) or by a run that owns its chunk, so no two writers race across a
  month's turn;
- a posting: its entry's month, checked by the ledger trigger;
- a household's cycle charge (``Charge``): its cycle's month, as its entry.

Partitions are created three months ahead by the beat (``ensure_months``); a row for a month
without one lands in the default partition and is moved when the month is created. A month
older than ``LEDGER_ATTACHED_MONTHS`` can be detached for archive (``archive_month``) once all its
purchases are settled; its accounts' sums are kept so the ledger's checks still add up.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper
from django.utils import timezone

from kalabarg.lib import partitions as months
from kalabarg.lib.errors import field_error
from settlements.models import ArchivedBalance, ArchivedMonth, LedgerDigest
from settlements.sql import load

PURCHASES = "stores_purchase"
ENTRIES = "settlements_journalentry"
POSTINGS = "settlements_posting"
CHARGES = "settlements_charge"
# In this order: entries take their purchase's month, postings their entry's. These three were
# plain tables once, converted by ``convert_money_tables``.
MONEY_TABLES = (PURCHASES, ENTRIES, POSTINGS)
# Every table kept by month: the three, and the households' cycle charges (a charge's entry's
# month), partitioned from the start (settlements 0026).
MONTHLY_TABLES = (*MONEY_TABLES, CHARGES)
DAYS = "money_partition_days"


def is_partitioned() -> bool:
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        return all(months.is_partitioned(cursor, table) for table in MONEY_TABLES)


def _months_ahead(today: dt.date, ahead: int) -> list[dt.date]:
    period, found = months.month_start(today), []
    for _ in range(ahead + 1):
        found.append(period)
        period = months.next_month(period)
    return found


def _fill_days(cursor: CursorWrapper, first: dt.date, last: dt.date) -> None:
    """A temporary table mapping each day of ``[first, last]`` to its period, for the copy's
    hash join (the Jalali calendar is computed here, in Python, as everywhere else)."""
    cursor.execute(f"DROP TABLE IF EXISTS {DAYS}")
    cursor.execute(f"CREATE TEMPORARY TABLE {DAYS} (day date PRIMARY KEY, period date NOT NULL)")
    for period in months.months_between(first, last):
        cursor.execute(
            f"INSERT INTO {DAYS} SELECT g::date, %s FROM generate_series(%s::date, %s::date - 1, '1 day') g",
            [period, period, months.next_month(period)],
        )


# Each old row's columns, then its period. LEFT JOINs: a row without a period stops the copy on
# its NOT NULL, rather than being dropped by a join.
_ROWS = {
    PURCHASES: (
        f"SELECT o.*, d.period FROM {PURCHASES}__unpartitioned o "
        f"LEFT JOIN {DAYS} d ON d.day = (o.created_at AT TIME ZONE 'Asia/Tehran')::date"
    ),
    ENTRIES: (
        f"SELECT o.*, CASE WHEN o.kind IN ('cycle_charge', 'bonus') THEN cd.period "
        "WHEN o.purchase_id IS NOT NULL AND o.kind = 'purchase' THEN p.period ELSE d.period END "
        f"FROM {ENTRIES}__unpartitioned o "
        f"LEFT JOIN {DAYS} d ON d.day = (o.created_at AT TIME ZONE 'Asia/Tehran')::date "
        "LEFT JOIN settlements_cycle c ON c.id = o.cycle_id "
        f"LEFT JOIN {DAYS} cd ON cd.day = c.starts_on "
        f"LEFT JOIN {PURCHASES} p ON p.id = o.purchase_id"
    ),
    POSTINGS: (
        f"SELECT o.*, e.period FROM {POSTINGS}__unpartitioned o "
        f"LEFT JOIN {ENTRIES} e ON e.id = o.entry_id"
    ),
}


def convert_money_tables(
    *, today: dt.date | None = None, log: Callable[[str], None] = lambda message: None
) -> dict[str, int]:
    """Partition whichever money tables are still plain, in one transaction; the rows copied per
    table. Run again it finds nothing to do. Then the references' guards are installed."""
    if connection.vendor != "postgresql":
        raise field_error(
            field="database",
            code="only_postgresql",
            message="جدول‌ها فقط در PostgreSQL ماهانه می‌شوند.",
        )
    today = today or timezone.localdate()
    copied: dict[str, int] = {}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"SELECT min(d), max(d) FROM (SELECT min((created_at AT TIME ZONE 'Asia/Tehran')::date) AS d FROM {PURCHASES} "
            f"UNION ALL SELECT max((created_at AT TIME ZONE 'Asia/Tehran')::date) FROM {PURCHASES} "
            f"UNION ALL SELECT min((created_at AT TIME ZONE 'Asia/Tehran')::date) FROM {ENTRIES} "
            f"UNION ALL SELECT max((created_at AT TIME ZONE 'Asia/Tehran')::date) FROM {ENTRIES} "
            "UNION ALL SELECT min(starts_on) FROM settlements_cycle UNION ALL SELECT max(starts_on) FROM settlements_cycle) s"
        )
        first, last = cursor.fetchone()
        _fill_days(cursor, min(first or today, today), max(last or today, today))
        ahead = _months_ahead(today, settings.LEDGER_MONTHS_AHEAD)
        for table in MONEY_TABLES:
            if months.is_partitioned(cursor, table):
                log(f"{table}: already partitioned")
                continue
            copied[table] = months.convert_to_partitioned(
                cursor, table, rows_sql=_ROWS[table], extra_months=ahead, log=log
            )
        cursor.execute(f"DROP TABLE {DAYS}")
        cursor.execute(load("ledger_triggers.sql"))
        cursor.execute(load("money_partitions.sql"))
    return copied


def ensure_months(*, today: dt.date | None = None, ahead: int | None = None) -> list[str]:
    """Create the current month's partitions and ``ahead`` months after it wherever missing
    (moving any rows the default partition holds for them); the partitions created."""
    if not is_partitioned():
        return []
    today = today or timezone.localdate()
    ahead = settings.LEDGER_MONTHS_AHEAD if ahead is None else ahead
    created = []
    with transaction.atomic(), connection.cursor() as cursor:
        for period in _months_ahead(today, ahead):
            created += ensure_month(cursor=cursor, period=period)
    return created


def ensure_month(*, cursor: CursorWrapper, period: dt.date) -> list[str]:
    """``period``'s partition of every monthly table, created where missing."""
    return [
        months.partition_name(table, period)
        for table in MONTHLY_TABLES
        if months.create_month(cursor, table, period)
    ]


def analyse_month(*, period: dt.date) -> list[str]:
    """``ANALYZE`` the month's partitions of the entries, postings and charges, and the accounts;
    the tables analysed.

    A national run fills an empty month partition with millions of rows (and the accounts with a
    wallet each) far faster than autovacuum looks at them: it wakes once a minute, and may be off.
    A chunk planned on an empty partition's statistics probes it row by row instead of by index,
    and took minutes instead of seconds (docs/capacity.md); so the runs analyse what they fill, as
    they go (``runs.execute_chunk``) and when they end, before the figures are refreshed."""
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        tables = []
        for table in (ENTRIES, POSTINGS, CHARGES):
            name = months.partition_name(table, period)
            cursor.execute("SELECT to_regclass(%s)", [f"public.{name}"])
            tables.append(name if cursor.fetchone()[0] is not None else table)
        tables.append("settlements_account")
        cursor.execute(f"ANALYZE {', '.join(tables)}")
    return tables


@dataclass(frozen=True)
class MonthRow:
    period: dt.date | None
    label: str
    rows: dict[str, int]


def overview() -> list[MonthRow]:
    """Every attached month (and the default partition) with each table's estimated rows."""
    found: dict[dt.date | None, dict[str, int]] = {}
    with connection.cursor() as cursor:
        for table in MONTHLY_TABLES:
            for partition in months.partitions(cursor, table):
                found.setdefault(partition.period, {})[table] = partition.rows_estimate
    return [
        MonthRow(period, months.month_label(period) if period else "پیش‌فرض", rows)
        for period, rows in sorted(
            found.items(), key=lambda kv: (kv[0] is None, kv[0] or dt.date.min)
        )
    ]


def _refuse(code: str, message: str) -> ValidationError:
    return field_error(field="period", code=code, message=message)


@transaction.atomic
def archive_month(
    *, period: dt.date, user: User | None = None, today: dt.date | None = None
) -> ArchivedMonth:
    """Detach ``period`` from the monthly tables; each stays in the database as
    ``archive_<partition>`` for ``pg_dump`` and then ``DROP`` (docs/operations.md).

    Refused unless the month ended more than ``LEDGER_ATTACHED_MONTHS`` months ago and every
    purchase in it has been taken by a store settlement. First the month's day digests are
    verified (the last proof of its history while attached), and every account's sum of the
    month's postings is kept in ``ArchivedBalance``; ``reconcile_ledger`` adds those sums to the
    postings still attached."""
    if not is_partitioned():
        raise _refuse("not_partitioned", "جدول‌های پول هنوز ماهانه نشده‌اند.")
    today = today or timezone.localdate()
    if period != months.month_start(period):
        raise _refuse("not_a_month", "ماه باید با روز اول یک ماه شمسی داده شود.")
    oldest_kept = months.month_start(today)
    for _ in range(settings.LEDGER_ATTACHED_MONTHS):
        oldest_kept = months.month_start(oldest_kept - dt.timedelta(days=1))
    label = months.month_label(period)
    if period >= oldest_kept:
        raise _refuse(
            "too_recent",
            f"ماه {label} هنوز باید در جدول‌ها بماند؛ تنها ماه‌های پیش از {months.month_label(oldest_kept)} بایگانی می‌شوند.",
        )
    if ArchivedMonth.objects.filter(period=period).exists():
        raise _refuse("already_archived", f"ماه {label} پیش‌تر بایگانی شده است.")
    end = months.next_month(period)
    names = {table: months.partition_name(table, period) for table in MONTHLY_TABLES}
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [f"public.{names[POSTINGS]}"])
        if cursor.fetchone()[0] is None:
            raise _refuse("no_partition", f"ماه {label} جدول جداگانه‌ای ندارد.")
        # Nothing is moved underneath: purchases, entries, postings and charges of the month are
        # read and detached under one lock (DETACH takes it anyway).
        for table in MONTHLY_TABLES:
            cursor.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
        cursor.execute(
            f"SELECT count(*) FROM {names[PURCHASES]} p WHERE NOT EXISTS (SELECT 1 FROM settlements_settlementline l "
            "WHERE l.purchase_id = p.id AND l.kind = 'purchase')"
        )
        unsettled = cursor.fetchone()[0]
        if unsettled:
            raise _refuse(
                "unsettled",
                f"{unsettled} خرید ماه {label} هنوز با فروشگاه تسویه نشده است؛ پس از تسویه بایگانی کنید.",
            )
    _verify_digests(period=period, end=end)
    # Funds' and payables' balances are their roll-ups plus later postings (selectors.
    # account_balance): rolled up now, every roll-up covers the month, so detaching it moves none.
    from settlements.services.reconcile import roll_up_balances

    roll_up_balances()
    with connection.cursor() as cursor:
        counts = {}
        for table in MONTHLY_TABLES:
            cursor.execute(f"SELECT count(*) FROM {names[table]}")
            counts[table] = cursor.fetchone()[0]
        archived = ArchivedMonth.objects.create(
            period=period,
            label=label,
            purchases=counts[PURCHASES],
            entries=counts[ENTRIES],
            postings=counts[POSTINGS],
            tables={table: f"archive_{name}" for table, name in names.items()},
            detached_by=user,
        )
        cursor.execute(
            "INSERT INTO settlements_archivedbalance (month_id, account_id, amount_rial, postings, last_posting_id) "
            f"SELECT %s, account_id, SUM(amount_rial), COUNT(*), MAX(id) FROM {names[POSTINGS]} GROUP BY account_id",
            [archived.pk],
        )
        for table in (CHARGES, POSTINGS, ENTRIES, PURCHASES):
            months.detach_month(cursor, table, period)
    return archived


def _verify_digests(*, period: dt.date, end: dt.date) -> None:
    """Every stored day digest of the month still matches its entries."""
    from settlements.services.reconcile import day_digest  # reconcile imports this module

    for digest in LedgerDigest.objects.filter(day__gte=period, day__lt=end):
        if day_digest(day=digest.day) != (digest.entries, digest.digest):
            raise _refuse(
                "digest_mismatch",
                f"سندهای روز {digest.day} با چکیده ثبت‌شده نمی‌خواند؛ پیش از بایگانی بررسی کنید.",
            )


def archived_sums() -> dict[int, tuple[int, int]]:
    """Per account: the sum of its archived postings and the highest archived posting id."""
    sums: dict[int, tuple[int, int]] = {}
    for account_id, amount, last in ArchivedBalance.objects.values_list(
        "account_id", "amount_rial", "last_posting_id"
    ):
        total, highest = sums.get(account_id, (0, 0))
        sums[account_id] = (total + amount, max(highest, last))
    return sums


def archived_periods() -> list[tuple[dt.date, dt.date]]:
    """The ``[start, end)`` of every archived month."""
    return [
        (period, months.next_month(period))
        for period in ArchivedMonth.objects.values_list("period", flat=True)
    ]
