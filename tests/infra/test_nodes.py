"""Several nodes on one machine (issue 18), with real processes started by ops/nodes.py against
the test database and a private Redis: two web masters share one port, and when one worker node
of a queue is SIGKILLed in the middle of a credit run or an SMS campaign, the other finishes the
work exactly once — taken over by the beat's own periodic task, the mechanism production relies
on (docs/operations.md, "Several nodes"; docs/decisions.md, "A worker node dies").

Each failover test first shows that without that periodic task the work stays unfinished: the
dead node's message waits with the broker for its visibility timeout (two hours)."""

import collections
import os
import socket
import time
import urllib.request
from pathlib import Path

import pytest
import redis
from django.db import connection, transaction
from django_celery_beat.models import IntervalSchedule, PeriodicTask, PeriodicTasks

from devdata.fake_sms_gateway import FakeGateway
from devdata.households import generate_households
from households.models import DecileAssignment, Person
from notifications.defaults import ensure_default_templates
from notifications.models import CampaignStatus, MessageStatus, SmsCampaign, SmsMessage
from notifications.services import campaigns
from ops.nodes import Nodes
from settlements.models import CreditRun, RunChunk, RunKind, RunStatus
from settlements.services import rules, runs
from settlements.services.reconcile import reconcile
from settlements.tasks import enqueue_chunks
from tests.notifications.factories import phase_for_notices
from tests.private_redis import PrivateRedis, publishing_to
from tests.settlements.factories import charge_counts, seeded_phases
from tests.worker import wait_for, worker_database_url

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.celery_worker,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

# The test's stand-ins for production's timings: a run quiet for 3 s (production: 300 s) is
# stalled, an SMS lease lasts 3 s (300 s), and the beat ticks every second (every minute).
STALL_SECONDS = 3
LEASE_SECONDS = 3


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _nodes(run_dir: Path, broker_url: str, **options) -> Nodes:  # type: ignore[no-untyped-def]
    env = {
        "DATABASE_URL": worker_database_url(),
        "REDIS_URL": broker_url,
        "CELERY_BROKER_URL": broker_url,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "DJANGO_SETTINGS_MODULE": "kalabarg.settings",
        "RUN_STALL_SECONDS": str(STALL_SECONDS),
        **options.pop("env", {}),
    }
    return Nodes(run_dir=run_dir, env=env, stop_seconds=20, **options)


def _beat_runs_only(task: str) -> None:
    """The beat's schedules as the admin would leave them for this drill: ``task`` (scheduled by
    a migration) every second instead of every minute, every other schedule off."""
    assert PeriodicTask.objects.filter(task=task, enabled=True).count() == 1
    every, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.exclude(task=task).update(enabled=False)
    PeriodicTask.objects.filter(task=task).update(interval=every, crontab=None, expire_seconds=None)
    PeriodicTasks.update_changed()


def _steady(read, seconds: float) -> bool:  # type: ignore[no-untyped-def]
    """True when ``read()`` gives the same value for ``seconds``."""
    before = read()
    time.sleep(seconds)
    return read() == before


# --- the script --------------------------------------------------------------------------------


def _healthz(port: int) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:
        return int(response.status)


def _served(nodes: Nodes) -> dict[str, int]:
    """Requests to /healthz in each web master's access log (written just after the answer)."""
    return {name: nodes.log(name).read_text().count("GET /healthz") for name in ("web-1", "web-2")}


def test_two_web_masters_serve_one_port_and_the_script_starts_and_stops_every_node(tmp_path):
    with PrivateRedis() as broker:
        nodes = _nodes(tmp_path, broker.url, web_port=_free_port(), queues=("default",))
        try:
            pids = nodes.start()
            assert set(pids) == {"web-1", "web-2", "default-1", "default-2", "beat"}
            assert all(pids.values())
            # Both masters answer on the one port (the kernel spreads new connections)
            assert {_healthz(nodes.web_port) for _ in range(40)} == {200}
            served = _served(nodes)
            assert wait_for(lambda: sum(_served(nodes).values()) == 40, timeout=10), served
            assert all(_served(nodes).values()), _served(nodes)
            # Starting again starts nothing
            assert nodes.start() == pids
            # One master killed: the other keeps the port; start brings only it back
            nodes.kill("web-1")
            assert {_healthz(nodes.web_port) for _ in range(10)} == {200}
            again = nodes.start()
            assert again["web-1"] != pids["web-1"]
            assert {k: v for k, v in again.items() if k != "web-1"} == {
                k: v for k, v in pids.items() if k != "web-1"
            }
        finally:
            nodes.stop()
        assert set(nodes.status().values()) == {"stopped"}
        for pid in again.values():
            with pytest.raises(ProcessLookupError):
                os.killpg(pid, 0)


# --- a worker node dies in a credit run --------------------------------------------------------


def _blocked_by_me() -> int:
    """Backends of the test database waiting for a lock this test's connection holds."""
    with connection.cursor() as cursor:
        # Inside a transaction PostgreSQL keeps the first reading of pg_stat_activity: drop it.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pg_backend_pid() = ANY(pg_blocking_pids(pid))"
        )
        return int(cursor.fetchone()[0])


def _waiting_on_locks() -> int:
    """Backends of the test database waiting for a lock: on one this test's connection holds,
    or queued behind another waiter for it (the second of two updates of one row waits on the
    first's tuple lock)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND cardinality(pg_blocking_pids(pid)) > 0"
        )
        return int(cursor.fetchone()[0])


def _activity() -> list[tuple[object, ...]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT pid, state, wait_event_type, wait_event, left(query, 80) FROM pg_stat_activity "
            "WHERE datname = current_database()"
        )
        return list(cursor.fetchall())


def test_a_batch_node_killed_mid_run_leaves_the_other_to_finish_it_each_household_charged_once(
    tmp_path,
):
    generate_households(households=3000, seed=51, writers=1)
    seeded_phases()
    cycle = rules.ensure_cycle(key="1402-06")
    _beat_runs_only("settlements.tasks.resume_stalled_runs")
    with PrivateRedis() as broker, publishing_to(broker.url):
        nodes = _nodes(tmp_path, broker.url, web_count=0, queues=("default", "batch"))
        broker_client = redis.Redis.from_url(broker.url)
        try:
            nodes.start([name for name in nodes.names() if name != "beat"])
            run = runs.start_run(
                kind=RunKind.CYCLE_CHARGE, cycle=cycle, chunk_size=50, enqueue=enqueue_chunks
            )
            assert wait_for(
                lambda: CreditRun.objects.get(pk=run.pk).chunks_done >= 5, timeout=60, interval=0.02
            ), nodes.tail("batch-1")

            # When both batch nodes are inside a chunk (held there by this test's row locks on
            # every chunk not yet taken) and batch-1 is SIGKILLed, master and pool
            with transaction.atomic():
                held = list(
                    RunChunk.objects.select_for_update(skip_locked=True)
                    .filter(run=run, done=False)
                    .values_list("pk", flat=True)
                )
                blocked = wait_for(lambda: _blocked_by_me() >= 2, timeout=30)
                assert blocked, (_activity(), nodes.tail("batch-1"), nodes.tail("batch-2"))
                nodes.kill("batch-1")
                killed = time.monotonic()
            assert len(held) > 10

            # Then batch-2 drains the queue, but the chunk batch-1 was doing is nobody's: its
            # message waits, unacknowledged, for the broker's visibility timeout (two hours)
            assert wait_for(lambda: broker_client.llen("batch") == 0, timeout=60)
            assert wait_for(
                lambda: _steady(lambda: CreditRun.objects.get(pk=run.pk).chunks_done, 1.0),
                timeout=60,
            )
            assert _steady(lambda: CreditRun.objects.get(pk=run.pk).chunks_done, STALL_SECONDS + 1)
            stalled = CreditRun.objects.get(pk=run.pk)
            assert stalled.status == RunStatus.RUNNING
            lost = stalled.chunks_total - stalled.chunks_done
            assert lost >= 1 and broker_client.hlen("unacked") >= lost

            # When the beat runs (every minute in production) its resume_stalled_runs on a
            # default node, the run — quiet, with no batch node busy — is queued again
            beat_started = time.monotonic()
            nodes.start(["beat"])
            finished = wait_for(
                lambda: CreditRun.objects.get(pk=run.pk).status == RunStatus.COMPLETED, timeout=60
            )
            assert finished, nodes.tail("beat") + nodes.tail("default-1") + nodes.tail("batch-2")
            done = time.monotonic()
        finally:
            nodes.stop()

    # Then every covered household was charged exactly once and the ledger reconciles
    covered = DecileAssignment.objects.filter(decile__lte=5).values("household_id").distinct()
    assert charge_counts(cycle) == (covered.count(),) * 3
    assert covered.count() > 1000
    report = reconcile(verify_digests=False)
    assert report.ok, report.breaches
    print(
        f"chunks lost with batch-1: {lost}; from the kill to the run completed: "
        f"{done - killed:.1f} s; from the beat's start: {done - beat_started:.1f} s"
    )


# --- a worker node dies in an SMS campaign ------------------------------------------------------


def _dispatcher(nodes: Nodes) -> str | None:
    """The sms node that received the campaign's dispatch task (one task sends the whole
    campaign here: its time slice outlasts the campaign)."""
    for name in ("sms-1", "sms-2"):
        if "sms_dispatch_campaign[" in nodes.tail(name, chars=10**7):
            return name
    return None


def test_the_sms_node_killed_mid_dispatch_leaves_the_other_to_send_each_message_once(tmp_path):
    generate_households(households=1500, seed=61, writers=1)
    ensure_default_templates()
    phase = phase_for_notices()
    _beat_runs_only("notifications.tasks.sms_kick")
    with (
        FakeGateway(port=0, latency_ms=120) as fake,
        PrivateRedis() as broker,
        publishing_to(broker.url),
    ):
        sms_env = {
            "SMS_BACKEND": "http",
            "SMS_HTTP_URL": fake.url,
            "SMS_LEASE_SECONDS": str(LEASE_SECONDS),
            "SMS_BATCH_SIZE": "20",
            "SMS_RATE_PER_SECOND": "100000",
            "SMS_HTTP_TIMEOUT_SECONDS": "2",
            "SMS_DISPATCH_SLICE_SECONDS": "600",
        }
        nodes = _nodes(tmp_path, broker.url, web_count=0, queues=("sms",), env=sms_env)
        try:
            nodes.start(["sms-1", "sms-2"])
            campaign = campaigns.start_decile_notices(
                deciles=[1, 2, 3, 4, 5], phase=phase, chunk_size=400
            )
            assert wait_for(lambda: len(fake.state.accepted) >= 100, timeout=90, interval=0.02)
            dispatcher = _dispatcher(nodes)
            assert dispatcher is not None

            # When the node sending the campaign is SIGKILLed, master and pool, in the middle
            # of a gateway call (the gateway made slow so that the kill lands inside one)
            fake.state.latency_ms = 1500
            calls = fake.state.calls
            assert wait_for(lambda: fake.state.calls > calls, timeout=10, interval=0.01)
            accepted_at_kill = len(fake.state.accepted)
            nodes.kill(dispatcher)
            killed = time.monotonic()
            fake.state.latency_ms = 120
            in_flight = SmsMessage.objects.filter(status=MessageStatus.SENDING).count()
            assert in_flight > 0
            # (the gateway still takes the dead node's batch: it was sent before the kill)
            assert wait_for(lambda: len(fake.state.accepted) == accepted_at_kill + in_flight)

            # Then the other node sends nothing on its own, even after the claimed batch's lease
            # ran out: the dispatch task waits with the broker for its visibility timeout
            assert _steady(lambda: len(fake.state.accepted), LEASE_SECONDS + 2)
            assert SmsCampaign.objects.get(pk=campaign.pk).status == CampaignStatus.SENDING

            # When the beat runs sms_kick (every minute in production) on the surviving node
            beat_started = time.monotonic()
            nodes.start(["beat"])
            finished = wait_for(
                lambda: SmsCampaign.objects.get(pk=campaign.pk).status == CampaignStatus.COMPLETED,
                timeout=90,
            )
            survivor = "sms-2" if dispatcher == "sms-1" else "sms-1"
            assert finished, nodes.tail("beat") + nodes.tail(survivor)
            done = time.monotonic()
        finally:
            nodes.stop()
        accepted = list(fake.state.accepted.values())
        repeats = fake.state.repeats

    # Then every head got the notice exactly once at the gateway, and every message is sent
    expected = set(
        Person.objects.filter(is_head=True, household__deciles__decile__lte=5)
        .exclude(mobile="")
        .values_list("mobile", flat=True)
    )
    per_mobile = collections.Counter(m["receptor"] for m in accepted)
    assert set(per_mobile) == expected and len(expected) > 300
    assert max(per_mobile.values()) == 1
    assert set(SmsMessage.objects.values_list("status", flat=True)) == {MessageStatus.SENT}
    # the batch the dead node had with the gateway was sent again after its lease, under the
    # same local ids, and the gateway absorbed it (docs/decisions.md, "SMS exactly once")
    assert repeats == in_flight
    print(
        f"in flight at the kill: {in_flight}; repeats absorbed by local id: {repeats}; from the "
        f"kill to the campaign completed: {done - killed:.1f} s; from the beat's start: "
        f"{done - beat_started:.1f} s"
    )


# --- a worker node dies building a campaign's outbox -------------------------------------------


def test_the_sms_node_killed_mid_build_leaves_the_other_to_finish_the_outbox_each_head_once(
    tmp_path,
):
    generate_households(households=1500, seed=71, writers=1)
    ensure_default_templates()
    phase = phase_for_notices()
    _beat_runs_only("notifications.tasks.sms_kick")
    with (
        FakeGateway(port=0, latency_ms=20) as fake,
        PrivateRedis() as broker,
        publishing_to(broker.url),
    ):
        sms_env = {
            "SMS_BACKEND": "http",
            "SMS_HTTP_URL": fake.url,
            "SMS_LEASE_SECONDS": str(LEASE_SECONDS),
            "SMS_BATCH_SIZE": "100",
            "SMS_RATE_PER_SECOND": "100000",
            "SMS_HTTP_TIMEOUT_SECONDS": "5",
        }
        nodes = _nodes(tmp_path, broker.url, web_count=0, queues=("sms",), env=sms_env)
        broker_client = redis.Redis.from_url(broker.url)
        try:
            nodes.start(["sms-1", "sms-2"])
            campaign = campaigns.start_decile_notices(
                deciles=[1, 2, 3, 4, 5], phase=phase, chunk_size=25
            )

            # When both sms nodes are inside a chunk — its rows inserted, not yet committed:
            # each waits to count them on the campaign's row, which this test holds — and sms-1
            # is SIGKILLed, master and pool
            with transaction.atomic():
                SmsCampaign.objects.select_for_update(no_key=True).get(pk=campaign.pk)
                blocked = wait_for(lambda: _waiting_on_locks() >= 2, timeout=60, interval=0.05)
                assert blocked, (_activity(), nodes.tail("sms-1"), nodes.tail("sms-2"))
                nodes.kill("sms-1")
                killed = time.monotonic()

            # Then sms-2 builds the rest of the outbox, but the chunk sms-1 was building (its
            # rows rolled back with its connection) is nobody's: its message waits,
            # unacknowledged, for the broker's visibility timeout (two hours)
            assert wait_for(lambda: broker_client.llen("sms") == 0, timeout=60)
            assert wait_for(
                lambda: _steady(lambda: SmsCampaign.objects.get(pk=campaign.pk).chunks_done, 1.0),
                timeout=60,
            )
            assert _steady(
                lambda: SmsCampaign.objects.get(pk=campaign.pk).chunks_done, STALL_SECONDS + 1
            )
            stalled = SmsCampaign.objects.get(pk=campaign.pk)
            assert stalled.status == CampaignStatus.BUILDING
            lost = stalled.chunks_total - stalled.chunks_done
            assert lost >= 1 and broker_client.hlen("unacked") >= lost
            assert fake.state.accepted == {}

            # When the beat runs sms_kick (every minute in production) on the surviving node,
            # the campaign — quiet, with no sms node building — has its unbuilt chunk queued
            beat_started = time.monotonic()
            nodes.start(["beat"])
            finished = wait_for(
                lambda: SmsCampaign.objects.get(pk=campaign.pk).status == CampaignStatus.COMPLETED,
                timeout=90,
            )
            assert finished, nodes.tail("beat") + nodes.tail("sms-2")
            done = time.monotonic()
        finally:
            nodes.stop()
        accepted = list(fake.state.accepted.values())
        repeats = fake.state.repeats

    # Then every covered head has exactly one message in the outbox, and the gateway accepted
    # each exactly once
    heads = Person.objects.filter(is_head=True, household__deciles__decile__lte=5).exclude(
        mobile=""
    )
    per_head = collections.Counter(
        SmsMessage.objects.filter(campaign=campaign).values_list("person_id", flat=True)
    )
    assert set(per_head) == set(heads.values_list("pk", flat=True)) and len(per_head) > 300
    assert max(per_head.values()) == 1
    per_mobile = collections.Counter(m["receptor"] for m in accepted)
    assert set(per_mobile) == set(heads.values_list("mobile", flat=True))
    assert max(per_mobile.values()) == 1 and repeats == 0
    assert set(SmsMessage.objects.values_list("status", flat=True)) == {MessageStatus.SENT}
    print(
        f"heads: {len(per_head)} in {stalled.chunks_total} chunks; chunks lost with sms-1: "
        f"{lost}; from the kill to the campaign completed: "
        f"{done - killed:.1f} s; from the beat's start: {done - beat_started:.1f} s"
    )
