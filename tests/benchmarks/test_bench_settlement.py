"""Store settlement at national scale (issue 16): 100,000 stores (BENCH_SETTLEMENT_STORES) with
1,000,000 purchases since the last cut-off (BENCH_SETTLEMENT_PURCHASES, 1 % of them reversed),
on top of as many purchases settled by an earlier run; then approval, the payout file of every
store, the bank's answers for all of them and ``reconcile_settlements``.

    make bench BENCH_ARGS="-k settlement"

The purchases are written by ``devdata.purchases`` (COPY), without purchase lines or one ledger
entry each: the settlement reads neither. Each store's payable gets one opening entry per batch
of purchases instead, so that the ledger agrees with the purchases and reconcile has its data.
Everything runs in this process (``settle_stores --inline``); peak memory is this process's.
"""

import datetime as dt
import io
import os
import threading
import time
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Max
from django.utils import timezone

from devdata.households import generate_households
from devdata.purchases import generate_purchases
from devdata.stores import generate_stores
from kalabarg.lib.bulk import analyze
from settlements.models import StoreSettlement
from settlements.services import payouts, store_settlement
from settlements.services.settlement_reconcile import reconcile_settlements
from stores.models import Purchase
from tests.benchmarks.conftest import open_payables, report


def _never(run_id: int) -> None:
    raise AssertionError("the benchmark runs the settlement inline")


def _pay_everything(tmp_path: Path) -> None:
    """The history's settlements approved, exported and paid, as the months before would have."""
    officer = get_user_model().objects.create_superuser("bench-history", password="x")
    payouts.approve_settlements(officer=officer)
    batch = payouts.export_payouts(out=tmp_path / "history.csv")
    answers = io.StringIO()
    answers.write("reference,status,bank_reference,reason\n")
    for pk in StoreSettlement.objects.filter(payout_batch=batch).values_list("pk", flat=True):
        answers.write(f"KB{pk:012d},paid,H{pk},\n")
    answers.seek(0)
    payouts.import_payout_results(stream=answers)


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _timed(fn):  # type: ignore[no-untyped-def]
    """(result, seconds, MiB the resident memory rose above its level at the start, at its peak):
    sampled every 20 ms by a thread, since the process's lifetime peak is the data generation's."""
    start_rss, peak = _rss_mb(), [0.0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.02):
            peak[0] = max(peak[0], _rss_mb())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    try:
        result = fn()
    finally:
        done.set()
        sampler.join()
    seconds = round(time.perf_counter() - started, 2)
    return result, seconds, round(max(peak[0], _rss_mb()) - start_rss, 1)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_bench_settlement(tmp_path: Path):
    stores = int(os.environ.get("BENCH_SETTLEMENT_STORES", "100000"))
    purchases = int(os.environ.get("BENCH_SETTLEMENT_PURCHASES", "1000000"))
    now = timezone.now()
    first_cutoff = now - dt.timedelta(days=1, hours=1)
    cutoff = now - dt.timedelta(hours=1)

    generate_households(households=max(purchases // 10, 1_000), seed=16)
    generate_stores(count=stores, seed=16)
    # History: as many purchases over the two years before the first cut-off, settled first.
    generate_purchases(purchases=purchases, seed=161, terminals=stores, now=first_cutoff)
    open_payables(batch="history", after_id=0)
    analyze("stores_purchase", "settlements_account")
    first, first_s, _ = _timed(
        lambda: store_settlement.launch_settlement(cutoff=first_cutoff, inline=True, enqueue=_never)
    )
    _pay_everything(tmp_path)
    report(
        "settlement_history",
        purchases=purchases,
        seconds=first_s,
        settlements=first.settlements_total,
        lines=first.lines_total,
    )

    # The day: purchases in the 24 hours before the cut-off, 1 % of them reversed.
    history_last_id = Purchase.objects.aggregate(last=Max("pk"))["last"]
    generate_purchases(purchases=purchases, seed=162, terminals=stores, now=cutoff, history_days=1)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE stores_purchase SET status = 'reversed', reversed_at = created_at + interval '1 minute' "
            "WHERE id > %s AND id %% 100 = 0",
            [history_last_id],
        )
    open_payables(batch="day", after_id=history_last_id)
    analyze("stores_purchase", "settlements_settlementline", "settlements_storesettlement")

    # The steps of ``settle_stores --inline`` one by one, to see where the time goes.
    phases: dict[str, float] = {}

    def settle_by_steps():  # type: ignore[no-untyped-def]
        clock = time.perf_counter()
        run = store_settlement.start_settlement(cutoff=cutoff, enqueue=None)
        store_settlement.stage_lines(run_id=run.pk)
        phases["stage"] = time.perf_counter() - clock
        clock = time.perf_counter()
        for chunk_id in store_settlement.pending_chunks(run_id=run.pk):
            store_settlement.execute_chunk(chunk_id=chunk_id)
        phases["chunks"] = time.perf_counter() - clock
        run.refresh_from_db()
        return run

    run, settle_s, settle_mb = _timed(settle_by_steps)
    report(
        "settlement",
        stores=stores,
        purchases_since_cutoff=purchases,
        seconds=settle_s,
        stage_seconds=round(phases["stage"], 2),
        chunks_seconds=round(phases["chunks"], 2),
        lines=run.lines_total,
        settlements=run.settlements_total,
        chunks=run.chunks_total,
        amount_rial=run.amount_rial,
        peak_rss_growth_mb=settle_mb,
    )

    officer = get_user_model().objects.create_superuser("bench-finance", password="x")
    approval, approve_s, _ = _timed(
        lambda: payouts.approve_settlements(
            officer=officer,
            settlement_ids=StoreSettlement.objects.filter(run=run).values_list("pk", flat=True),
        )
    )
    out = tmp_path / "payouts.csv"
    batch, export_s, export_mb = _timed(lambda: payouts.export_payouts(out=out))
    report(
        "settlement_payouts",
        approved=approval.approved,
        approve_seconds=approve_s,
        exported_rows=batch.rows,
        export_seconds=export_s,
        export_peak_rss_growth_mb=export_mb,
        file_mb=round(out.stat().st_size / 1e6, 1),
    )

    references = StoreSettlement.objects.filter(payout_batch=batch).order_by("pk")
    answers = io.StringIO()
    answers.write("reference,status,bank_reference,reason\n")
    for index, pk in enumerate(references.values_list("pk", flat=True).iterator(chunk_size=10_000)):
        reference = f"KB{pk:012d}"
        if index % 20 == 0:
            answers.write(f"{reference},failed,,حساب مسدود است\n")
        else:
            answers.write(f"{reference},paid,BR{pk},\n")
    answers.seek(0)
    result, import_s, import_mb = _timed(lambda: payouts.import_payout_results(stream=answers))
    reconciled, reconcile_s, _ = _timed(reconcile_settlements)
    report(
        "settlement_results",
        rows=result.rows_read,
        paid=result.paid,
        failed=result.failed,
        rejected=result.rows_rejected,
        import_seconds=import_s,
        import_peak_rss_growth_mb=import_mb,
        reconcile_seconds=reconcile_s,
        reconcile_ok=reconciled.ok,
        mismatches=len(reconciled.mismatches),
    )
    assert reconciled.ok, reconciled.mismatches[:5]
