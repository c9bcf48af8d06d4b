"""Store settlement runs: each store is owed credit + compensation of its purchases, net of
reversals, settled exactly once, with negative nets carried forward and suspended stores held."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from settlements import tasks
from settlements.models import (
    AccountKind,
    EntryKind,
    JournalEntry,
    Posting,
    SettlementLine,
    SettlementRun,
    SettlementRunStatus,
    SettlementStatus,
    StoreSettlement,
)
from settlements.services import store_settlement
from settlements.services.reconcile import reconcile
from stores import services as store_services
from tests.households.factories import HouseholdFactory
from tests.settlements.factories import (
    buy,
    charge,
    clock_at,
    owed_rial,
    reverse,
    settle,
    this_month,
)
from tests.stores.factories import StoreFactory, make_terminal

pytestmark = pytest.mark.django_db


@pytest.fixture
def household():  # type: ignore[no-untyped-def]
    """A decile-4 household of one with this month's 2,000,000 rial of credit."""
    return HouseholdFactory(decile=4)


@pytest.fixture
def cycle(household):  # type: ignore[no-untyped-def]
    return charge(this_month())


def _settlement_of(store, run) -> StoreSettlement:  # type: ignore[no-untyped-def]
    return StoreSettlement.objects.get(store=store, run=run)


def test_a_store_is_owed_credit_and_compensation_of_its_purchases_to_the_rial(household, cycle):
    # Given the source's example at one store: base 5,000,000, current 8,000,000 rial with
    # 2,000,000 of credit, so the credit pays 2,000,000 and the compensation 1,000,000
    terminal = make_terminal()
    purchase = buy(household, cycle=cycle, base=5_000_000, current=8_000_000, terminal=terminal)
    assert (purchase.credit_rial, purchase.compensation_rial) == (2_000_000, 1_000_000)
    # When the stores are settled
    run = settle()
    # Then the store's settlement is 3,000,000 rial, from one purchase, a draft with its Sheba
    settlement = _settlement_of(terminal.store, run)
    assert (
        settlement.amount_rial,
        settlement.purchases_rial,
        settlement.purchase_count,
        settlement.status,
        settlement.sheba,
        settlement.owner_name,
    ) == (
        3_000_000,
        3_000_000,
        1,
        SettlementStatus.DRAFT,
        terminal.store.sheba,
        terminal.store.owner_name,
    )
    assert run.status == SettlementRunStatus.COMPLETED


def test_settling_posts_store_payable_to_settlement_clearing(household, cycle):
    terminal = make_terminal()
    purchase = buy(household, cycle=cycle, base=100_000, current=400_000, terminal=terminal)
    run = settle()
    settlement = _settlement_of(terminal.store, run)
    entry = JournalEntry.objects.get(idempotency_key=f"settlement:{settlement.pk}")
    legs = sorted(Posting.objects.filter(entry=entry).values_list("account__kind", "amount_rial"))
    assert entry.kind == EntryKind.SETTLEMENT
    assert legs == [
        (AccountKind.SETTLEMENT_CLEARING, owed_rial(purchase)),
        (AccountKind.STORE_PAYABLE, -owed_rial(purchase)),
    ]
    assert reconcile(verify_digests=False).ok


def test_a_reversal_before_the_cutoff_nets_out_in_the_same_settlement(household, cycle):
    terminal = make_terminal()
    kept = buy(household, cycle=cycle, base=100_000, current=300_000, terminal=terminal)
    undone = reverse(buy(household, cycle=cycle, base=100_000, current=500_000, terminal=terminal))
    settlement = _settlement_of(terminal.store, settle())
    assert (
        settlement.purchase_count,
        settlement.reversal_count,
        settlement.purchases_rial,
        settlement.reversals_rial,
        settlement.amount_rial,
    ) == (2, 1, owed_rial(kept) + owed_rial(undone), -owed_rial(undone), owed_rial(kept))


def test_a_reversal_after_its_purchase_was_settled_is_deducted_next_time(household, cycle):
    terminal = make_terminal()
    early = buy(household, cycle=cycle, base=100_000, current=300_000, terminal=terminal)
    first = _settlement_of(terminal.store, settle())
    reverse(early)
    later = buy(household, cycle=cycle, base=100_000, current=900_000, terminal=terminal)
    second = _settlement_of(terminal.store, settle())
    assert first.amount_rial == owed_rial(early)
    assert (second.reversals_rial, second.amount_rial) == (
        -owed_rial(early),
        owed_rial(later) - owed_rial(early),
    )


def test_a_negative_net_moves_nothing_and_is_carried_into_the_next_settlement(household, cycle):
    terminal = make_terminal()
    early = buy(household, cycle=cycle, base=100_000, current=500_000, terminal=terminal)
    settle()
    reverse(early)
    negative = _settlement_of(terminal.store, settle())
    assert (negative.amount_rial, negative.status) == (-owed_rial(early), SettlementStatus.CARRIED)
    assert not JournalEntry.objects.filter(idempotency_key=f"settlement:{negative.pk}").exists()
    later = buy(household, cycle=cycle, base=100_000, current=1_100_000, terminal=terminal)
    next_one = _settlement_of(terminal.store, settle())
    negative.refresh_from_db()
    assert (next_one.carried_in_rial, next_one.amount_rial, negative.carried_into_id) == (
        -owed_rial(early),
        owed_rial(later) - owed_rial(early),
        next_one.pk,
    )


def test_a_store_whose_only_news_is_a_negative_waiting_amount_gets_no_new_settlement(
    household, cycle
):
    terminal = make_terminal()
    early = buy(household, cycle=cycle, base=100_000, current=500_000, terminal=terminal)
    settle()
    reverse(early)
    settle()
    third = settle()
    assert not StoreSettlement.objects.filter(run=third).exists()


def test_each_purchase_and_reversal_is_settled_once_however_often_settlement_runs(household, cycle):
    terminal = make_terminal()
    purchase = reverse(
        buy(household, cycle=cycle, base=100_000, current=300_000, terminal=terminal)
    )
    buy(household, cycle=cycle, base=100_000, current=200_000, terminal=terminal)
    until = timezone.now()
    first = settle(until=until)
    again = settle(until=until + dt.timedelta(seconds=1))
    assert (
        SettlementLine.objects.filter(purchase=purchase).count() == 2
    )  # its purchase, its reversal
    assert SettlementLine.objects.count() == 3
    assert StoreSettlement.objects.filter(run=first).count() == 1
    assert not StoreSettlement.objects.filter(run=again).exists()


def test_a_purchase_after_the_cutoff_waits_for_the_next_run(household, cycle):
    terminal = make_terminal()
    until = timezone.now()
    later = buy(household, cycle=cycle, base=100_000, current=300_000, terminal=terminal)
    assert not StoreSettlement.objects.filter(run=settle(until=until)).exists()
    assert _settlement_of(terminal.store, settle()).amount_rial == owed_rial(later)


def test_a_suspended_stores_settlement_is_held(household, cycle):
    terminal = make_terminal()
    buy(household, cycle=cycle, base=100_000, current=300_000, terminal=terminal)
    store_services.suspend_store(store=terminal.store, reason="بازرسی", by=None)
    assert _settlement_of(terminal.store, settle()).status == SettlementStatus.HELD


def test_the_settlement_keeps_the_sheba_and_payee_of_its_moment(household, cycle):
    terminal = make_terminal()
    buy(household, cycle=cycle, base=100_000, current=300_000, terminal=terminal)
    settlement = _settlement_of(terminal.store, settle())
    type(terminal.store).objects.filter(pk=terminal.store_id).update(
        sheba="IR062960000000100324200001", owner_name="دیگری"
    )
    settlement.refresh_from_db()
    assert (settlement.sheba, settlement.owner_name) == (
        terminal.store.sheba,
        terminal.store.owner_name,
    )


def test_only_stores_with_something_to_settle_get_a_settlement(household, cycle):
    busy, idle = make_terminal(), StoreFactory()
    buy(household, cycle=cycle, base=100_000, current=300_000, terminal=busy)
    run = settle()
    assert list(StoreSettlement.objects.filter(run=run).values_list("store_id", flat=True)) == [
        busy.store_id
    ]
    assert not StoreSettlement.objects.filter(store=idle).exists()


def test_a_cutoff_too_recent_is_refused_naming_the_field():
    with pytest.raises(ValidationError) as refused:
        store_settlement.start_settlement(cutoff=timezone.now(), enqueue=None)
    assert refused.value.error_dict["until"][0].code == "cutoff_too_recent"


def test_the_default_cutoff_is_the_last_midnight_in_tehran():
    moment = dt.datetime(2026, 11, 30, 21, 0, tzinfo=dt.UTC)  # 00:30 on 1 December in Tehran
    cutoff = store_settlement.last_midnight(now=moment)
    assert cutoff == dt.datetime(2026, 11, 30, 20, 30, tzinfo=dt.UTC)


def test_a_run_killed_between_chunks_is_resumed_and_settles_nothing_twice(household, cycle):
    # Given purchases at three stores and a run that settled one chunk of one store, then died
    terminals = [make_terminal() for _ in range(3)]
    purchases = [
        buy(household, cycle=cycle, base=100_000, current=200_000 + 100_000 * i, terminal=t)
        for i, t in enumerate(terminals)
    ]
    until = timezone.now()
    with_clock = until + dt.timedelta(hours=1)
    with clock_at(with_clock):
        run = store_settlement.start_settlement(cutoff=until, chunk_size=1, enqueue=None)
        store_settlement.stage_lines(run_id=run.pk)
        first_chunk = store_settlement.pending_chunks(run_id=run.pk)[0]
        store_settlement.execute_chunk(chunk_id=first_chunk)
        # When the run is started again with the same cut-off
        resumed = store_settlement.launch_settlement(
            cutoff=until, chunk_size=1, inline=True, enqueue=lambda run_id: None
        )
    # Then it is the same run, now complete, with each store settled once and to the rial
    assert resumed.pk == run.pk
    assert resumed.status == SettlementRunStatus.COMPLETED
    amounts = dict(StoreSettlement.objects.values_list("store_id", "amount_rial"))
    assert amounts == {t.store_id: owed_rial(p) for t, p in zip(terminals, purchases, strict=True)}


def test_the_nightly_task_settles_every_store_up_to_last_midnight(
    household, cycle, django_capture_on_commit_callbacks
):
    terminal = make_terminal()
    midnight = store_settlement.last_midnight()
    before = buy(
        household,
        cycle=cycle,
        base=100_000,
        current=300_000,
        terminal=terminal,
        at=midnight - dt.timedelta(hours=1),
    )
    buy(household, cycle=cycle, base=100_000, current=500_000, terminal=terminal)
    # The beat's hour, 02:30 in Tehran (a cut-off of midnight is too recent just after it).
    with (
        clock_at(midnight + dt.timedelta(hours=2, minutes=30)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        run_id = tasks.run_store_settlement.delay().get()
    run = SettlementRun.objects.get(pk=run_id)
    assert (run.cutoff, run.status) == (midnight, SettlementRunStatus.COMPLETED)
    assert _settlement_of(terminal.store, run).amount_rial == owed_rial(before)


def test_the_nightly_settlement_is_on_the_beat_schedule():
    task = PeriodicTask.objects.get(task="settlements.tasks.run_store_settlement")
    assert (task.enabled, task.crontab.hour, task.crontab.minute) == (True, "2", "30")


def test_an_unfinished_earlier_run_is_finished_by_the_next_one(household, cycle):
    # Given a run that staged its lines and then failed before settling any store
    terminal = make_terminal()
    early = buy(household, cycle=cycle, base=100_000, current=300_000, terminal=terminal)
    first_cutoff = timezone.now()
    with clock_at(first_cutoff + dt.timedelta(hours=1)):
        stuck = store_settlement.start_settlement(cutoff=first_cutoff, enqueue=None)
        store_settlement.stage_lines(run_id=stuck.pk)
    SettlementRun.objects.filter(pk=stuck.pk).update(status=SettlementRunStatus.FAILED)
    later = buy(household, cycle=cycle, base=100_000, current=700_000, terminal=terminal)
    # When the next night's run starts
    run = settle()
    # Then the stuck run settles what it staged, and the new one the rest
    stuck.refresh_from_db()
    assert stuck.status == SettlementRunStatus.COMPLETED
    assert _settlement_of(terminal.store, stuck).amount_rial == owed_rial(early)
    assert _settlement_of(terminal.store, run).amount_rial == owed_rial(later)
