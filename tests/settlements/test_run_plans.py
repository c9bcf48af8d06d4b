"""How PostgreSQL plans a national run's statements over the month partition the run is filling.

The month's partition is empty when a credit run starts (its statistics say so, and stay so
until the run analyses it): a plan that scans it once per household costs nothing then, and a
chunk's minute later, once other chunks have filled it (docs/benchmarks.md, "A chunk planned on
an empty month")."""

import pytest
from django.db import connection

from kalabarg.lib import partitions as months
from settlements.models import Charge, EntryKind, JournalEntry, RunKind
from settlements.services import rules, runs
from tests.households.factories import make_household
from tests.settlements.factories import charge, seeded_phases, this_month

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def _plans_of(prefix: str):  # type: ignore[no-untyped-def]
    """An execute wrapper that, before each statement starting with ``prefix``, asks for its plan
    on the same cursor (so under the same settings), and the list the plans go to."""
    plans: list[str] = []

    def explain_first(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        if sql.startswith(prefix):
            cursor = context["cursor"]
            cursor.execute("EXPLAIN " + sql, params)
            plans.append("\n".join(line for (line,) in cursor.fetchall()))
        return execute(sql, params, many, context)

    return explain_first, plans


def test_the_charge_looks_each_household_up_by_index_in_a_month_analysed_empty():
    households = [make_household(decile=1) for _ in range(3)]
    seeded_phases()
    cycle = rules.ensure_cycle(key=this_month())
    month = months.partition_name("settlements_charge", cycle.starts_on)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {month}")
    run = runs.start_run(kind=RunKind.CYCLE_CHARGE, cycle=cycle, chunk_size=1000)
    explain_first, plans = _plans_of("INSERT INTO settlements_batch")

    with connection.execute_wrapper(explain_first):
        runs.execute_chunk(chunk_id=run.chunks.get().pk)

    assert len(plans) == 1
    assert month in plans[0], "the fill reads this month's charges"
    assert f"Seq Scan on {month}" not in plans[0], plans[0]
    assert Charge.objects.filter(household__in=households).count() == len(households)


def test_the_setting_is_restored_after_the_charge_fill():
    make_household(decile=1)
    seeded_phases()
    cycle = rules.ensure_cycle(key=this_month())
    run = runs.start_run(kind=RunKind.CYCLE_CHARGE, cycle=cycle, chunk_size=1000)
    settings_seen: list[str] = []

    def note_setting(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        if sql.startswith(("INSERT INTO settlements_batch", "WITH e AS")):
            context["cursor"].execute("SELECT current_setting('enable_seqscan')")
            settings_seen.append(context["cursor"].fetchone()[0])
        return execute(sql, params, many, context)

    with connection.execute_wrapper(note_setting):
        runs.execute_chunk(chunk_id=run.chunks.get().pk)

    assert settings_seen == ["off", "on"], "off for the fill, back on for the ledger's write"


def test_an_entrys_legs_are_found_by_the_postings_primary_key():
    """Since settlements 0024 the postings' primary key leads with the entry, and no separate index
    on it is kept: a look-up of an entry's legs must still go by an index, not a scan."""
    make_household(decile=1)
    charge(this_month())
    entry = JournalEntry.objects.filter(kind=EntryKind.CYCLE_CHARGE).first()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a table this small is scanned otherwise
        cursor.execute(
            "EXPLAIN SELECT amount_rial FROM settlements_posting WHERE entry_id = %s AND period = %s",
            [entry.pk, entry.period],
        )
        plan = "\n".join(line for (line,) in cursor.fetchall())
        cursor.execute(
            "SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid = 'settlements_posting'::regclass"
        )
        indexes = sorted(name for (name,) in cursor.fetchall())

    assert "pkey" in plan and "Seq Scan" not in plan, plan
    assert indexes == ["posting_account_idx", "settlements_posting_pkey"]
