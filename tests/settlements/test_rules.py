import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from settlements.models import CreditBasis
from settlements.services import rules
from tests.households.factories import make_household
from tests.settlements.factories import make_phase, seeded_phases

pytestmark = pytest.mark.django_db


def test_the_source_phases_cover_deciles_1_to_3_first_and_1_to_5_from_1402_06_01():
    one, two = seeded_phases()

    assert rules.phase_on(day=dt.date(2022, 3, 20)) is None
    assert rules.phase_on(day=dt.date(2023, 8, 22)) == one
    assert rules.phase_on(day=dt.date(2023, 8, 23)) == two
    assert [(b.min_decile, b.max_decile) for b in one.bands.all()] == [(1, 3)]
    assert [(b.min_decile, b.max_decile) for b in two.bands.all()] == [(1, 3), (4, 5)]


def test_the_seeded_amounts_are_those_of_the_source():
    _, two = seeded_phases()

    bands = list(two.bands.all())
    assert {
        (b.credit_per_cycle_rial, b.bonus_threshold_rial, b.bonus_amount_rial) for b in bands
    } == {(2_000_000, 2_000_000, 1_200_000)}
    assert two.basis == CreditBasis.PER_MEMBER


@pytest.mark.parametrize(
    ("key", "first", "last"),
    [
        ("1402-06", dt.date(2023, 8, 23), dt.date(2023, 9, 22)),
        ("1402-12", dt.date(2024, 2, 20), dt.date(2024, 3, 19)),
        ("1403-12", dt.date(2025, 2, 19), dt.date(2025, 3, 20)),
    ],
)
def test_a_cycle_is_one_jalali_month(key, first, last):
    assert rules.jalali_month_bounds(key=key) == (first, last)


@pytest.mark.parametrize("key", ["1402-13", "1402", "abcd-01", ""])
def test_a_malformed_cycle_key_is_refused(key):
    with pytest.raises(ValidationError):
        rules.jalali_month_bounds(key=key)


def test_a_decile_4_household_is_covered_only_from_the_phase_that_added_deciles_4_and_5():
    seeded_phases()
    household = make_household(decile=4, members=1)

    before = rules.entitlement(household_id=household.pk, cycle=rules.ensure_cycle(key="1402-05"))
    after = rules.entitlement(household_id=household.pk, cycle=rules.ensure_cycle(key="1402-06"))

    assert before is None
    assert after is not None and (after.decile, after.members, after.credit_rial) == (
        4,
        2,
        4_000_000,
    )
    assert after.cash_subsidy_rial == 6_000_000


def test_the_decile_on_the_cycles_first_day_decides():
    seeded_phases()
    household = make_household(decile=7)
    from tests.households.factories import DecileAssignmentFactory

    DecileAssignmentFactory(
        household=household, decile=2, effective_from=dt.date(2023, 8, 24), reason="اعتراض"
    )

    assert (
        rules.entitlement(household_id=household.pk, cycle=rules.ensure_cycle(key="1402-06"))
        is None
    )
    assert (
        rules.entitlement(household_id=household.pk, cycle=rules.ensure_cycle(key="1402-07")).decile
        == 2
    )


def test_per_household_basis_gives_one_amount_whatever_the_size():
    make_phase(starts_on=dt.date(2030, 3, 21), basis=CreditBasis.PER_HOUSEHOLD)
    household = make_household(decile=2, members=4)

    rule = rules.entitlement(household_id=household.pk, cycle=rules.ensure_cycle(key="1409-01"))

    assert (rule.credit_rial, rule.bonus_threshold_rial, rule.bonus_rial) == (
        2_000_000,
        2_000_000,
        1_200_000,
    )


def test_members_born_after_the_cycle_began_are_not_counted():
    seeded_phases()
    household = make_household(decile=1, members=0)
    from tests.households.factories import PersonFactory

    PersonFactory(household=household, first_name="نوزاد", birth_date=dt.date(2023, 9, 1))

    rule = rules.entitlement(household_id=household.pk, cycle=rules.ensure_cycle(key="1402-06"))

    assert rule.members == 1 and rule.credit_rial == 2_000_000


def test_a_cycle_without_a_phase_is_refused():
    seeded_phases()

    with pytest.raises(ValidationError) as error:
        rules.ensure_cycle(key="1400-01")

    assert error.value.error_dict["cycle"][0].code == "no_phase_for_cycle"
