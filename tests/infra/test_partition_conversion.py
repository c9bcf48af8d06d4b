"""Migrating an existing database to the month-partitioned money tables (issue 18), for real: the
release before the partitioning (its code taken from git) migrates a database and seeds it with
the demo data set (households charged by a credit run, purchases through its checkout); then this
release's documented steps run on it, as docs/operations.md gives them — ``ledger_partitions
convert``, ``migrate``, ``reconcile_ledger`` — and every row, sum and id is still there."""

import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import psycopg
import pytest

pytestmark = [pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]
# The last commit whose money tables were plain (before stores 0009 / settlements 0021).
BEFORE_PARTITIONING = "f0893733a16def30c7689043837a89986d9dee3c"
DATABASE = "kalabarg_partition_conversion"
TABLES = ("stores_purchase", "settlements_journalentry", "settlements_posting")


def _server() -> dict[str, str]:
    return {"host": "127.0.0.1", "port": "5432", "user": "postgres"}


def _manage(cwd: Path, *args: str) -> str:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(
            ("DATABASE_", "REDIS_", "CELERY_", "PYTEST_", "TEST_DATABASE", "REQUIRE_SERVICES")
        )
    }
    env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{DATABASE}"
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, (
        f"manage.py {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    )
    return done.stdout


def _figures(conn: psycopg.Connection) -> dict[str, object]:
    """What must survive the conversion: each table's rows, ids and sums, and each account's total."""
    figures: dict[str, object] = {}
    for table in TABLES:
        figures[table] = conn.execute(f"SELECT count(*), min(id), max(id) FROM {table}").fetchone()  # noqa: S608
    figures["purchase_money"] = conn.execute(
        "SELECT sum(credit_rial), sum(compensation_rial), sum(base_total_rial) FROM stores_purchase"
    ).fetchone()
    figures["accounts"] = conn.execute(
        "SELECT account_id, sum(amount_rial) FROM settlements_posting GROUP BY account_id ORDER BY account_id"
    ).fetchall()
    figures["entries"] = conn.execute(
        "SELECT id, kind, idempotency_key, household_id, cycle_id, purchase_id FROM settlements_journalentry ORDER BY id"
    ).fetchall()
    return figures


@pytest.fixture
def seeded_by_the_release_before(tmp_path: Path) -> Path:
    git = subprocess.run(
        ["git", "archive", BEFORE_PARTITIONING], cwd=ROOT, capture_output=True, timeout=120
    )
    assert git.returncode == 0, git.stderr.decode()
    old = tmp_path / "before"
    old.mkdir()
    with tempfile.TemporaryFile() as archive:
        archive.write(git.stdout)
        archive.seek(0)
        with tarfile.open(fileobj=archive) as tar:
            tar.extractall(old, filter="data")
    with psycopg.connect(**_server(), dbname="postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DATABASE}"')
    _manage(old, "migrate", "--noinput")
    _manage(old, "seed_demo")
    yield old
    with psycopg.connect(**_server(), dbname="postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')


def test_a_database_of_the_release_before_converts_migrates_and_reconciles(
    seeded_by_the_release_before,
):
    with psycopg.connect(**_server(), dbname=DATABASE) as conn:
        before = _figures(conn)
        plain = conn.execute("SELECT count(*) FROM pg_partitioned_table").fetchone()[0]
    assert plain == 0
    assert before["stores_purchase"][0] >= 2 and before["settlements_journalentry"][0] > 100

    converted = _manage(ROOT, "ledger_partitions", "convert")
    _manage(ROOT, "migrate", "--noinput")
    reconciled = _manage(ROOT, "reconcile_ledger")
    listed = _manage(ROOT, "ledger_partitions", "list")

    assert (
        f"settlements_posting: {before['settlements_posting'][0]:,} rows in month partitions"
        in converted
    )
    assert "ledger reconciled: no breach" in reconciled
    with psycopg.connect(**_server(), dbname=DATABASE) as conn:
        assert _figures(conn) == before
        partitioned = {
            row[0]
            for row in conn.execute(
                "SELECT c.relname FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid"
            ).fetchall()
        }
        # The three converted, and the households' charges, partitioned from the start.
        assert partitioned == {*TABLES, "settlements_charge"}
        # Every charge posted an entry a household gained its charge row, of its wallet leg.
        charges = conn.execute(
            "SELECT e.household_id, e.cycle_id, e.period, po.amount_rial, e.id "
            "FROM settlements_journalentry e JOIN settlements_posting po ON po.entry_id = e.id "
            "JOIN settlements_account a ON a.id = po.account_id AND a.kind = 'wallet' "
            "WHERE e.kind = 'cycle_charge' ORDER BY e.id"
        ).fetchall()
        rows = conn.execute(
            "SELECT household_id, cycle_id, period, amount_rial, entry_id FROM settlements_charge "
            "ORDER BY entry_id"
        ).fetchall()
        assert rows == charges and len(rows) > 100
        # Every charge sits in its cycle's month; every purchase entry in its purchase's month.
        misfiled = conn.execute(
            "SELECT count(*) FROM settlements_journalentry e JOIN settlements_cycle c ON c.id = e.cycle_id "
            "WHERE e.kind = 'cycle_charge' AND e.period <> c.starts_on"
        ).fetchone()[0]
        assert misfiled == 0
        apart = conn.execute(
            "SELECT count(*) FROM settlements_journalentry e JOIN stores_purchase p ON p.id = e.purchase_id "
            "WHERE e.kind = 'purchase' AND e.period <> p.period"
        ).fetchone()[0]
        assert apart == 0
        # New rows continue the old ids, and the guards hold on the new tables.
        next_id = conn.execute(
            "SELECT nextval(pg_get_serial_sequence('settlements_journalentry', 'id'))"
        ).fetchone()[0]
        assert next_id > before["settlements_journalentry"][2]
        with pytest.raises(psycopg.errors.RestrictViolation, match="append-only"):
            conn.execute("UPDATE settlements_journalentry SET memo = 'edited'")
    month = listed.splitlines()[1].split()[0]
    assert month.startswith("14")
