"""Store settlements under concurrency, on real PostgreSQL from real threads: runs at once settle
each purchase and reversal exactly once; a failed payout racing a settlement is carried once;
exports at once export each payout once."""

import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from settlements.models import PayoutBatch, SettlementLine, SettlementStatus, StoreSettlement
from settlements.services import payouts, store_settlement
from settlements.services.reconcile import reconcile
from settlements.services.settlement_reconcile import reconcile_settlements
from stores.models import Purchase
from tests.approvals.factories import officer_with
from tests.concurrency import in_threads
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
from tests.stores.factories import make_terminal

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def _sales(stores: int = 4, per_store: int = 3) -> dict[int, int]:
    """Purchases at ``stores`` stores (the first of each store's reversed); what each is owed."""
    household = HouseholdFactory(decile=4)
    cycle = charge(this_month())
    owed: dict[int, int] = {}
    for _ in range(stores):
        terminal = make_terminal()
        made = [
            buy(household, cycle=cycle, base=10_000, current=20_000 + 1_000 * i, terminal=terminal)
            for i in range(per_store)
        ]
        reverse(made[0])
        owed[terminal.store_id] = sum(owed_rial(p) for p in made[1:])
    return owed


def _never(run_id: int) -> None:
    raise AssertionError("queued")


def _settle_in_thread(cutoff: dt.datetime) -> Any:
    return store_settlement.launch_settlement(
        cutoff=cutoff, chunk_size=1, inline=True, enqueue=_never
    )


@pytest.mark.parametrize("same_cutoff", [True, False], ids=["same-cutoff", "two-cutoffs"])
def test_runs_at_once_settle_each_purchase_and_reversal_exactly_once(same_cutoff: bool):
    owed = _sales()
    until = timezone.now()
    cutoffs = [until, until if same_cutoff else until - dt.timedelta(microseconds=1)]
    with clock_at(until + dt.timedelta(hours=1)):
        results = in_threads(2, lambda i: _settle_in_thread(cutoffs[i]))
    assert not [r for r in results if isinstance(r, Exception)], results
    per_store: dict[int, int] = {}
    for store_id, amount in StoreSettlement.objects.values_list("store_id", "amount_rial"):
        per_store[store_id] = per_store.get(store_id, 0) + amount
    assert per_store == owed
    assert (
        SettlementLine.objects.count()
        == Purchase.objects.count() + Purchase.objects.filter(reversed_at__isnull=False).count()
    )
    assert reconcile_settlements().ok
    assert reconcile(verify_digests=False).ok


def test_a_failed_payout_racing_a_settlement_is_carried_once(tmp_path: Path):
    # Given an exported payout and a new purchase at the same store
    owed = _sales(stores=1)
    finance = officer_with("finance", "settlements.approve_storesettlement")
    settle()
    payouts.approve_settlements(officer=finance)
    payouts.export_payouts(out=tmp_path / "p.csv")
    exported = StoreSettlement.objects.get()
    household = HouseholdFactory(decile=4)
    cycle = charge(this_month())
    terminal = Purchase.objects.filter(store_id=exported.store_id).first().terminal
    new = buy(household, cycle=cycle, base=10_000, current=90_000, terminal=terminal)
    answer = f"reference,status,bank_reference,reason\n{exported.reference},failed,,حساب مسدود\n"
    until = timezone.now()

    # When the bank's failure is imported while the next settlement runs
    def work(index: int) -> Any:
        if index == 0:
            return payouts.import_payout_results(stream=io.StringIO(answer))
        return _settle_in_thread(until)

    with clock_at(until + dt.timedelta(hours=1)):
        results = in_threads(2, work)
        assert not [r for r in results if isinstance(r, Exception)], results
        settle(until=until + dt.timedelta(seconds=1))  # whatever waited is taken now

    # Then the failed amount is in exactly one later settlement, and everything reconciles
    exported.refresh_from_db()
    later = StoreSettlement.objects.exclude(pk=exported.pk)
    assert exported.status == SettlementStatus.FAILED
    assert sum(later.values_list("carried_in_rial", flat=True)) == exported.amount_rial
    assert sum(later.values_list("amount_rial", flat=True)) == exported.amount_rial + owed_rial(new)
    assert sum(owed.values()) == exported.amount_rial
    assert reconcile_settlements().ok
    assert reconcile(verify_digests=False).ok


def test_exports_at_once_export_each_payout_once(tmp_path: Path):
    _sales(stores=6, per_store=2)
    finance = officer_with("finance", "settlements.approve_storesettlement")
    settle()
    payouts.approve_settlements(officer=finance)

    def export(index: int) -> Any:
        try:
            return payouts.export_payouts(out=tmp_path / f"p{index}.csv").rows
        except payouts.NothingToExport:
            return 0

    rows = in_threads(2, export)
    assert sorted(rows) == [0, 6]  # type: ignore[type-var]
    assert PayoutBatch.objects.count() == 1
    assert StoreSettlement.objects.filter(status=SettlementStatus.EXPORTED).count() == 6
