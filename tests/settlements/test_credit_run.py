import datetime as dt

import pytest
from django.core.management import call_command

from settlements.models import (
    Charge,
    CreditRun,
    CycleStatus,
    RunChunk,
    RunKind,
    RunStatus,
)
from settlements.selectors import wallet_balance
from settlements.services import rules, runs
from settlements.services.reconcile import reconcile
from tests.households.factories import make_household
from tests.settlements.factories import charge, charge_entry_of, seeded_phases

pytestmark = pytest.mark.django_db


def charges() -> list[tuple[int, int, int]]:
    return sorted(Charge.objects.values_list("household_id", "cycle_id", "amount_rial"))


def test_a_credit_run_charges_each_eligible_household_per_member():
    single = make_household(decile=2)
    family = make_household(decile=5, members=3)
    rich = make_household(decile=8, members=2)

    cycle = charge("1402-06", chunk_size=2)

    assert wallet_balance(household_id=single.pk) == 2_000_000
    assert wallet_balance(household_id=family.pk) == 8_000_000
    assert wallet_balance(household_id=rich.pk) == 0
    assert cycle.status == CycleStatus.OPEN
    assert reconcile(verify_digests=False).ok


def test_every_charge_records_the_phase_and_cycle_it_used():
    household = make_household(decile=1)

    cycle = charge("1402-06")

    entry = charge_entry_of(household)
    assert (entry.cycle, entry.phase, entry.idempotency_key) == (
        cycle,
        cycle.phase,
        f"charge:1402-06:{household.pk}",
    )


def test_running_the_same_cycle_twice_charges_once():
    households = [make_household(decile=d) for d in (1, 2, 3, 4)]
    charge("1402-06", chunk_size=3)
    first = charges()

    charge("1402-06", chunk_size=3)

    assert charges() == first and len(first) == 4
    assert all(wallet_balance(household_id=h.pk) == 2_000_000 for h in households)
    assert CreditRun.objects.filter(kind=RunKind.CYCLE_CHARGE).count() == 2
    assert CreditRun.objects.order_by("-pk").first().entries_created == 0


def test_a_chunk_delivered_twice_posts_nothing_twice():
    household = make_household(decile=1)
    seeded_phases()
    run = runs.start_run(
        kind=RunKind.CYCLE_CHARGE, cycle=rules.ensure_cycle(key="1402-06"), chunk_size=10
    )
    chunk = run.chunks.get()
    runs.execute_chunk(chunk_id=chunk.pk)
    RunChunk.objects.filter(pk=chunk.pk).update(
        done=False
    )  # as if the worker died before recording it

    runs.execute_chunk(chunk_id=chunk.pk)

    assert wallet_balance(household_id=household.pk) == 2_000_000
    assert len(charges()) == 1


def test_a_connection_lost_after_the_last_chunk_commits_still_completes_the_run(monkeypatch):
    from django.db import OperationalError

    household = make_household(decile=1)
    seeded_phases()
    run = runs.start_run(
        kind=RunKind.CYCLE_CHARGE, cycle=rules.ensure_cycle(key="1402-06"), chunk_size=10
    )
    real = runs.finish_run_if_complete
    cuts = []

    def cut_once(**kwargs):
        # The connection drops after the chunk's commit, as the run checks whether it is done.
        if not cuts:
            cuts.append(kwargs["run_id"])
            raise OperationalError("server closed the connection unexpectedly")
        return real(**kwargs)

    monkeypatch.setattr(runs, "finish_run_if_complete", cut_once)

    did = runs.execute_chunk(chunk_id=run.chunks.get().pk)

    run.refresh_from_db()
    assert cuts == [run.pk] and did is False  # the retry found the chunk done
    assert (run.status, run.chunks_done) == (RunStatus.COMPLETED, 1)
    assert wallet_balance(household_id=household.pk) == 2_000_000 and len(charges()) == 1


def test_a_run_stopped_halfway_is_resumed_by_running_it_again():
    households = [make_household(decile=1) for _ in range(6)]
    seeded_phases()
    cycle = rules.ensure_cycle(key="1402-06")
    run = runs.start_run(kind=RunKind.CYCLE_CHARGE, cycle=cycle, chunk_size=2)
    first_chunk = run.chunks.order_by("index").first()
    runs.execute_chunk(chunk_id=first_chunk.pk)  # the worker is killed after one chunk

    resumed = runs.run_inline(
        run=runs.start_run(kind=RunKind.CYCLE_CHARGE, cycle=cycle, chunk_size=2)
    )

    assert resumed.pk == run.pk and resumed.status == RunStatus.COMPLETED
    assert resumed.chunks_done == resumed.chunks_total == 3
    assert all(wallet_balance(household_id=h.pk) == 2_000_000 for h in households)


def test_the_run_records_progress_totals():
    for _ in range(5):
        make_household(decile=3)

    charge("1402-06", chunk_size=2)

    run = CreditRun.objects.get()
    assert (run.chunks_done, run.chunks_total, run.entries_created, run.amount_rial) == (
        3,
        3,
        5,
        10_000_000,
    )
    assert run.progress_percent == 100


def test_a_new_cycle_closes_the_previous_open_one():
    make_household(decile=1)
    june = charge("1402-06")

    charge("1402-07")

    june.refresh_from_db()
    assert june.status == CycleStatus.CLOSED


def test_charge_cycle_command_charges_and_reports(capsys):
    make_household(decile=1, members=1)
    seeded_phases()

    call_command("charge_cycle", "1402-06", "--inline")

    assert "1 households charged, 4,000,000 rial" in capsys.readouterr().out


def test_charge_cycle_command_refuses_a_month_outside_the_programme():
    seeded_phases()
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="هیچ مرحله‌ای"):
        call_command("charge_cycle", "1399-01", "--inline")


def test_a_month_that_has_not_begun_cannot_be_charged():
    seeded_phases()
    from django.core.exceptions import ValidationError
    from django.utils import timezone

    from kalabarg.lib.persian import jalali_month_key

    next_month = jalali_month_key(timezone.localdate() + dt.timedelta(days=40))

    with pytest.raises(ValidationError) as error:
        runs.start_run(kind=RunKind.CYCLE_CHARGE, cycle=rules.ensure_cycle(key=next_month))

    assert error.value.error_dict["cycle"][0].code == "cycle_not_started"


def test_a_closed_cycle_cannot_be_charged_again():
    make_household(decile=1)
    june = charge("1402-06")
    charge("1402-07")
    june.refresh_from_db()
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as error:
        runs.start_run(kind=RunKind.CYCLE_CHARGE, cycle=june)

    assert error.value.error_dict["cycle"][0].code == "cycle_closed"


def test_an_older_cycle_charged_late_does_not_reopen():
    make_household(decile=1)
    july = charge("1402-07")

    june = charge("1402-06")

    july.refresh_from_db()
    assert (june.status, july.status) == (CycleStatus.CLOSED, CycleStatus.OPEN)


def test_a_chunk_that_keeps_failing_marks_the_run_failed_and_a_restart_resumes_it(monkeypatch):
    from django.db import DatabaseError

    households = [make_household(decile=1) for _ in range(4)]
    seeded_phases()
    cycle = rules.ensure_cycle(key="1402-06")
    run = runs.start_run(kind=RunKind.CYCLE_CHARGE, cycle=cycle, chunk_size=2)
    real = runs.execute_range

    def disk_full(*args, **kwargs):
        raise DatabaseError("disk full")

    monkeypatch.setattr(runs, "execute_range", disk_full)
    with pytest.raises(DatabaseError):
        runs.execute_chunk(chunk_id=run.chunks.order_by("index").first().pk)
    run.refresh_from_db()
    assert (run.status, run.failures, run.last_error) == (RunStatus.FAILED, 1, "disk full")
    monkeypatch.setattr(runs, "execute_range", real)

    resumed = runs.run_inline(
        run=runs.start_run(kind=RunKind.CYCLE_CHARGE, cycle=cycle, chunk_size=2)
    )

    assert resumed.pk == run.pk and resumed.status == RunStatus.COMPLETED
    assert all(wallet_balance(household_id=h.pk) == 2_000_000 for h in households)


def test_a_run_failed_by_a_chunk_that_gave_up_completes_when_the_retried_task_does_it(monkeypatch):
    from django.db import OperationalError

    households = [make_household(decile=1) for _ in range(2)]
    seeded_phases()
    cycle = rules.ensure_cycle(key="1402-06")
    run = runs.start_run(kind=RunKind.CYCLE_CHARGE, cycle=cycle, chunk_size=10)
    chunk = run.chunks.get()
    real = runs.execute_range
    cuts = iter(range(runs.CHUNK_ATTEMPTS))

    def cut_then_work(**kwargs):
        if next(cuts, None) is not None:
            raise OperationalError("terminating connection due to administrator command")
        return real(**kwargs)

    monkeypatch.setattr(runs, "execute_range", cut_then_work)
    # Every attempt of the task's first delivery is cut: the run is marked failed
    with pytest.raises(OperationalError):
        runs.execute_chunk(chunk_id=chunk.pk)
    run.refresh_from_db()
    assert (run.status, run.failures) == (RunStatus.FAILED, 1)

    # Celery retries the task (autoretry_for OperationalError), which now does the chunk
    assert runs.execute_chunk(chunk_id=chunk.pk) is True

    run.refresh_from_db()
    cycle.refresh_from_db()
    assert (run.status, run.chunks_done, run.failures) == (RunStatus.COMPLETED, 1, 1)
    assert cycle.status == CycleStatus.OPEN
    assert all(wallet_balance(household_id=h.pk) == 2_000_000 for h in households)
