"""SMS at national scale: 1,000,000 heads of household queued into the outbox (BENCH_HOUSEHOLDS),
then dispatch by one real Celery worker (concurrency 1) to the local fake gateway for
BENCH_DISPATCH_SECONDS, with the worker's memory sampled as the campaign grows.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kalabarg_sms_bench REDIS_URL=redis://127.0.0.1:6379/2 \
      uv run pytest tests/benchmarks/test_bench_sms.py -s -o addopts=""
"""

import os
import time

import pytest
from django.db import connection

from devdata.fake_sms_gateway import FakeGateway
from devdata.households import generate_households
from notifications.defaults import ensure_default_templates
from notifications.models import CampaignStatus, SmsCampaign, SmsMessage
from notifications.services import campaigns
from settlements.models import Phase, PhaseBand
from tests.benchmarks.conftest import report
from tests.worker import WorkerProcess, _worker_memory_kib

pytestmark = [pytest.mark.redis, pytest.mark.celery_worker]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_bench_sms(monkeypatch, settings):
    households = int(os.environ.get("BENCH_HOUSEHOLDS", "1000000"))
    chunk_size = int(os.environ.get("BENCH_CHUNK_SIZE", "50000"))
    dispatch_seconds = float(os.environ.get("BENCH_DISPATCH_SECONDS", "60"))
    batch = os.environ.get("BENCH_SMS_BATCH", "200")
    generate_households(households=households, seed=5)
    ensure_default_templates()
    import datetime as dt

    phase = Phase.objects.create(name="bench", starts_on=dt.date(2019, 1, 1))
    PhaseBand.objects.create(
        phase=phase, min_decile=1, max_decile=10, credit_per_cycle_rial=2_000_000,
        bonus_threshold_rial=2_000_000, bonus_amount_rial=1_200_000,
    )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")

    # 1. The outbox: every chunk's INSERT … SELECT, in this process (no dispatch yet).
    started = time.perf_counter()
    campaign = campaigns.start_decile_notices(
        deciles=list(range(1, 11)), phase=phase, chunk_size=chunk_size, enqueue=lambda c, i: None
    )
    for chunk_id in campaign.chunks.order_by("index").values_list("pk", flat=True):
        SmsCampaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.BUILDING)
        campaigns.build_chunk(chunk_id=chunk_id)
    build_s = time.perf_counter() - started
    queued = SmsMessage.objects.filter(campaign=campaign).count()
    repeat_started = time.perf_counter()
    for chunk_id in campaign.chunks.values_list("pk", flat=True)[:3]:
        campaigns.SmsBuildChunk.objects.filter(pk=chunk_id).update(done=False)
        campaigns.build_chunk(chunk_id=chunk_id)
    repeat_chunk_s = (time.perf_counter() - repeat_started) / 3
    assert SmsMessage.objects.filter(campaign=campaign).count() == queued

    # 2. Dispatch: one worker process, the fake gateway in a thread of this process.
    with FakeGateway(port=0) as fake:
        worker = WorkerProcess(concurrency=1)
        settings.SMS_QUEUE = worker.queue
        for name, value in {
            "SMS_QUEUE": worker.queue, "SMS_BACKEND": "http", "SMS_HTTP_URL": fake.url,
            "SMS_BATCH_SIZE": batch, "SMS_RATE_PER_SECOND": "100000", "SMS_DISPATCH_SLICE_SECONDS": "30",
        }.items():  # fmt: skip
            monkeypatch.setenv(name, value)
        worker.start()
        try:
            time.sleep(3)
            SmsCampaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.SENDING)
            from notifications import tasks

            tasks.enqueue(tasks.sms_dispatch_campaign, campaign.pk)
            while not fake.state.accepted:
                time.sleep(0.05)
            t0, samples, next_sample = time.perf_counter(), [], 5.0
            # Until the time is up or every message is out (a small run finishes early).
            while time.perf_counter() - t0 < dispatch_seconds and len(fake.state.accepted) < queued:
                time.sleep(0.25)
                if time.perf_counter() - t0 >= next_sample:
                    next_sample += 5.0
                    pss, rss = _worker_memory_kib(worker.process.pid)
                    samples.append((len(fake.state.accepted), round(rss / 1024), round(pss / 1024)))
            elapsed = time.perf_counter() - t0
            sent = len(fake.state.accepted)
            pss, rss = _worker_memory_kib(worker.process.pid)
            samples.append((sent, round(rss / 1024), round(pss / 1024)))
            campaign.refresh_from_db()
            if campaign.status in (CampaignStatus.BUILDING, CampaignStatus.SENDING):
                campaigns.cancel_campaign(campaign=campaign)
        finally:
            worker.stop()
    rss_series = [s[1] for s in samples]
    report(
        "sms",
        households=households,
        recipients_queued=queued,
        build_s=round(build_s, 1),
        queued_per_s=round(queued / build_s),
        repeat_chunk_s=round(repeat_chunk_s, 2),
        batch=batch,
        dispatch_s=round(elapsed, 1),
        sent=sent,
        sent_per_s=round(sent / elapsed),
        worker_rss_mb_first=rss_series[0],
        worker_rss_mb_last=rss_series[-1],
        worker_rss_mb_max=max(rss_series),
        samples="; ".join(f"{n}:{r}MB" for n, r, _ in samples),
    )
