"""After a bulk load the planner's statistics are refreshed, so a run right after is planned well."""

import time

import pytest
from django.db import connection

from devdata.households import generate_households

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def _analysed_at(table: str):  # type: ignore[no-untyped-def]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT last_analyze FROM pg_stat_user_tables WHERE relname = %s",  # not autovacuum's
            [table],
        )
        return cursor.fetchone()[0]


def test_generating_households_analyses_the_registry_tables():
    before = {t: _analysed_at(t) for t in ("households_person", "households_bankcard")}
    generate_households(households=300, seed=5, writers=1)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        after = {t: _analysed_at(t) for t in before}
        if all(after[t] is not None and after[t] != before[t] for t in before):
            break
        time.sleep(0.2)
    assert all(after[t] is not None and after[t] != before[t] for t in before), (before, after)
