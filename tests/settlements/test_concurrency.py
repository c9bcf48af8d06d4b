"""Concurrent money movements against real PostgreSQL, from real threads with their own connections."""

import pytest

from settlements.models import AccountKind, EntryKind, JournalEntry, RunChunk, RunKind
from settlements.selectors import wallet_balance
from settlements.services import rules
from settlements.services.ledger import (
    InsufficientBalance,
    Leg,
    post_entry,
    system_account,
    wallet_for,
)
from settlements.services.reconcile import reconcile
from settlements.services.runs import execute_chunk, start_run
from tests.concurrency import in_threads
from tests.households.factories import make_household
from tests.settlements.factories import seeded_phases

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_concurrent_debits_never_drive_a_wallet_below_zero_or_lose_an_update():
    household = make_household()
    fund = system_account(kind=AccountKind.PROGRAMME_FUND)
    wallet = wallet_for(household=household)
    post_entry(
        kind=EntryKind.SETTLEMENT,
        idempotency_key="fill",
        legs=[Leg(wallet, 1_000), Leg(fund, -1_000)],
    )

    def debit(index: int) -> bool:
        post_entry(
            kind=EntryKind.SETTLEMENT,
            idempotency_key=f"debit-{index}",
            legs=[Leg(wallet, -100), Leg(fund, 100)],
        )
        return True

    results = in_threads(20, debit)

    assert sum(1 for r in results if r is True) == 10
    assert all(r is True or isinstance(r, InsufficientBalance) for r in results)
    assert wallet_balance(household_id=household.pk) == 0
    assert reconcile(verify_digests=False).ok


def test_the_same_key_sent_concurrently_posts_once():
    household = make_household()
    fund = system_account(kind=AccountKind.PROGRAMME_FUND)
    wallet = wallet_for(household=household)

    def credit(index: int) -> bool:
        return post_entry(
            kind=EntryKind.SETTLEMENT,
            idempotency_key="same",
            legs=[Leg(wallet, 500), Leg(fund, -500)],
        ).created

    results = in_threads(10, credit)

    assert JournalEntry.objects.filter(idempotency_key="same").count() == 1
    assert wallet_balance(household_id=household.pk) == 500
    assert sum(1 for r in results if r is True) == 1


def test_one_chunk_executed_by_two_workers_at_once_charges_once():
    households = [make_household(decile=1) for _ in range(5)]
    seeded_phases()
    run = start_run(
        kind=RunKind.CYCLE_CHARGE, cycle=rules.ensure_cycle(key="1402-06"), chunk_size=100
    )
    chunk = RunChunk.objects.get(run=run)

    results = in_threads(2, lambda index: execute_chunk(chunk_id=chunk.pk))

    assert sorted(results) == [False, True]
    assert [wallet_balance(household_id=h.pk) for h in households] == [2_000_000] * 5
