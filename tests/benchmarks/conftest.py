"""Benchmarks run against PostgreSQL only (``make bench``); they print figures, never assert timings.

Each benchmark is a transactional test that empties the database when it ends; they all ask for
``serialized_rollback`` so that the next one starts with the reference data the migrations load
(provinces and cities, the phases, the SMS templates), whatever order ``make bench`` runs them in."""

import resource
import time
from collections.abc import Iterator

import pytest
from django.conf import settings


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if not settings.IS_POSTGRES:
        for item in items:
            item.add_marker(
                pytest.mark.skip(reason="benchmarks need PostgreSQL: make bench sets DATABASE_URL")
            )


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bare_charge_insert_seconds() -> float:
    """The floor a credit run is measured against: one bare ``INSERT … SELECT`` of every
    household's (id, amount, key) into an unindexed temporary table, in seconds."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bare_charges")
        cursor.execute(
            "CREATE TEMPORARY TABLE bare_charges (household_id bigint, amount_rial bigint, key varchar(96))"
        )
        started = time.perf_counter()
        cursor.execute(
            "INSERT INTO bare_charges SELECT h.id, 2000000 * (SELECT count(*) FROM households_person p "
            "WHERE p.household_id = h.id), 'charge:' || h.id FROM households_household h"
        )
        return time.perf_counter() - started


def open_payables(*, batch: str, after_id: int) -> None:
    """One entry per store for its purchases after ``after_id``: store payable + net, inflation fund −.

    ``devdata.purchases`` writes purchases without their ledger entries; the settlement posts
    store payable → clearing and reconcile compares, so each batch of purchases gets these
    opening entries instead (the settlement and capacity benchmarks)."""
    from django.db import connection
    from django.utils import timezone

    from kalabarg.lib.partitions import period_of
    from settlements.models import AccountKind
    from settlements.services.ledger import system_account

    fund = system_account(kind=AccountKind.INFLATION_FUND)
    params: list[object] = [after_id]
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO settlements_account (kind, store_id, balance_rial) SELECT 'store_payable', id, 0 "
            "FROM stores_store ON CONFLICT DO NOTHING"
        )
        cursor.execute("DROP TABLE IF EXISTS bench_net")
        cursor.execute(
            "CREATE TEMPORARY TABLE bench_net AS SELECT p.store_id, SUM(CASE WHEN p.status = 'reversed' "
            "THEN 0 ELSE p.credit_rial + p.compensation_rial END) AS net FROM stores_purchase p WHERE p.id > %s "
            "GROUP BY p.store_id HAVING SUM(CASE WHEN p.status = 'reversed' THEN 0 ELSE p.credit_rial + p.compensation_rial END) <> 0",
            params,
        )
        cursor.execute(
            "INSERT INTO settlements_journalentry (kind, idempotency_key, created_by_process, memo, created_at, period) "
            "SELECT 'purchase', %s || store_id, 'bench', '', now(), %s FROM bench_net",
            [f"bench-{batch}:", period_of(timezone.now())],
        )
        cursor.execute(
            "INSERT INTO settlements_posting (entry_id, account_id, amount_rial, period) "
            "SELECT e.id, a.id, n.net, e.period FROM bench_net n JOIN settlements_journalentry e ON e.idempotency_key = %s || n.store_id "
            "JOIN settlements_account a ON a.store_id = n.store_id "
            "UNION ALL SELECT e.id, %s, -n.net, e.period FROM bench_net n JOIN settlements_journalentry e ON e.idempotency_key = %s || n.store_id",
            [f"bench-{batch}:", fund.pk, f"bench-{batch}:"],
        )


def report(name: str, **figures: object) -> None:
    line = ", ".join(f"{key}={value}" for key, value in figures.items())
    print(f"\nBENCH {name}: {line}", flush=True)


# The command each benchmark's data loading stands for: a benchmark calls the importer or the
# generator directly, not through manage.py, so it names the command itself, as manage.py would
# (kalabarg.audit.apps): the registry's bulk loads are then not copied into the audit trail, as
# in production.
_COMMAND_OF_MODULE = {
    "test_bench_import": "import_households",
    "test_bench_card_import": "import_bank_cards",
}


@pytest.fixture(autouse=True)
def as_its_command(request: pytest.FixtureRequest) -> Iterator[None]:
    from kalabarg.audit import context

    module = request.node.module.__name__.rsplit(".", 1)[-1]
    context.begin_command(_COMMAND_OF_MODULE.get(module, "generate_households"))
    yield
    context.end_command()
