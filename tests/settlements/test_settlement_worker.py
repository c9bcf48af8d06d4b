"""A store settlement on a real Celery worker against Redis and PostgreSQL: staged, then chunk by
chunk of stores, every store settled once and to the rial."""

import pytest
from django.utils import timezone

from settlements.models import SettlementRun, SettlementRunStatus, StoreSettlement
from settlements.services import store_settlement
from settlements.services.settlement_reconcile import reconcile_settlements
from settlements.tasks import stage_settlement
from tests.households.factories import HouseholdFactory
from tests.settlements.factories import buy, charge, owed_rial, this_month
from tests.stores.factories import make_terminal
from tests.worker import WorkerProcess, wait_for

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.celery_worker,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_a_worker_stages_the_run_and_settles_every_chunk_of_stores(settings):
    # The worker runs on the real clock: a cut-off just after these purchases must be allowed.
    settings.SETTLEMENT_CUTOFF_MIN_AGE_MINUTES = 0
    household = HouseholdFactory(decile=4)
    cycle = charge(this_month())
    owed = {}
    for i in range(5):
        terminal = make_terminal()
        owed[terminal.store_id] = owed_rial(
            buy(household, cycle=cycle, base=10_000, current=30_000 + 1_000 * i, terminal=terminal)
        )
    worker = WorkerProcess().start()
    try:
        run = store_settlement.start_settlement(
            cutoff=timezone.now(),
            chunk_size=1,
            enqueue=lambda run_id: stage_settlement.apply_async(args=[run_id], queue=worker.queue),
        )
        finished = wait_for(
            lambda: SettlementRun.objects.get(pk=run.pk).status == SettlementRunStatus.COMPLETED,
            timeout=120,
        )
        assert finished, worker.output()[-3000:]
    finally:
        worker.stop()
    assert run.chunks_total >= 5
    assert dict(StoreSettlement.objects.values_list("store_id", "amount_rial")) == owed
    assert reconcile_settlements().ok
