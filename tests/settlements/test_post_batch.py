"""``ledger.post_batch``, the national runs' writer: on PostgreSQL wallets, entries and both legs
go in one statement; on SQLite in three. Either way each entry gets exactly its two legs, and the
database, not the batch's own SELECT, is what refuses a second charge."""

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from settlements.models import Account, AccountKind, Cycle, EntryKind, JournalEntry, Posting
from settlements.selectors import wallet_balance
from settlements.services import ledger
from settlements.services.ledger import (
    BATCH_TABLE,
    create_batch_table,
    entry_period,
    post_batch,
    system_account,
)
from tests.households.factories import make_household
from tests.settlements.factories import charge

pytestmark = pytest.mark.django_db


def batch(*rows: tuple[int, int, str]) -> None:
    create_batch_table()
    with connection.cursor() as cursor:
        for row in rows:
            cursor.execute(
                f"INSERT INTO {BATCH_TABLE} (household_id, amount_rial, idempotency_key) VALUES (%s, %s, %s)",  # noqa: S608 - a constant
                list(row),
            )


def post(*, kind: str, to_wallet: bool, cycle_id: int | None, keys_unposted: bool = False):  # type: ignore[no-untyped-def]
    # Filed as the runs file them: a charge under its cycle's month, anything else under now's.
    cycle = Cycle.objects.get(pk=cycle_id) if cycle_id else None
    period = entry_period(kind=kind, cycle=cycle, purchase=None, moment=timezone.now())
    return post_batch(
        kind=kind, fund=system_account(kind=AccountKind.PROGRAMME_FUND), to_wallet=to_wallet,
        cycle_id=cycle_id, phase_id=None, run_id=None, process="test", memo="",
        keys_unposted=keys_unposted, period=period,
    )  # fmt: skip


def test_each_charge_gets_a_wallet_leg_and_a_fund_leg_of_its_own_amount():
    households = [make_household(decile=1, members=m) for m in (0, 1, 2)]

    charge("1402-06")

    fund = system_account(kind=AccountKind.PROGRAMME_FUND)
    for household, amount in zip(households, (2_000_000, 4_000_000, 6_000_000), strict=True):
        entry = JournalEntry.objects.get(household=household, kind=EntryKind.CYCLE_CHARGE)
        legs = sorted(Posting.objects.filter(entry=entry).values_list("account_id", "amount_rial"))
        assert legs == sorted([(household.wallet.pk, amount), (fund.pk, -amount)])
        assert wallet_balance(household_id=household.pk) == amount


def test_a_second_charge_in_a_batch_that_skipped_the_key_look_up_is_refused_by_the_database():
    household = make_household(decile=1)
    cycle = charge("1402-06")
    batch((household.pk, 2_000_000, "charge:1402-06:again"))

    with pytest.raises(DatabaseError), transaction.atomic():
        post(kind=EntryKind.CYCLE_CHARGE, to_wallet=True, cycle_id=cycle.pk, keys_unposted=True)

    assert JournalEntry.objects.filter(kind=EntryKind.CYCLE_CHARGE).count() == 1
    assert wallet_balance(household_id=household.pk) == 2_000_000


def test_a_key_already_posted_is_dropped_from_the_batch_and_posts_nothing():
    household = make_household(decile=1)
    charge("1402-06")
    batch((household.pk, 2_000_000, f"charge:1402-06:{household.pk}"))

    totals = post(kind=EntryKind.SETTLEMENT, to_wallet=True, cycle_id=None)

    assert (totals.entries, totals.amount_rial) == (0, 0)
    assert wallet_balance(household_id=household.pk) == 2_000_000


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
def test_a_first_charge_refused_for_another_reason_is_not_retried_as_an_upsert():
    """Only a wallet's collision sends the plain insert back to the upsert: an entry whose key is
    already posted is refused at once, in the one statement, with nothing written."""
    charged = make_household(decile=1)
    cycle = charge("1402-06")
    newcomer = make_household(decile=1)  # no wallet yet: the plain insert is taken
    batch((newcomer.pk, 2_000_000, f"charge:1402-06:{charged.pk}"))  # the other household's key
    with (
        pytest.raises(DatabaseError),
        transaction.atomic(),
        wallet_statements() as sent,
    ):
        post(kind=EntryKind.CYCLE_CHARGE, to_wallet=True, cycle_id=cycle.pk, keys_unposted=True)

    assert ["ON CONFLICT" in sql for sql in sent] == [False]
    assert not JournalEntry.objects.filter(household=newcomer).exists()
    assert not Account.objects.filter(household=newcomer).exists()
