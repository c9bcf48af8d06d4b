"""Concurrent money movements against real PostgreSQL, from real threads with their own connections."""

import threading

import pytest
from django.db import IntegrityError, connection, transaction

from settlements.models import AccountKind, EntryKind, JournalEntry, RunChunk, RunKind, RunStatus
from settlements.selectors import wallet_balance
from settlements.services import rules, runs
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
from tests.settlements.factories import buy, charge, charge_counts, seeded_phases, this_month

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


def test_two_writers_charging_overlapping_ranges_at_once_charge_each_household_once():
    """Two charges of ranges that share households, at once: their entries' keys differ (each is
    keyed by its own lowest household), so it is the charges' key that refuses the second writer,
    whole. The second writer starts once the first has written and fills its batch before the
    first commits, so its statement waits on the first's rows. Run again, it charges only the households left."""
    households = [make_household(decile=1) for _ in range(6)]
    seeded_phases()
    cycle = rules.ensure_cycle(key="1402-06")
    run = start_run(kind=RunKind.CYCLE_CHARGE, cycle=cycle, chunk_size=100)
    ids = sorted(h.pk for h in households)
    ranges = [(ids[0], ids[4]), (ids[2], ids[-1] + 1)]  # ids[2] and ids[3] in both
    first_has_written, second_is_writing = threading.Event(), threading.Event()

    def note_the_write(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        if sql.startswith("WITH e AS"):
            second_is_writing.set()
        return execute(sql, params, many, context)

    def work(index: int) -> int:
        low, high = ranges[index]
        if index == 0:
            with transaction.atomic():
                charged = runs.execute_range(run=run, low=low, high=high)[1]
                first_has_written.set()
                assert second_is_writing.wait(timeout=30)  # commits once the second has filled
            return charged
        assert first_has_written.wait(timeout=30)
        with connection.execute_wrapper(note_the_write), transaction.atomic():
            return runs.execute_range(run=run, low=low, high=high)[1]

    results = in_threads(2, work)

    assert results[0] == 4
    assert isinstance(results[1], IntegrityError), results
    assert "settlements_charge" in str(results[1]), results[1]
    with transaction.atomic():
        assert runs.execute_range(run=run, low=ranges[1][0], high=ranges[1][1])[1] == 2
    assert charge_counts(cycle) == (6, 6, 6)
    assert [wallet_balance(household_id=h.pk) for h in households] == [2_000_000] * 6
    assert JournalEntry.objects.filter(kind=EntryKind.CYCLE_CHARGE).count() == 2
    report = reconcile(verify_digests=False)
    assert report.ok, report.breaches


def test_purchases_at_full_speed_during_a_credit_run_and_a_bonus_sweep_leave_the_ledger_clean():
    """Issue 14's fault list: shoppers buy while another cycle's credit run and this month's bonus
    sweep run over the same wallets, each in its own thread and connection."""
    seeded_phases()
    households = [make_household(decile=2) for _ in range(24)]
    this_cycle = charge(this_month())
    other = rules.ensure_cycle(key="1402-06")
    charge_run = runs.start_run(kind=RunKind.CYCLE_CHARGE, cycle=other, chunk_size=3)
    sweep = runs.start_run(kind=RunKind.BONUS_SWEEP, cycle=this_cycle, chunk_size=3)

    def work(index: int) -> object:
        if index == 0:
            return runs.run_inline(run=charge_run).status
        if index == 1:
            return runs.run_inline(run=sweep).status
        bought = 0
        for household in households[index - 2 :: 6]:
            for _ in range(3):  # one unit priced 300,000 / 400,000 rials, three times
                buy(household, cycle=this_cycle, base=300_000, current=400_000)
                bought += 1
        return bought

    results = in_threads(8, work)

    assert results[:2] == [RunStatus.COMPLETED, RunStatus.COMPLETED], results
    assert results[2:] == [12, 12, 12, 12, 12, 12], results
    for cycle in (this_cycle, other):
        assert charge_counts(cycle) == (24, 24, 24)
    assert JournalEntry.objects.filter(kind=EntryKind.PURCHASE).count() == 72
    report = reconcile(verify_digests=False)
    assert report.ok, report.breaches
