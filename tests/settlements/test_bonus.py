import pytest

from settlements.models import EntryKind, JournalEntry, RunKind
from settlements.selectors import bonus_progress, credit_spent_in_cycle, wallet_balance
from settlements.services import runs
from settlements.services.bonus import grant_bonus_if_earned
from settlements.services.payments import split_purchase
from settlements.services.reconcile import reconcile
from tests.households.factories import make_household
from tests.settlements.factories import buy, charge, reverse

pytestmark = pytest.mark.django_db


def bonuses(household) -> list[int]:
    return [
        entry.postings.get(account__kind="wallet").amount_rial
        for entry in JournalEntry.objects.filter(household=household, kind=EntryKind.BONUS)
    ]


def test_the_worked_example_of_the_source_holds_to_the_rial():
    split = split_purchase(
        base_total_rial=5_000_000, current_total_rial=8_000_000, wallet_balance_rial=2_000_000
    )

    assert (split.cash_rial, split.credit_rial, split.compensation_rial) == (
        5_000_000,
        2_000_000,
        1_000_000,
    )


def test_the_worked_example_through_the_ledger_earns_the_bonus():
    household = make_household(decile=4)  # one member: 2,000,000 rial of credit
    cycle = charge("1402-06")

    purchase = buy(household, cycle=cycle, base=5_000_000, current=8_000_000)
    granted = grant_bonus_if_earned(household_id=household.pk, cycle=cycle)

    assert (purchase.cash_rial, purchase.credit_rial, purchase.compensation_rial) == (
        5_000_000,
        2_000_000,
        1_000_000,
    )
    assert granted == 1_200_000
    assert wallet_balance(household_id=household.pk) == 1_200_000
    assert reconcile(verify_digests=False).ok


def test_spending_exactly_the_threshold_earns_the_bonus():
    household = make_household(decile=1)
    cycle = charge("1402-06")
    buy(
        household, cycle=cycle, base=1_000_000, current=3_000_000
    )  # difference 2,000,000 from credit

    assert grant_bonus_if_earned(household_id=household.pk, cycle=cycle) == 1_200_000


def test_spending_one_rial_below_the_threshold_earns_nothing():
    household = make_household(decile=1)
    cycle = charge("1402-06")
    buy(household, cycle=cycle, base=1_000_000, current=2_999_999)

    assert grant_bonus_if_earned(household_id=household.pk, cycle=cycle) == 0
    assert bonus_progress(household_id=household.pk, cycle=cycle).remaining_rial == 1


def test_the_bonus_is_granted_once_per_cycle_however_often_it_is_asked():
    household = make_household(decile=1, members=1)  # 4,000,000 credit, threshold 4,000,000
    cycle = charge("1402-06")
    buy(household, cycle=cycle, base=1_000_000, current=5_000_000)
    buy(household, cycle=cycle, base=100_000, current=200_000)

    grant_bonus_if_earned(household_id=household.pk, cycle=cycle)
    grant_bonus_if_earned(household_id=household.pk, cycle=cycle)
    runs.run_inline(run=runs.start_run(kind=RunKind.BONUS_SWEEP, cycle=cycle))

    assert bonuses(household) == [2_400_000]


def test_credit_spent_counts_only_the_credit_part_not_cash_or_compensation():
    household = make_household(decile=1)
    cycle = charge("1402-06")

    buy(
        household, cycle=cycle, base=5_000_000, current=9_000_000
    )  # 4,000,000 rise: 2,000,000 credit

    assert credit_spent_in_cycle(household_id=household.pk, cycle=cycle) == 2_000_000


def test_a_reversed_purchase_does_not_count_toward_the_bonus():
    household = make_household(decile=1)
    cycle = charge("1402-06")
    purchase = buy(household, cycle=cycle, base=1_000_000, current=3_000_000)
    reverse(purchase)

    assert grant_bonus_if_earned(household_id=household.pk, cycle=cycle) == 0
    assert credit_spent_in_cycle(household_id=household.pk, cycle=cycle) == 0
    assert wallet_balance(household_id=household.pk) == 2_000_000


def test_the_nightly_sweep_grants_every_bonus_the_instant_path_missed():
    earned = [make_household(decile=2) for _ in range(3)]
    short = make_household(decile=2)
    cycle = charge("1402-06")
    for household in earned:
        buy(household, cycle=cycle, base=1_000_000, current=3_000_000)
    buy(short, cycle=cycle, base=1_000_000, current=1_500_000)

    run = runs.run_inline(run=runs.start_run(kind=RunKind.BONUS_SWEEP, cycle=cycle, chunk_size=2))

    assert run.entries_created == 3 and run.amount_rial == 3_600_000
    assert [bonuses(h) for h in earned] == [[1_200_000]] * 3
    assert bonuses(short) == []


def test_a_household_no_longer_eligible_gets_no_bonus():
    household = make_household(decile=9)
    cycle = charge("1402-06")

    assert grant_bonus_if_earned(household_id=household.pk, cycle=cycle) == 0
    assert bonus_progress(household_id=household.pk, cycle=cycle) is None


def test_bonus_progress_tells_how_much_more_to_spend():
    household = make_household(decile=3)
    cycle = charge("1402-06")
    buy(household, cycle=cycle, base=500_000, current=1_700_000)

    progress = bonus_progress(household_id=household.pk, cycle=cycle)

    assert (progress.spent_rial, progress.remaining_rial, progress.percent, progress.granted) == (
        1_200_000,
        800_000,
        60,
        False,
    )
