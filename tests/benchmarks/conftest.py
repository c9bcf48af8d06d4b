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
