"""The national runs' writers. ``ledger.post_charge_batch`` charges a chunk in ONE entry: the
fund's total against each wallet's credit, and a ``Charge`` row a household naming it;
``ledger.post_batch`` (the bonus, the expiry) posts an entry a household. On PostgreSQL each writes
wallets, entries and legs in one statement, on SQLite in a few. Either way the legs are exactly
the batch's amounts, and the database, not the batch's own SELECT, is what refuses a second
charge."""

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.models import Max
from django.utils import timezone

from households.models import Household
from settlements.models import (
    Account,
    AccountKind,
    Charge,
    Cycle,
    EntryKind,
    JournalEntry,
    Posting,
)
from settlements.selectors import wallet_balance
from settlements.services import ledger, rules
from settlements.services.ledger import (
    BATCH_TABLE,
    create_batch_table,
    entry_period,
    post_batch,
    post_charge_batch,
    system_account,
)
from tests.households.factories import make_household
from tests.settlements.factories import charge, seeded_phases

pytestmark = pytest.mark.django_db


def batch(*rows: tuple[int, int, str]) -> None:
    create_batch_table()
    with connection.cursor() as cursor:
        for row in rows:
            cursor.execute(
                f"INSERT INTO {BATCH_TABLE} (household_id, amount_rial, idempotency_key) VALUES (%s, %s, %s)",  # noqa: S608 - a constant
                list(row),
            )


def post(*, kind: str, to_wallet: bool, cycle_id: int | None):  # type: ignore[no-untyped-def]
    # Filed as the runs file them: a bonus under its cycle's month, anything else under now's.
    cycle = Cycle.objects.get(pk=cycle_id) if cycle_id else None
    period = entry_period(kind=kind, cycle=cycle, purchase=None, moment=timezone.now())
    return post_batch(
        kind=kind, fund=system_account(kind=AccountKind.PROGRAMME_FUND), to_wallet=to_wallet,
        cycle_id=cycle_id, phase_id=None, run_id=None, process="test", memo="", period=period,
    )  # fmt: skip


def post_charges(cycle: Cycle):  # type: ignore[no-untyped-def]
    return post_charge_batch(
        fund=system_account(kind=AccountKind.PROGRAMME_FUND), cycle=cycle, run_id=None,
        process="test", memo="",
    )  # fmt: skip


def a_cycle(key: str = "1402-06") -> Cycle:
    seeded_phases()
    return rules.ensure_cycle(key=key)


def test_a_charge_batch_is_one_entry_of_the_funds_total_against_each_wallets_credit():
    households = [make_household(decile=1) for _ in range(3)]
    amounts = (2_000_000, 4_000_000, 6_000_000)
    cycle = a_cycle()
    batch(*((h.pk, a, "") for h, a in zip(households, amounts, strict=True)))

    totals = post_charges(cycle)

    assert (totals.households, totals.amount_rial) == (3, 12_000_000)
    entry = JournalEntry.objects.get(kind=EntryKind.CYCLE_CHARGE)
    fund = system_account(kind=AccountKind.PROGRAMME_FUND)
    legs = sorted(Posting.objects.filter(entry=entry).values_list("account_id", "amount_rial"))
    wallets = [Account.objects.get(household=h).pk for h in households]
    assert legs == sorted([*zip(wallets, amounts, strict=True), (fund.pk, -12_000_000)])
    assert (entry.household_id, entry.cycle_id, entry.phase_id) == (None, cycle.pk, cycle.phase_id)
    assert entry.period == entry_period(
        kind=EntryKind.CYCLE_CHARGE, cycle=cycle, purchase=None, moment=timezone.now()
    )
    rows = sorted(Charge.objects.values_list("household_id", "amount_rial", "entry_id", "period"))
    assert rows == [
        (h.pk, a, entry.pk, entry.period) for h, a in zip(households, amounts, strict=True)
    ]
    for household, amount in zip(households, amounts, strict=True):
        assert wallet_balance(household_id=household.pk) == amount


def test_a_charge_entry_is_keyed_by_its_cycle_and_the_lowest_household_it_charges():
    households = sorted((make_household(decile=1) for _ in range(3)), key=lambda h: -h.pk)
    cycle = a_cycle()
    batch(*((h.pk, 1_000, "") for h in households))

    post_charges(cycle)

    lowest = min(h.pk for h in households)
    entry = JournalEntry.objects.get(kind=EntryKind.CYCLE_CHARGE)
    assert entry.idempotency_key == f"charge:{cycle.key}:{lowest}"


def test_rows_of_no_amount_are_dropped_and_an_empty_batch_posts_nothing():
    household = make_household(decile=1)
    cycle = a_cycle()
    batch((household.pk, 0, ""))

    totals = post_charges(cycle)

    assert (totals.households, totals.amount_rial) == (0, 0)
    assert not JournalEntry.objects.exists()
    assert not Charge.objects.exists()


def test_a_second_charge_in_a_batch_is_refused_by_the_charges_key_and_writes_nothing():
    """The batch's SELECT leaves out households charged already; a batch that did not (or a
    writer that raced it) is refused by the database, whole."""
    charged = make_household(decile=1)
    cycle = charge("1402-06")
    newcomer = make_household(decile=1)
    batch((charged.pk, 2_000_000, ""), (newcomer.pk, 2_000_000, ""))

    with pytest.raises(DatabaseError), transaction.atomic():
        post_charges(cycle)

    assert JournalEntry.objects.filter(kind=EntryKind.CYCLE_CHARGE).count() == 1
    assert list(Charge.objects.values_list("household_id", flat=True)) == [charged.pk]
    assert wallet_balance(household_id=charged.pk) == 2_000_000
    assert not Account.objects.filter(household=newcomer).exists()


def test_a_key_already_posted_is_dropped_from_the_batch_and_posts_nothing():
    household = make_household(decile=1)
    charge("1402-06")
    key = JournalEntry.objects.get(kind=EntryKind.CYCLE_CHARGE).idempotency_key
    batch((household.pk, 2_000_000, key))

    totals = post(kind=EntryKind.SETTLEMENT, to_wallet=True, cycle_id=None)

    assert (totals.households, totals.amount_rial) == (0, 0)
    assert wallet_balance(household_id=household.pk) == 2_000_000


def test_each_entry_of_an_entry_a_household_batch_gets_its_wallet_leg_and_a_fund_leg():
    households = [make_household(decile=1) for _ in range(2)]
    charge("1402-06")
    batch(*((h.pk, 500 * (i + 1), f"test:{h.pk}") for i, h in enumerate(households)))

    post(kind=EntryKind.SETTLEMENT, to_wallet=True, cycle_id=None)

    fund = system_account(kind=AccountKind.PROGRAMME_FUND)
    for i, household in enumerate(households):
        entry = JournalEntry.objects.get(idempotency_key=f"test:{household.pk}")
        legs = sorted(Posting.objects.filter(entry=entry).values_list("account_id", "amount_rial"))
        amount = 500 * (i + 1)
        assert entry.household_id == household.pk
        assert legs == sorted([(household.wallet.pk, amount), (fund.pk, -amount)])


@pytest.mark.postgres
def test_a_debit_of_a_household_without_a_wallet_is_refused_and_writes_nothing():
    """No wallet row to debit leaves the entry its fund leg alone: the balance trigger refuses it
    (SQLite keeps no ledger triggers; there reconcile_ledger reports such an entry)."""
    household = make_household(decile=1)
    batch((household.pk, 500, "expiry:test"))

    with pytest.raises(DatabaseError, match="does not balance"), transaction.atomic():
        post(kind=EntryKind.EXPIRY, to_wallet=False, cycle_id=None)

    assert not JournalEntry.objects.filter(kind=EntryKind.EXPIRY).exists()


@contextmanager
def wallet_statements() -> Iterator[list[str]]:
    """The statements sent inside the block that write wallets (PostgreSQL's one statement a
    batch), kept even when the block raises."""
    seen: list[str] = []

    def record(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        if "INSERT INTO settlements_account" in sql:
            seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        yield seen


@pytest.mark.postgres
def test_a_first_charge_creates_its_wallets_by_plain_insert_and_a_later_one_upserts():
    """No wallet in the batch's household range: the wallets are inserted without the upsert's
    look-up per row; once they exist, the next cycle's charge increases them."""
    household = make_household(decile=1)

    with wallet_statements() as first:
        charge("1402-06")
    with wallet_statements() as later:
        charge("1402-07")

    assert len(first) == 1 and "ON CONFLICT" not in first[0], first
    assert len(later) == 1 and "ON CONFLICT" in later[0], later
    assert wallet_balance(household_id=household.pk) == 4_000_000
    assert JournalEntry.objects.filter(kind=EntryKind.CYCLE_CHARGE).count() == 2


@pytest.mark.postgres
def test_a_wallet_created_after_the_range_probe_makes_the_plain_insert_give_way_to_the_upsert(
    monkeypatch,
):
    """A wallet created between the probe and the insert (a late charge's, a bonus's, on another
    connection) collides with the plain insert: the statement is undone to its savepoint and done
    again as the upsert, so the wallet is increased and every entry keeps both legs. Here both
    households' wallets exist and the probe is made to miss them."""
    household = make_household(decile=1)
    newcomer = make_household(decile=1)
    charge("1402-06")
    monkeypatch.setattr(ledger, "_no_wallet_in_batch_range", lambda cursor: True)
    batch(
        (household.pk, 700, f"test:{household.pk}"),
        (newcomer.pk, 300, f"test:{newcomer.pk}"),
    )

    with wallet_statements() as statements:
        post(kind=EntryKind.SETTLEMENT, to_wallet=True, cycle_id=None)

    assert ["ON CONFLICT" in sql for sql in statements] == [False, True]
    assert wallet_balance(household_id=household.pk) == 2_000_000 + 700
    assert wallet_balance(household_id=newcomer.pk) == 2_000_000 + 300
    for key in (f"test:{household.pk}", f"test:{newcomer.pk}"):
        assert Posting.objects.filter(entry__idempotency_key=key).count() == 2


@pytest.mark.postgres
def test_a_wallet_created_after_the_range_probe_gives_way_to_the_upsert_in_a_charge_batch(
    monkeypatch,
):
    """The same in the charge's one statement: the plain insert collides with the wallet that
    exists, the statement is undone to its savepoint and done again as the upsert, whose wallet
    legs take the batch's amounts (not the wallets' balances)."""
    household = make_household(decile=1)
    newcomer = make_household(decile=1)
    charge("1402-06")
    later = a_cycle("1402-07")
    monkeypatch.setattr(ledger, "_no_wallet_in_batch_range", lambda cursor: True)
    batch((household.pk, 700, ""), (newcomer.pk, 300, ""))

    with wallet_statements() as statements:
        post_charges(later)

    assert ["ON CONFLICT" in sql for sql in statements] == [False, True]
    assert wallet_balance(household_id=household.pk) == 2_000_000 + 700
    assert wallet_balance(household_id=newcomer.pk) == 2_000_000 + 300
    entry = JournalEntry.objects.get(kind=EntryKind.CYCLE_CHARGE, cycle=later)
    fund = system_account(kind=AccountKind.PROGRAMME_FUND)
    legs = sorted(Posting.objects.filter(entry=entry).values_list("account_id", "amount_rial"))
    assert legs == sorted(
        [(household.wallet.pk, 700), (newcomer.wallet.pk, 300), (fund.pk, -1_000)]
    )
    assert sorted(
        Charge.objects.filter(cycle=later).values_list("household_id", "amount_rial")
    ) == [
        (household.pk, 700),
        (newcomer.pk, 300),
    ]


@pytest.mark.postgres
def test_a_first_charge_refused_for_another_reason_is_not_retried_as_an_upsert():
    """Only a wallet's collision sends the plain insert back to the upsert: a wallet for a
    household that does not exist is refused at once, in the one statement, with nothing
    written."""
    cycle = a_cycle()
    newcomer = make_household(decile=1)  # no wallet yet: the plain insert is taken
    missing = (Household.objects.aggregate(top=Max("pk"))["top"] or 0) + 1_000
    batch((newcomer.pk, 2_000_000, ""), (missing, 2_000_000, ""))
    with (
        pytest.raises(DatabaseError, match="does not exist"),
        transaction.atomic(),
        wallet_statements() as sent,
    ):
        post_charges(cycle)

    assert ["ON CONFLICT" in sql for sql in sent] == [False]
    assert not JournalEntry.objects.exists()
    assert not Charge.objects.exists()
    assert not Account.objects.filter(kind=AccountKind.WALLET).exists()
