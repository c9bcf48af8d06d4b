"""The database topology of issue 18, with real processes: a primary, a streaming replica made by
``pg_basebackup`` and PgBouncer in transaction mode, started by ops/pgtopology.py on ports of
their own (the main cluster is never touched). A child pytest runs tests/infra/topology_checks.py
against them: the read-only pages from the replica, writes and transactions on the primary, the
fallback when the replica is gone, and the POS checkout through PgBouncer with its prepared
statements (docs/operations.md, "Connection pooling and the read replica")."""

import os
import re
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from django.conf import settings

from ops import pgtopology

pytestmark = [pytest.mark.postgres, pytest.mark.topology]

ROOT = Path(__file__).resolve().parents[2]
DATABASE = "kalabarg_topology"
TEST_DATABASE = "test_kalabarg_topology"
CHECKS = 9


def _fresh_test_database() -> None:
    """Drop the child's test database left by an earlier run (FORCE ends PgBouncer's server
    connections to it), so that every run starts from an empty, freshly migrated database."""
    with psycopg.connect(
        host=pgtopology.HOST, port=pgtopology.PRIMARY_PORT, user="postgres", dbname="postgres",
        autocommit=True,
    ) as conn:  # fmt: skip
        conn.execute(f'DROP DATABASE IF EXISTS "{TEST_DATABASE}" WITH (FORCE)')


@pytest.fixture
def topology():  # type: ignore[no-untyped-def]
    """The topology, started if it was not running, and then stopped again (left running if it
    already was: someone is using it)."""
    was_running = all(state.startswith("online") for state in pgtopology.status().values())
    pgtopology.start()
    yield
    if not was_running:
        pgtopology.stop()


def test_read_paths_run_on_a_real_replica_and_the_checkout_through_pgbouncer(topology):
    _fresh_test_database()
    urls = pgtopology.urls(DATABASE)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_", "REDIS_", "CELERY_", "PYTEST_", "REQUIRE_SERVICES"))
    }
    env.update(
        DATABASE_URL=urls.pooler,
        DATABASE_POOL_MODE="transaction",
        DATABASE_REPLICA_URL=urls.replica,
        TEST_DATABASE_NAME=TEST_DATABASE,
        SECRET_KEY=settings.SECRET_KEY,
        CARD_HASH_KEY=settings.CARD_HASH_KEY,
    )

    done = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/infra/topology_checks.py", "-q", "-p",
         "no:cacheprovider", "--reuse-db", "-o", "addopts=--strict-markers"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip

    output = done.stdout[-6000:] + done.stderr[-3000:]
    assert done.returncode == 0, output
    summary = done.stdout.strip().splitlines()[-1]
    assert re.search(rf"\b{CHECKS} passed\b", summary) and "skipped" not in summary, output
