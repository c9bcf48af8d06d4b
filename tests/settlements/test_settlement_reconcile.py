"""``reconcile_settlements``: every store's purchases are paid, exported, owed, waiting or
unsettled, to the rial; a mismatch made by hand is caught and named."""

import datetime as dt
import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from settlements.models import SettlementLine, SettlementStatus, StoreSettlement
from settlements.services import payouts, store_settlement
from settlements.services.settlement_reconcile import reconcile_settlements
from stores import services as store_services
from tests.approvals.factories import officer_with
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

pytestmark = pytest.mark.django_db


@pytest.fixture
def every_state(tmp_path: Path) -> dict[str, int]:
    """Stores whose settlements are paid, failed and paid again, exported, approved, draft, held
    and carried, plus a purchase not settled yet; returns the stores' purchases net, in total."""
    household = HouseholdFactory(decile=4)
    cycle = charge(this_month())
    finance = officer_with("finance", "settlements.approve_storesettlement")
    t = {
        name: make_terminal()
        for name in ("paid", "failed", "exported", "approved", "draft", "held", "carried")
    }
    bought = {
        name: buy(household, cycle=cycle, base=100_000, current=200_000 + 10_000 * i, terminal=term)
        for i, (name, term) in enumerate(t.items())
    }
    store_services.suspend_store(store=t["held"].store, reason="بازرسی", by=None)
    settle()
    reverse(buy(household, cycle=cycle, base=100_000, current=150_000, terminal=t["carried"]))
    reverse(bought["carried"])
    for name in ("paid", "failed", "exported"):
        payouts.approve_settlements(
            officer=finance,
            settlement_ids=StoreSettlement.objects.filter(store=t[name].store).values_list(
                "pk", flat=True
            ),
        )
    payouts.export_payouts(out=tmp_path / "first.csv")
    paid = StoreSettlement.objects.get(store=t["paid"].store)
    failed = StoreSettlement.objects.get(store=t["failed"].store)
    payouts.import_payout_results(
        stream=io.StringIO(
            "reference,status,bank_reference,reason\n"
            f"{paid.reference},paid,BR-1,\n{failed.reference},failed,,حساب مسدود\n"
        )
    )
    payouts.approve_settlements(
        officer=finance,
        settlement_ids=StoreSettlement.objects.filter(store=t["approved"].store).values_list(
            "pk", flat=True
        ),
    )
    settle()  # the failed payout again; the carried store's net is negative
    unsettled = buy(household, cycle=cycle, base=100_000, current=400_000, terminal=t["draft"])
    total = sum(owed_rial(p) for name, p in bought.items() if name != "carried") + owed_rial(
        unsettled
    )
    return {"total": total, "unsettled": owed_rial(unsettled)}


def test_every_store_reconciles_across_every_state(every_state):
    report = reconcile_settlements()
    assert report.mismatches == []
    assert report.totals["purchases"] == every_state["total"]
    assert report.totals["unsettled"] == every_state["unsettled"]
    assert set(StoreSettlement.objects.values_list("status", flat=True)) == {
        "paid",
        "failed",
        "exported",
        "approved",
        "draft",
        "held",
        "carried",
    }


def test_the_command_prints_the_totals_and_exits_0(every_state):
    out = io.StringIO()
    call_command("reconcile_settlements", stdout=out, stderr=io.StringIO())
    assert f"purchases net {every_state['total']:,} rial" in out.getvalue()
    assert "settlements reconciled: no mismatch" in out.getvalue()


def test_a_settlement_amount_changed_by_hand_is_caught_for_its_store(every_state):
    draft = StoreSettlement.objects.filter(status=SettlementStatus.DRAFT).first()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE settlements_storesettlement SET purchases_rial = purchases_rial + 10, "
            "amount_rial = amount_rial + 10 WHERE id = %s",
            [draft.pk],
        )
    err = io.StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command("reconcile_settlements", stdout=io.StringIO(), stderr=err)
    assert exited.value.code == 1
    assert f"MISMATCH store {draft.store_id}: purchases net" in err.getvalue()
    assert "(difference -10)" in err.getvalue()


def test_a_line_deleted_by_hand_is_caught(every_state):
    line = SettlementLine.objects.filter(kind="purchase").first()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM settlements_settlementline WHERE id = %s", [line.pk])
    report = reconcile_settlements()
    assert any(f"(store {line.store_id})" in m and "its lines give" in m for m in report.mismatches)


def test_a_purchase_edited_by_hand_after_settlement_is_caught(every_state):
    line = SettlementLine.objects.filter(kind="purchase", amount_rial__gt=0).first()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE stores_purchase SET compensation_rial = compensation_rial + 1, "
            "current_total_rial = current_total_rial + 1 WHERE id = %s",
            [line.purchase_id],
        )
    report = reconcile_settlements()
    assert f"line {line.pk} (purchase {line.purchase_id}): wrong amount" in report.mismatches


def test_lines_of_a_run_in_progress_count_as_in_progress_not_as_a_mismatch(every_state):
    cutoff = timezone.now()
    with clock_at(cutoff + dt.timedelta(hours=1)):
        run = store_settlement.start_settlement(cutoff=cutoff, enqueue=None)
        store_settlement.stage_lines(run_id=run.pk)
    report = reconcile_settlements()
    assert report.mismatches == []
    assert (report.totals["in_progress"], report.totals["unsettled"]) == (
        every_state["unsettled"],
        0,
    )
