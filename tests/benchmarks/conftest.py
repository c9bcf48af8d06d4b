"""Benchmarks run against PostgreSQL only (``make bench``); they print figures, never assert timings.

Each benchmark is a transactional test that empties the database when it ends; they all ask for
``serialized_rollback`` so that the next one starts with the reference data the migrations load
(provinces and cities, the phases, the SMS templates), whatever order ``make bench`` runs them in."""

import resource

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


def report(name: str, **figures: object) -> None:
    line = ", ".join(f"{key}={value}" for key, value in figures.items())
    print(f"\nBENCH {name}: {line}", flush=True)
