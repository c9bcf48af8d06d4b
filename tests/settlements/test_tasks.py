import pytest
from django.utils import timezone

from kalabarg.lib.persian import jalali_month_key
from settlements import tasks
from settlements.models import CreditRun, Cycle, CycleStatus, RunKind
from settlements.selectors import wallet_balance
from tests.households.factories import make_household
from tests.settlements.factories import buy, seeded_phases

pytestmark = pytest.mark.django_db


def charge_this_month(capture) -> int | None:
    """The beat task; its chunks are queued on commit (run eagerly here)."""
    with capture(execute=True):
        return tasks.run_monthly_charge.delay().get()


def test_the_daily_beat_charges_this_months_cycle_once(django_capture_on_commit_callbacks):
    seeded_phases()
    household = make_household(decile=2)

    first = charge_this_month(django_capture_on_commit_callbacks)
    second = charge_this_month(django_capture_on_commit_callbacks)

    cycle = Cycle.objects.get(key=jalali_month_key(timezone.localdate()))
    assert first is not None and second is None
    assert cycle.status == CycleStatus.OPEN
    assert wallet_balance(household_id=household.pk) == 2_000_000


def test_the_nightly_sweep_runs_for_every_open_cycle_and_grants_missed_bonuses(
    django_capture_on_commit_callbacks,
):
    seeded_phases()
    household = make_household(decile=2)
    charge_this_month(django_capture_on_commit_callbacks)
    cycle = Cycle.objects.get(status=CycleStatus.OPEN)
    buy(household, cycle=cycle, base=1_000_000, current=3_000_000)

    with django_capture_on_commit_callbacks(execute=True):
        run_ids = tasks.run_bonus_sweep.delay().get()

    assert CreditRun.objects.get(pk__in=run_ids, kind=RunKind.BONUS_SWEEP).entries_created == 1
    assert wallet_balance(household_id=household.pk) == 1_200_000


def test_the_instant_bonus_task_grants_the_bonus(django_capture_on_commit_callbacks):
    seeded_phases()
    household = make_household(decile=2)
    charge_this_month(django_capture_on_commit_callbacks)
    cycle = Cycle.objects.get(status=CycleStatus.OPEN)
    buy(household, cycle=cycle, base=1_000_000, current=3_000_000)

    assert tasks.grant_bonus.delay(household.pk, cycle.pk).get() == 1_200_000


def test_the_nightly_reconcile_task_reports_a_clean_ledger():
    assert tasks.reconcile_ledger.delay().get() is True
