"""The POS checkout directly and through PgBouncer in transaction mode, with and without prepared
statements (issue 18): what the pooler costs a purchase and what preparing by name
(``DATABASE_POOL_MODE=transaction``, kalabarg/lib/hot_sql.py) wins back.

The topology is ops/pgtopology.py's (a primary on 5440, PgBouncer on 6440; the main cluster is
not used). A child process per configuration, one client thread, in-process API calls
(``APIClient``: no HTTP, so the figures are the database path's): 100 warm-up purchases, then
``BENCH_POOLER_PURCHASES`` (default 600) timed, then the checkout's context read alone
(``purchase_context``) 2,000 times.

    make bench BENCH_ARGS="-k pooler"
"""

import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
DATABASE = "kalabarg_pooler_bench"
CLIENTS = 20  # households buying in turn (each purchase a rice at a price rise)
CONFIGURATIONS = {
    "direct, protocol-prepared": ("primary", {"DATABASE_PREPARED_STATEMENTS": "1"}),
    "direct, not prepared": ("primary", {"DATABASE_PREPARED_STATEMENTS": "0"}),
    "pgbouncer, prepared by name": (
        "pooler",
        {"DATABASE_PREPARED_STATEMENTS": "1", "DATABASE_POOL_MODE": "transaction"},
    ),
    "pgbouncer, not prepared": (
        "pooler",
        {"DATABASE_PREPARED_STATEMENTS": "0", "DATABASE_POOL_MODE": "transaction"},
    ),
}


def _child(action: str, url: str, extra: dict[str, str]) -> dict:  # type: ignore[type-arg]
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_", "REDIS_", "CELERY_"))
    }
    env.update(
        DATABASE_URL=url,
        SECRET_KEY=settings.SECRET_KEY,
        CARD_HASH_KEY=settings.CARD_HASH_KEY,
        DJANGO_SETTINGS_MODULE="kalabarg.settings",
        SECURE_SSL_REDIRECT="0",  # the in-process client speaks plain HTTP
        **extra,
    )
    done = subprocess.run(
        [sys.executable, "-m", "tests.benchmarks.test_bench_pooler", action],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


@pytest.mark.topology
def test_bench_checkout_through_pgbouncer():
    from ops import pgtopology
    from tests.benchmarks.conftest import report

    pgtopology.start()
    with psycopg.connect(
        host=pgtopology.HOST, port=pgtopology.PRIMARY_PORT, user="postgres", dbname="postgres",
        autocommit=True,
    ) as conn:  # fmt: skip
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DATABASE}"')
    urls = pgtopology.urls(DATABASE)
    seed = _child("seed", urls.primary, {})
    for name, (where, extra) in CONFIGURATIONS.items():
        figures = _child(
            "measure", getattr(urls, where), {**extra, "BENCH_POOLER_SEED": json.dumps(seed)}
        )
        report(f"pooler [{name}]", **figures)


# --- the child ---------------------------------------------------------------------------------


def _seed() -> dict:  # type: ignore[type-arg]
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from households import services as household_services
    from tests.households.factories import make_household, next_card_number
    from tests.settlements.factories import charge, seeded_phases, set_prices, this_month
    from tests.stores.factories import make_terminal_with_key

    seeded_phases()
    cards = []
    for _ in range(CLIENTS):
        household = make_household(decile=2)
        cards.append(next_card_number())
        household_services.register_card(person=household.members.get(), card_number=cards[-1])
    charge(this_month())
    set_prices("rice", 500_000, 800_000)
    terminal, key = make_terminal_with_key()
    return {"cards": cards, "key": key, "terminal": terminal.pk}


def _measure() -> dict:  # type: ignore[type-arg]
    from django.utils import timezone
    from rest_framework.test import APIClient

    from kalabarg.lib.identifiers import card_hash
    from settlements.selectors import purchase_context
    from tests.settlements.factories import URL, this_month

    seed = json.loads(os.environ["BENCH_POOLER_SEED"])
    purchases = int(os.environ.get("BENCH_POOLER_PURCHASES", "600"))
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {seed['key']}")
    run = f"{settings.DATABASE_POOL_MODE}-{settings.DATABASE_PREPARED_STATEMENTS}-{time.time()}"
    timings = []
    for number in range(100 + purchases):
        started = time.perf_counter()
        response = api.post(
            URL,
            {"card_number": seed["cards"][number % CLIENTS], "lines": [{"item": "rice", "quantity": "1"}]},
            format="json", HTTP_IDEMPOTENCY_KEY=f"{run}-{number}",
        )  # fmt: skip
        timings.append(time.perf_counter() - started)
        assert response.status_code == 201, response.content
    timed = sorted(timings[100:])
    reads = 2000
    context = {
        "terminal_id": seed["terminal"],
        "idempotency_key": f"{run}-read",
        "today": timezone.localdate(),
        "cycle_key": this_month(),
        "card_hash": card_hash(seed["cards"][0], key=settings.CARD_HASH_KEY),
        "item_codes": ["rice"],
        "prices_at": timezone.now() - dt.timedelta(seconds=1),
    }
    for _ in range(100):
        purchase_context(**context)
    started = time.perf_counter()
    for _ in range(reads):
        purchase_context(**context)
    read_ms = (time.perf_counter() - started) * 1000 / reads
    return {
        "purchases": purchases,
        "mean_ms": round(statistics.fmean(timed) * 1000, 2),
        "p50_ms": round(timed[len(timed) // 2] * 1000, 2),
        "p95_ms": round(timed[int(len(timed) * 0.95)] * 1000, 2),
        "p99_ms": round(timed[int(len(timed) * 0.99)] * 1000, 2),
        "context_read_ms": round(read_ms, 3),
    }


if __name__ == "__main__":
    import django

    django.setup()
    print(json.dumps(_seed() if sys.argv[1] == "seed" else _measure()))
