"""A bonus taken back by a reversal can be earned again (issue 13 §2): at most one bonus in force
per household and cycle; a reversal under the threshold takes it back; crossing the threshold
again grants a new one, by the instant task and by the nightly sweep alike."""

import pytest

from settlements.models import Account, AccountKind, EntryKind, JournalEntry, RunKind
from settlements.selectors import bonus_progress, wallet_balance
from settlements.services import runs
from settlements.services.bonus import grant_bonus_if_earned
from settlements.services.ledger import Leg, post_entry, system_account
from settlements.services.reconcile import reconcile
from stores.models import IdempotencyRecord, Purchase
from tests.households.factories import make_household
from tests.settlements.factories import buy, charge, reverse

pytestmark = pytest.mark.django_db

CREDIT, BONUS = 2_000_000, 1_200_000  # the seeded band, one member: threshold = credit


def in_force(household, cycle) -> int:
    """Bonus entries of the cycle that no reversal names (counted here, not by the code's fragment)."""
    bonuses = JournalEntry.objects.filter(household=household, cycle=cycle, kind=EntryKind.BONUS)
    taken_back = JournalEntry.objects.filter(reverses__in=bonuses).count()
    return bonuses.count() - taken_back


def answer_bonus(purchase: Purchase) -> dict:
    return IdempotencyRecord.objects.get(purchase=purchase, operation="purchase").response_body[
        "bonus"
    ]


def cross(household, cycle, capture) -> Purchase:
    """A purchase spending the whole credit (the threshold), its instant bonus task run on commit."""
    with capture(execute=True):
        return buy(household, cycle=cycle, base=1_000_000, current=1_000_000 + CREDIT)


@pytest.mark.parametrize("in_one_call", [True, False], ids=["in_one_call", "in_python"])
def test_cross_reverse_cross_reverse_cross_grants_takes_back_and_grants_again(
    settings, django_capture_on_commit_callbacks, in_one_call
):
    settings.CHECKOUT_IN_ONE_CALL = in_one_call
    household = make_household(decile=1)
    cycle = charge("1402-06")
    seen = []

    for step in range(3):
        purchase = cross(household, cycle, django_capture_on_commit_callbacks)
        answer = answer_bonus(purchase)
        assert (answer["granted"], answer["queued"]) == (False, True), step
        assert wallet_balance(household_id=household.pk) == BONUS, step
        assert in_force(household, cycle) == 1, step
        assert bonus_progress(household_id=household.pk, cycle=cycle).granted, step
        seen.append(JournalEntry.objects.filter(household=household, kind="bonus").count())
        if step == 2:
            break
        reverse(purchase)
        assert wallet_balance(household_id=household.pk) == CREDIT, step  # +credit −bonus
        assert in_force(household, cycle) == 0, step
        assert not bonus_progress(household_id=household.pk, cycle=cycle).granted, step

    keys = list(
        JournalEntry.objects.filter(household=household, kind="bonus")
        .order_by("id")
        .values_list("idempotency_key", flat=True)
    )
    assert seen == [1, 2, 3]
    assert keys == [f"bonus:1402-06:{household.pk}", f"bonus:1402-06:{household.pk}:1",
                    f"bonus:1402-06:{household.pk}:2"]  # fmt: skip
    assert reconcile(verify_digests=False).ok


def test_a_purchase_after_a_take_back_answers_not_granted(django_capture_on_commit_callbacks):
    household = make_household(decile=1)
    cycle = charge("1402-06")
    reverse(cross(household, cycle, django_capture_on_commit_callbacks))

    small = buy(household, cycle=cycle, base=100_000, current=200_000)

    assert (answer_bonus(small)["granted"], answer_bonus(small)["queued"]) == (False, False)


def test_the_sweep_grants_again_after_a_take_back_and_only_once():
    household = make_household(decile=1)
    cycle = charge("1402-06")
    first = buy(household, cycle=cycle, base=1_000_000, current=1_000_000 + CREDIT)
    runs.run_inline(run=runs.start_run(kind=RunKind.BONUS_SWEEP, cycle=cycle))
    reverse(first)
    buy(household, cycle=cycle, base=1_000_000, current=1_000_000 + CREDIT)

    swept = runs.run_inline(run=runs.start_run(kind=RunKind.BONUS_SWEEP, cycle=cycle))
    again = grant_bonus_if_earned(household_id=household.pk, cycle=cycle)
    runs.run_inline(run=runs.start_run(kind=RunKind.BONUS_SWEEP, cycle=cycle))

    assert (swept.entries_created, swept.amount_rial, again) == (1, BONUS, 0)
    assert in_force(household, cycle) == 1
    assert wallet_balance(household_id=household.pk) == BONUS
    assert reconcile(verify_digests=False).ok


def test_a_reversal_that_stays_above_the_threshold_keeps_the_bonus_and_grants_no_second():
    household = make_household(decile=1, members=1)  # 4,000,000 credit, threshold 4,000,000
    cycle = charge("1402-06")
    buy(household, cycle=cycle, base=1_000_000, current=5_000_000)
    grant_bonus_if_earned(household_id=household.pk, cycle=cycle)
    extra = buy(household, cycle=cycle, base=100_000, current=200_000)

    reverse(extra)

    assert grant_bonus_if_earned(household_id=household.pk, cycle=cycle) == 0
    assert in_force(household, cycle) == 1


def test_reconcile_reports_two_bonuses_in_force_in_one_cycle():
    household = make_household(decile=1)
    cycle = charge("1402-06")
    buy(household, cycle=cycle, base=1_000_000, current=1_000_000 + CREDIT)
    grant_bonus_if_earned(household_id=household.pk, cycle=cycle)
    wallet = Account.objects.get(kind=AccountKind.WALLET, household=household)
    post_entry(  # a second bonus no run would grant: a breach reconcile must name
        kind=EntryKind.BONUS,
        idempotency_key=f"bonus:{cycle.key}:{household.pk}:forged",
        legs=[Leg(system_account(kind=AccountKind.PROGRAMME_FUND), -BONUS), Leg(wallet, BONUS)],
        household=household,
        cycle=cycle,
        phase=cycle.phase,
    )

    report = reconcile(verify_digests=False)

    assert report.checks["one_bonus_in_force_per_cycle"] == 1
    assert (
        f"household {household.pk}: 2 bonuses in force in cycle {cycle.pk} (at most 1)"
        in report.breaches
    )
