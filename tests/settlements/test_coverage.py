"""An officer's decile decision takes effect and money follows it (issue 13 §3): a household
covered during an open cycle is charged that cycle's credit at once, exactly once; a household
that leaves the covered deciles spends what it was charged until the cycle ends; no decision
reaches into a closed cycle."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.utils import timezone

from households.models import DecileAssignment, DecileSource
from households.objections import file_objection
from households.services import assign_decile
from kalabarg.backoffice import objections as decisions
from kalabarg.portal.selectors import dashboard
from settlements.models import Charge, Cycle, CycleStatus, EntryKind, JournalEntry, RunKind
from settlements.selectors import bonus_progress, wallet_balance
from settlements.services import coverage, rules, runs
from settlements.services.bonus import grant_bonus_if_earned
from settlements.services.checkout import CheckoutError
from settlements.services.reconcile import reconcile
from tests.concurrency import in_threads
from tests.households.factories import make_household
from tests.portal.conftest import api_client
from tests.settlements.factories import (
    CREDIT,
    buy,
    charge,
    checkout_purchase,
    priced_item,
    seeded_phases,
    this_month,
)

pytestmark = pytest.mark.django_db

BONUS = 1_200_000  # the seeded band, one member: threshold = credit = 2,000,000 rials


def charges(household, cycle) -> list[JournalEntry]:
    """The entries that charged ``household`` in ``cycle`` (by its charge rows)."""
    entry_ids = Charge.objects.filter(household=household, cycle=cycle).values("entry_id")
    return list(JournalEntry.objects.filter(pk__in=entry_ids))


def decide(household, decile: int, effective_from: dt.date, capture) -> None:
    """An officer's decision (the admin's inline calls the same service), its on-commit work run."""
    with capture(execute=True):
        assign_decile(
            household=household,
            decile=decile,
            effective_from=effective_from,
            source=DecileSource.OFFICER,
            reason="بازبینی میدانی",
            created_by=None,
        )


@pytest.fixture
def officer(django_user_model):
    return django_user_model.objects.create_superuser("officer", "o@example.com", "pw")


def test_an_accepted_objection_that_covers_a_household_charges_this_cycle_once(
    officer, django_capture_on_commit_callbacks
):
    # Given a decile-9 household, not charged by this month's run
    household = make_household(decile=9)
    cycle = charge(this_month())
    assert charges(household, cycle) == []
    objection = file_objection(
        person=household.members.get(is_head=True), category="job_loss", description="بیکار شدم"
    )

    # When an officer accepts its objection with decile 2 from today
    with django_capture_on_commit_callbacks(execute=True):
        decisions.accept_objection(
            objection=objection,
            new_decile=2,
            effective_from=timezone.localdate(),
            reason="مدارک بیکاری دیده شد",
            decided_by=officer,
        )

    # Then it holds this cycle's charge at once, by the band of decile 2, under the run's key
    [entry] = charges(household, cycle)
    assert entry.idempotency_key == f"charge:{cycle.key}:{household.pk}"
    assert entry.run_id is None and entry.created_by_process == "decile_decision"
    assert wallet_balance(household_id=household.pk) == CREDIT
    # And nothing charges it again: the decision path, the nightly sweep, another decision
    assert (
        coverage.charge_newly_covered(
            household_id=household.pk, effective_from=timezone.localdate()
        )
        == 0
    )
    assert coverage.charge_late_entrants() == (0, 0)
    decide(household, 3, timezone.localdate(), django_capture_on_commit_callbacks)
    assert len(charges(household, cycle)) == 1
    assert wallet_balance(household_id=household.pk) == CREDIT
    assert reconcile(verify_digests=False).ok


def test_a_decision_that_does_not_cover_the_household_charges_nothing(
    django_capture_on_commit_callbacks,
):
    household = make_household(decile=9)
    cycle = charge(this_month())

    decide(household, 8, timezone.localdate(), django_capture_on_commit_callbacks)

    assert charges(household, cycle) == []
    assert wallet_balance(household_id=household.pk) == 0


def test_a_decision_dated_ahead_is_charged_by_the_sweep_on_the_night_it_takes_effect():
    # Given the open cycle 1402-06 (23 Aug – 22 Sep 2023) and a decile-9 household
    household = make_household(decile=9)
    cycle = charge("1402-06")
    effective = dt.date(2023, 9, 10)
    DecileAssignment.objects.create(
        household=household, decile=2, effective_from=effective, source=DecileSource.OFFICER,
        reason="بازبینی",
    )  # fmt: skip

    # When the decision path runs on 1 September, and the sweep runs on 5 and on 10 September
    decided_early = coverage.charge_newly_covered(
        household_id=household.pk, effective_from=effective, today=dt.date(2023, 9, 1)
    )
    before = coverage.charge_late_entrants(today=dt.date(2023, 9, 5))
    on_the_day = coverage.charge_late_entrants(today=effective)
    again = coverage.charge_late_entrants(today=effective)

    # Then only the night it takes effect charges it, once
    assert (decided_early, before, on_the_day, again) == (0, (0, 0), (1, CREDIT), (0, 0))
    assert len(charges(household, cycle)) == 1
    assert reconcile(verify_digests=False).ok


def test_the_sweep_charges_a_household_imported_after_the_run():
    cycle = charge(this_month())
    late = make_household(decile=2)  # its decile row is written after the run
    not_covered = make_household(decile=9)

    entries, amount = coverage.charge_late_entrants()

    assert (entries, amount) == (1, CREDIT)
    assert len(charges(late, cycle)) == 1 and charges(not_covered, cycle) == []


def test_a_closed_cycle_is_never_charged_late():
    household = make_household(decile=9)
    cycle = charge("1402-06")
    Cycle.objects.filter(pk=cycle.pk).update(status=CycleStatus.CLOSED)
    DecileAssignment.objects.create(
        household=household, decile=2, effective_from=dt.date(2023, 9, 10),
        source=DecileSource.OFFICER, reason="بازبینی",
    )  # fmt: skip

    assert coverage.charge_late_entrants(today=dt.date(2023, 9, 12)) == (0, 0)
    assert (
        coverage.charge_newly_covered(
            household_id=household.pk,
            effective_from=dt.date(2023, 9, 10),
            today=dt.date(2023, 9, 12),
        )
        == 0
    )
    assert charges(household, cycle) == []


def test_an_officers_decision_dated_in_a_closed_cycle_is_refused_and_writes_nothing():
    household = make_household(decile=9)
    cycle = rules.ensure_cycle(key="1402-06")
    Cycle.objects.filter(pk=cycle.pk).update(status=CycleStatus.CLOSED)

    with pytest.raises(ValidationError) as refused:
        assign_decile(
            household=household,
            decile=2,
            effective_from=dt.date(2023, 9, 1),
            source=DecileSource.OFFICER,
            reason="بازبینی",
            created_by=None,
        )

    assert refused.value.error_dict["effective_from"][0].code == "decision_in_closed_cycle"
    assert not DecileAssignment.objects.filter(household=household, decile=2).exists()


def test_a_household_that_leaves_the_covered_deciles_spends_its_charge_until_the_cycle_ends(
    django_capture_on_commit_callbacks,
):
    # Given a decile-2 household charged this month, then moved to decile 9 from today
    household = make_household(decile=2)
    cycle = charge(this_month())
    decide(household, 9, timezone.localdate(), django_capture_on_commit_callbacks)
    head = household.members.get(is_head=True)

    # Then the portal and the API say the credit may be spent until the cycle ends
    board = dashboard(person=head)
    assert (board.covered, board.spendable_until) == (False, cycle.ends_on)
    me = api_client(head).get("/api/v1/me/").json()
    assert me["eligibility"]["covered"] is False
    assert me["eligibility"]["spendable_until"] == cycle.ends_on.isoformat()
    # And the till takes its credit this cycle
    purchase = buy(household, cycle=cycle, base=500_000, current=600_000)
    assert purchase.credit_rial > 0
    assert wallet_balance(household_id=household.pk) == CREDIT - purchase.credit_rial

    # But not in the next cycle, which does not charge it
    next_start = cycle.ends_on + dt.timedelta(days=1)
    noon = dt.datetime.combine(next_start, dt.time(12), tzinfo=timezone.get_default_timezone())
    item = priced_item(base=100_000, current=100_000)
    with pytest.raises(CheckoutError) as refused:
        checkout_purchase(household, lines={item.code: 1}, at=noon)
    assert refused.value.code == "household_not_eligible"
    assert reconcile(verify_digests=False).ok


def test_a_household_covered_during_the_cycle_earns_the_bonus_of_its_band(
    django_capture_on_commit_callbacks,
):
    household = make_household(decile=9)
    cycle = charge(this_month())
    decide(household, 1, timezone.localdate(), django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks(execute=True):
        buy(household, cycle=cycle, base=1_000_000, current=1_000_000 + CREDIT)

    progress = bonus_progress(household_id=household.pk, cycle=cycle)
    assert progress is not None and progress.granted
    assert wallet_balance(household_id=household.pk) == BONUS
    assert grant_bonus_if_earned(household_id=household.pk, cycle=cycle) == 0
    runs.run_inline(run=runs.start_run(kind=RunKind.BONUS_SWEEP, cycle=cycle))
    assert JournalEntry.objects.filter(household=household, kind=EntryKind.BONUS).count() == 1
    assert reconcile(verify_digests=False).ok


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_late_charge_racing_the_monthly_run_posts_one_charge():
    # Given a covered household and a charge run started but not yet executed
    seeded_phases()
    household = make_household(decile=2)
    cycle = rules.ensure_cycle(key="1402-06")
    run = runs.start_run(kind=RunKind.CYCLE_CHARGE, cycle=cycle, enqueue=lambda ids: None)
    chunk_ids = list(run.chunks.values_list("pk", flat=True))

    # When the run's chunks and a decision's late charge run at the same moment
    def work(index: int) -> object:
        if index == 0:
            return [runs.execute_chunk(chunk_id=chunk_id) for chunk_id in chunk_ids]
        return coverage.charge_newly_covered(
            household_id=household.pk, effective_from=dt.date(2023, 9, 1), today=dt.date(2023, 9, 2)
        )

    results = in_threads(2, work)

    # Then one of them posted the charge; the other posted nothing or lost on the unique key
    # (the task retries and then finds it posted)
    assert all(not isinstance(r, Exception) or isinstance(r, IntegrityError) for r in results)
    retry = coverage.charge_newly_covered(
        household_id=household.pk, effective_from=dt.date(2023, 9, 1), today=dt.date(2023, 9, 2)
    )
    for chunk_id in chunk_ids:
        runs.execute_chunk(chunk_id=chunk_id)
    assert retry == 0
    assert len(charges(household, cycle)) == 1
    assert wallet_balance(household_id=household.pk) == CREDIT
    assert reconcile(verify_digests=False).ok
