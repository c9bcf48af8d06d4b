"""The money tables partitioned by month on PostgreSQL: where rows land, that keys and the ledger's
guards still hold across months, months created ahead and late, and a month detached for archive
while the ledger still reconciles."""

import datetime as dt
import threading
import time

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, connections, transaction
from django.utils import timezone

from kalabarg.lib import partitions as months
from settlements.models import (
    Account,
    AccountKind,
    ArchivedBalance,
    ArchivedMonth,
    Charge,
    EntryKind,
    JournalEntry,
    Posting,
)
from settlements.services import ledger, partitions
from settlements.services.reconcile import reconcile
from tests.households.factories import make_household
from tests.settlements.factories import buy, charge, settle, this_month

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.postgres,
]

MONEY_TABLES = ("stores_purchase", "settlements_journalentry", "settlements_posting")


def partition_of(table: str, row_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT tableoid::regclass::text FROM {table} WHERE id = %s", [row_id])  # noqa: S608
        return cursor.fetchone()[0]


def months_ahead(count: int) -> dt.date:
    period = months.month_start(timezone.localdate())
    for _ in range(count):
        period = months.next_month(period)
    return period


def test_each_money_table_is_partitioned_with_this_month_the_next_ones_and_a_default():
    this = months.month_start(timezone.localdate())
    with connection.cursor() as cursor:
        for table in MONEY_TABLES:
            assert months.is_partitioned(cursor, table), table
            attached = months.partitions(cursor, table)
            periods = [p.period for p in attached]
            assert periods[-1] is None, "the default partition comes last"
            assert {this, months_ahead(1), months_ahead(2), months_ahead(3)} <= set(periods)


def test_a_charge_is_filed_under_its_cycles_month_and_a_purchase_under_its_own():
    make_household(decile=1)
    cycle = charge(this_month())
    entry = JournalEntry.objects.get(kind=EntryKind.CYCLE_CHARGE)
    this = months.month_start(timezone.localdate())

    assert entry.period == months.month_start(cycle.starts_on) == this
    assert partition_of("settlements_journalentry", entry.pk) == months.partition_name(
        "settlements_journalentry", this
    )
    posting_periods = set(Posting.objects.filter(entry=entry).values_list("period", flat=True))
    assert posting_periods == {this}
    # Whenever it is posted: a charge of this cycle a month later still goes to its month.
    later = timezone.now() + dt.timedelta(days=40)
    assert (
        ledger.entry_period(kind=EntryKind.CYCLE_CHARGE, cycle=cycle, purchase=None, moment=later)
        == this
    )


def test_a_purchase_its_entry_and_postings_share_the_purchases_month():
    household = make_household(decile=1)
    cycle = charge(this_month())
    purchase = buy(household, cycle=cycle, base=100_000, current=150_000)
    entry = JournalEntry.objects.get(purchase=purchase, kind=EntryKind.PURCHASE)

    assert purchase.period == months.period_of(purchase.created_at)
    assert entry.period == purchase.period
    assert set(Posting.objects.filter(entry=entry).values_list("period", flat=True)) == {
        purchase.period
    }
    assert partition_of("stores_purchase", purchase.pk) == months.partition_name(
        "stores_purchase", purchase.period
    )


def test_a_key_posted_twice_across_a_months_turn_is_posted_once():
    """Keys are unique per month: a writer holding a key in next month's partition makes the
    second writer of the same key wait for it and find it, rather than post it again this month."""
    household = make_household(decile=1)
    charge(this_month())
    wallet = Account.objects.get(kind=AccountKind.WALLET, household=household)
    fund = ledger.system_account(kind=AccountKind.PROGRAMME_FUND)
    key = "manual:across-the-turn"
    next_month = months_ahead(1)
    first_holds_the_key = threading.Event()

    def first_writer() -> None:
        try:
            with transaction.atomic():
                ledger.lock_key(idempotency_key=key)
                with connection.cursor() as cursor:
                    cursor.execute(
                        "INSERT INTO settlements_journalentry (kind, idempotency_key, created_by_process, memo, "
                        "created_at, period) VALUES ('expiry', %s, 'test', '', now(), %s) RETURNING id",
                        [key, next_month],
                    )
                    entry_id = cursor.fetchone()[0]
                    cursor.execute(
                        "INSERT INTO settlements_posting (entry_id, account_id, amount_rial, period) "
                        "VALUES (%s, %s, 5, %s), (%s, %s, -5, %s)",
                        [entry_id, fund.pk, next_month, entry_id, fund.pk, next_month],
                    )
                first_holds_the_key.set()
                time.sleep(1.0)
        finally:
            connections.close_all()

    thread = threading.Thread(target=first_writer)
    thread.start()
    assert first_holds_the_key.wait(10)
    result = ledger.post_entry(
        kind=EntryKind.EXPIRY,
        idempotency_key=key,
        legs=[ledger.Leg(wallet, -1), ledger.Leg(fund, 1)],
        household=household,
    )
    thread.join()

    assert result.created is False
    assert JournalEntry.objects.filter(idempotency_key=key).count() == 1
    assert result.entry.period == next_month


def test_the_database_refuses_a_second_charge_of_a_cycle_in_its_month():
    household = make_household(decile=1)
    cycle = charge(this_month())
    first = Charge.objects.get(household=household)
    later = JournalEntry.objects.create(
        kind=EntryKind.CYCLE_CHARGE, idempotency_key="another-key", cycle=cycle,
        phase=cycle.phase, created_at=timezone.now() + dt.timedelta(days=40), period=first.period,
    )  # fmt: skip

    with pytest.raises(IntegrityError), transaction.atomic():
        Charge.objects.create(
            household=household, cycle=cycle, period=first.period, amount_rial=1, entry=later
        )
    assert partition_of_charge(household.pk) == months.partition_name(
        "settlements_charge", first.period
    )


def partition_of_charge(household_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text FROM settlements_charge WHERE household_id = %s",
            [household_id],
        )
        return cursor.fetchone()[0]


def test_a_charge_row_is_append_only():
    household = make_household(decile=1)
    charge(this_month())

    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        _insert(
            "UPDATE settlements_charge SET amount_rial = 1 WHERE household_id = %s", [household.pk]
        )
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        _insert("DELETE FROM settlements_charge WHERE household_id = %s", [household.pk])
    assert Charge.objects.get(household=household).amount_rial == 2_000_000


def _insert(sql: str, params: list[object]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_a_posting_filed_under_another_month_than_its_entry_is_refused():
    make_household(decile=1)
    charge(this_month())
    entry = JournalEntry.objects.get(kind=EntryKind.CYCLE_CHARGE)
    fund = ledger.system_account(kind=AccountKind.PROGRAMME_FUND)

    with (
        pytest.raises(IntegrityError, match="in its month, which does not exist"),
        transaction.atomic(),
    ):
        _insert(
            "INSERT INTO settlements_posting (entry_id, account_id, amount_rial, period) VALUES (%s, %s, 5, %s), (%s, %s, -5, %s)",
            [entry.pk, fund.pk, months_ahead(1), entry.pk, fund.pk, months_ahead(1)],
        )


@pytest.mark.parametrize(
    ("kind", "column", "refusal"),
    [("purchase", "purchase_id", "names purchase"), ("reversal", "reverses_id", "reverses entry")],
)
def test_an_entry_naming_a_purchase_or_an_entry_that_does_not_exist_is_refused(
    kind, column, refusal
):
    with pytest.raises(IntegrityError, match=refusal), transaction.atomic():
        _insert(
            f"INSERT INTO settlements_journalentry (kind, idempotency_key, created_by_process, memo, created_at, "  # noqa: S608
            f"period, {column}) VALUES (%s, 'k', '', '', now(), %s, %s)",
            [kind, months.month_start(timezone.localdate()), 10**12],
        )


@pytest.mark.parametrize(
    ("table", "columns"),
    [
        ("stores_purchaseline", "(purchase_id, item_id, quantity, unit_base_price_rial, unit_current_price_rial, base_amount_rial, current_amount_rial) VALUES (%s, 1, 1, 1, 1, 1, 1)"),
        ("settlements_settlementline", "(purchase_id, run_id, store_id, kind, amount_rial, occurred_at) VALUES (%s, 1, 1, 'purchase', 1, now())"),
    ],
)  # fmt: skip
def test_a_row_naming_a_purchase_that_does_not_exist_is_refused(table, columns):
    with pytest.raises(IntegrityError, match="does not exist"), transaction.atomic():
        _insert(f"INSERT INTO {table} {columns}", [10**12])


def _name_month(period: dt.date) -> None:
    """What the checkout does first: name the month this transaction writes in."""
    _insert("SELECT set_config('kalabarg.money_period', %s, true)", [period.isoformat()])


def _line(purchase_id: int) -> None:
    _insert(
        "INSERT INTO stores_purchaseline (purchase_id, item_id, quantity, unit_base_price_rial, "
        "unit_current_price_rial, base_amount_rial, current_amount_rial) "
        "SELECT %s, i.id, 1, 1, 1, 1, 1 FROM stores_basketitem i WHERE NOT EXISTS "
        "(SELECT 1 FROM stores_purchaseline l WHERE l.purchase_id = %s AND l.item_id = i.id) LIMIT 1",
        [purchase_id, purchase_id],
    )


def test_a_purchase_of_another_month_than_the_writer_names_is_still_found():
    household = make_household(decile=1)
    cycle = charge(this_month())
    purchase = buy(household, cycle=cycle, base=100_000, current=150_000)

    # The month named is a hint: a row naming a purchase filed elsewhere falls back to every month.
    with transaction.atomic():
        _name_month(months_ahead(2))
        _line(purchase.pk)
        _insert(
            "INSERT INTO settlements_journalentry (kind, idempotency_key, purchase_id, created_by_process, "
            "memo, created_at, period) VALUES ('settlement', 'hinted-elsewhere', %s, '', '', now(), %s)",
            [purchase.pk, months_ahead(2)],
        )

    assert JournalEntry.objects.filter(
        idempotency_key="hinted-elsewhere", purchase=purchase
    ).exists()


@pytest.mark.parametrize("named", ["this month", "another month"])
def test_a_purchase_or_entry_that_does_not_exist_is_refused_whatever_month_is_named(named):
    household = make_household(decile=1)
    cycle = charge(this_month())
    buy(household, cycle=cycle, base=100_000, current=150_000)
    entry = JournalEntry.objects.get(kind=EntryKind.CYCLE_CHARGE)
    fund = ledger.system_account(kind=AccountKind.PROGRAMME_FUND)
    period = entry.period if named == "this month" else months_ahead(1)

    with pytest.raises(IntegrityError, match="names purchase"), transaction.atomic():
        _name_month(period)
        _line(10**12)
    with (
        pytest.raises(IntegrityError, match="in its month, which does not exist"),
        transaction.atomic(),
    ):
        _name_month(period)
        _insert(
            "INSERT INTO settlements_posting (entry_id, account_id, amount_rial, period) "
            "VALUES (%s, %s, 5, %s), (%s, %s, -5, %s)",
            [10**12, fund.pk, entry.period, 10**12, fund.pk, entry.period],
        )


def test_a_statement_of_many_rows_naming_one_that_does_not_exist_is_refused():
    # More than 8 rows are checked in one join rather than one by one: the same refusals.
    household = make_household(decile=1)
    cycle = charge(this_month())
    purchase = buy(household, cycle=cycle, base=100_000, current=150_000)
    entry = JournalEntry.objects.get(kind=EntryKind.CYCLE_CHARGE)
    fund = ledger.system_account(kind=AccountKind.PROGRAMME_FUND)

    with pytest.raises(IntegrityError, match="names purchase"), transaction.atomic():
        _insert(
            "INSERT INTO stores_purchaseline (purchase_id, item_id, quantity, unit_base_price_rial, "
            "unit_current_price_rial, base_amount_rial, current_amount_rial) "
            "SELECT CASE WHEN row_number() OVER (ORDER BY i.id) = 9 THEN %s ELSE %s END, i.id, 1, 1, 1, 1, 1 "
            "FROM stores_basketitem i WHERE NOT EXISTS "
            "(SELECT 1 FROM stores_purchaseline l WHERE l.purchase_id = %s AND l.item_id = i.id)",
            [10**12, purchase.pk, purchase.pk],
        )
    legs = [(entry.pk, 5), (entry.pk, -5)] * 4 + [(10**12, 5), (10**12, -5)]
    with (
        pytest.raises(IntegrityError, match="in its month, which does not exist"),
        transaction.atomic(),
    ):
        _insert(
            "INSERT INTO settlements_posting (entry_id, account_id, amount_rial, period) VALUES "  # noqa: S608 - placeholders only
            + ", ".join(["(%s, %s, %s, %s)"] * len(legs)),
            [v for entry_id, amount in legs for v in (entry_id, fund.pk, amount, entry.period)],
        )


@pytest.mark.parametrize(
    ("last_legs", "refusal"),
    [
        ("entry filed under the next month", "in its month, which does not exist"),
        ("account that does not exist", "names ledger account"),
    ],
)
def test_many_postings_over_two_months_are_each_checked_in_their_month(last_legs, refusal):
    # More than 8 postings: their entries are looked up one month at a time, each entry once.
    make_household(decile=1)
    charge(this_month())
    entry = JournalEntry.objects.get(kind=EntryKind.CYCLE_CHARGE)
    fund = ledger.system_account(kind=AccountKind.PROGRAMME_FUND)
    legs = [(entry.period, fund.pk, 5), (entry.period, fund.pk, -5)] * 4
    if last_legs == "entry filed under the next month":
        legs += [(months_ahead(1), fund.pk, 5), (months_ahead(1), fund.pk, -5)]
    else:
        legs += [(entry.period, 10**12, 5), (entry.period, 10**12, -5)]

    with pytest.raises(IntegrityError, match=refusal), transaction.atomic():
        _insert(
            "INSERT INTO settlements_posting (entry_id, account_id, amount_rial, period) VALUES "  # noqa: S608 - placeholders only
            + ", ".join(["(%s, %s, %s, %s)"] * len(legs)),
            [v for period, account, amount in legs for v in (entry.pk, account, amount, period)],
        )


def test_postgres_never_deletes_a_purchase():
    household = make_household(decile=1)
    cycle = charge(this_month())
    purchase = buy(household, cycle=cycle, base=100_000, current=150_000)

    with pytest.raises(IntegrityError, match="never deleted"), transaction.atomic():
        _insert("DELETE FROM stores_purchase WHERE id = %s", [purchase.pk])


def test_months_are_created_ahead_once():
    far = months.month_start(timezone.localdate() + dt.timedelta(days=400))

    created = partitions.ensure_months(today=far, ahead=1)

    assert sorted(created) == sorted(
        months.partition_name(table, period)
        for table in (*MONEY_TABLES, "settlements_charge")
        for period in (far, months.next_month(far))
    )
    assert partitions.ensure_months(today=far, ahead=1) == []


def test_a_month_created_late_takes_its_rows_out_of_the_default_partition():
    household = make_household(decile=1)
    charge(this_month())
    late = months_ahead(8)  # no partition yet: its rows land in the default one
    fund = ledger.system_account(kind=AccountKind.PROGRAMME_FUND)
    wallet = Account.objects.get(kind=AccountKind.WALLET, household=household)
    with transaction.atomic():
        entry = JournalEntry.objects.create(
            kind=EntryKind.EXPIRY,
            idempotency_key="late",
            household=household,
            created_at=timezone.now(),
            period=late,
        )
        Posting.objects.bulk_create(
            [Posting(entry=entry, account=fund, amount_rial=7, period=late),
             Posting(entry=entry, account=wallet, amount_rial=-7, period=late)]
        )  # fmt: skip
        Account.objects.filter(pk=wallet.pk).update(balance_rial=wallet.balance_rial - 7)
    assert partition_of("settlements_journalentry", entry.pk) == "settlements_journalentry_default"

    with transaction.atomic(), connection.cursor() as cursor:
        created = partitions.ensure_month(cursor=cursor, period=late)

    assert months.partition_name("settlements_journalentry", late) in created
    assert partition_of("settlements_journalentry", entry.pk) == months.partition_name(
        "settlements_journalentry", late
    )
    assert Posting.objects.filter(entry=entry).count() == 2
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM settlements_posting_default")
        assert cursor.fetchone()[0] == 0
    # The default partition still refuses changes after the move (its triggers came back).
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        _insert(
            "INSERT INTO settlements_journalentry (kind, idempotency_key, created_by_process, memo, created_at, period) "
            "VALUES ('expiry', 'x', '', '', now(), %s)",
            [months_ahead(9)],
        )
        _insert(
            "UPDATE settlements_journalentry SET memo = 'edited' WHERE idempotency_key = 'x'", []
        )
    assert reconcile(verify_digests=False).ok


@pytest.fixture(autouse=True)
def _archives_dropped():
    """Archive tables are not the test database's: each test's go with it."""
    yield
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE tablename LIKE 'archive\\_%%'")
        for (table,) in cursor.fetchall():
            cursor.execute(f'DROP TABLE "{table}"')


def _an_old_charged_month() -> tuple[dt.date, int]:
    """Households charged in cycle 1402-06 (three years back), that month's partitions created."""
    make_household(decile=1)
    make_household(decile=2)
    cycle = charge("1402-06")
    period = months.month_start(cycle.starts_on)
    with transaction.atomic(), connection.cursor() as cursor:
        partitions.ensure_month(cursor=cursor, period=period)
    wallet_total = sum(
        Account.objects.filter(kind=AccountKind.WALLET).values_list("balance_rial", flat=True)
    )
    return period, wallet_total


def test_an_old_settled_month_is_detached_and_the_ledger_still_reconciles():
    period, wallet_total = _an_old_charged_month()
    entries = JournalEntry.objects.filter(period=period).count()
    postings = Posting.objects.filter(period=period).count()
    # One entry charged the chunk of both households: two wallet legs and the fund's.
    assert (entries, postings) == (1, 3) and wallet_total > 0
    assert Charge.objects.filter(period=period).count() == 2

    archived = partitions.archive_month(period=period)

    assert (
        archived.label == "1402-06"
        and archived.entries == entries
        and archived.postings == postings
    )
    assert not JournalEntry.objects.filter(period=period).exists()
    assert not Charge.objects.filter(period=period).exists()
    assert archived.tables["settlements_charge"] == "archive_settlements_charge_p1402_06"
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM archive_settlements_journalentry_p1402_06")
        assert cursor.fetchone()[0] == entries
    assert (
        sum(
            ArchivedBalance.objects.filter(
                month=archived, account__kind=AccountKind.WALLET
            ).values_list("amount_rial", flat=True)
        )
        == wallet_total
    )
    report = reconcile(verify_digests=False)
    assert report.ok, report.breaches


def test_without_the_archived_sums_the_detached_month_would_break_the_wallets():
    """The reconcile above passes because of the archived sums, not because it stopped looking."""
    period, _ = _an_old_charged_month()
    archived = partitions.archive_month(period=period)

    ArchivedBalance.objects.filter(month=archived).delete()

    assert reconcile(verify_digests=False).checks["wallet_balances"] == 2


def test_a_recent_month_is_not_archived():
    with pytest.raises(ValidationError) as refused:
        partitions.archive_month(period=months.month_start(timezone.localdate()))
    assert refused.value.error_dict["period"][0].code == "too_recent"
    assert not ArchivedMonth.objects.exists()


def test_a_month_with_a_purchase_not_yet_settled_is_not_archived():
    period, _ = _an_old_charged_month()
    cycle = charge("1402-06")
    household = Account.objects.filter(kind=AccountKind.WALLET).first().household
    purchase = buy(household, cycle=cycle, base=100_000, current=150_000)
    assert purchase.period == period

    with pytest.raises(ValidationError) as refused:
        partitions.archive_month(period=period)
    assert refused.value.error_dict["period"][0].code == "unsettled"
    assert not ArchivedMonth.objects.exists()

    settle()
    assert partitions.archive_month(period=period).purchases == 1
    assert reconcile(verify_digests=False).ok


def _reltuples(table: str) -> float:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [table])
        return cursor.fetchone()[0]


def test_a_credit_run_leaves_its_months_partitions_analysed():
    """This cluster runs without autovacuum, as a busy one may as well lag: without the run's own
    ANALYZE the month's partition it filled would still look empty to the planner."""
    for _ in range(3):
        make_household(decile=1)
    cycle = charge(this_month(), chunk_size=1)
    period = months.month_start(cycle.starts_on)

    assert _reltuples(months.partition_name("settlements_journalentry", period)) == 3
    assert _reltuples(months.partition_name("settlements_posting", period)) == 6
    assert _reltuples("settlements_account") >= 3
