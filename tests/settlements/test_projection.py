"""What-if of a phase (issue 17): the projected monthly cost of a rule from the registry today and
the last closed cycle's purchases, and that cycle's actual cost, checked to the rial against a
small data set computed by hand.

The data set (the seeded rules: deciles 1–5, 2,000,000 rial of credit per member, the bonus of
1,200,000 per member at 2,000,000 per member spent). Cycle 1402-06 is charged, bought in, swept
for bonuses and closed by charging 1402-07:

====  ======  =======  ==========  ===============================================================
 hh   decile  members  1402-06     purchases in 1402-06 (difference = credit + compensation)
====  ======  =======  ==========  ===============================================================
 A    1       1        2,000,000   2,500,000 (credit 2,000,000 + comp. 500,000) → bonus 1,200,000
 B    2       2        4,000,000   1,000,000 (credit); 3,500,000 (credit 3,000,000 + comp.
                                   500,000) reversed — its bonus of 2,400,000 taken back
 C    4       1        2,000,000   none
 E    6       1        —           (not covered then)
 F    2       3        —           (registered after 1402-06)
 G    8       1        —           (not covered)
====  ======  =======  ==========  ===============================================================

Actual cost of 1402-06: 3 households, 4 members, credit 8,000,000, bonus 1,200,000 (A's; B's was
taken back), compensation 500,000 (A's; B's reversed purchase nets to 0): total 9,700,000.

Projection of deciles 1–6, credit 1,500,000, threshold 1,000,000, bonus 600,000 per member:

- A: D 2,500,000, credit 1,500,000 → spends 1,500,000, compensation 1,000,000, bonus 600,000.
- B: D 1,000,000, credit 3,000,000 → spends 1,000,000 < threshold 2,000,000: no bonus, comp. 0.
- C: D 0, credit 1,500,000 → nothing more.
- F (decile 2, not charged then): decile 2's behaviour — 1 charged (B), 1 bought, mean D
  1,000,000; credit 4,500,000 → spends 1,000,000 < 3,000,000: no bonus, compensation 0.
- E (decile 6, no charged household in it): everyone's behaviour — 3 charged, 2 bought, mean D
  3,500,000 / 2 = 1,750,000; credit 1,500,000 → spends 1,500,000 ≥ 1,000,000: bonus 600,000 and
  compensation 250,000, each × 2/3 → 400,000 and 166,666.67 → 166,667 (half up, once).
- G: decile 8, not covered.

Households 5 (A B C E F), members 8, credit 8 × 1,500,000 = 12,000,000, bonus 600,000 + 400,000
= 1,000,000, compensation 1,000,000 + 166,667 = 1,166,667; total 14,166,667.
"""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from kalabarg.figures.refresh import refresh_figures
from settlements.models import CreditBasis, Cycle, CycleBasket, CycleCost
from settlements.services import projection
from settlements.services.rules import BandRule
from tests.households.factories import make_household
from tests.settlements.factories import WhatIfData, charge, seeded_phases, what_if_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def data_set() -> WhatIfData:
    return what_if_data()


def _example() -> projection.Projection:
    return projection.project_phase(
        min_decile=1,
        max_decile=6,
        credit_rial=1_500_000,
        threshold_rial=1_000_000,
        bonus_rial=600_000,
        basis="member",
    )


def test_the_projection_adds_up_the_hand_computed_figures_to_the_rial(data_set):
    result = _example()

    assert (
        result.households,
        result.members,
        result.credit_rial,
        result.bonus_rial,
        result.compensation_rial,
        result.total_rial,
    ) == (5, 8, 12_000_000, 1_000_000, 1_166_667, 14_166_667)
    assert result.cycle_key == "1402-06"


def test_the_projection_breaks_the_cost_down_by_decile(data_set):
    result = _example()

    rows = {
        row.decile: (
            row.households,
            row.members,
            row.credit_rial,
            row.bonus_rial,
            row.compensation_rial,
            row.observed,
            row.estimated,
        )
        for row in result.deciles
    }
    assert rows == {
        1: (1, 1, 1_500_000, 600_000, 1_000_000, 1, 0),
        2: (2, 5, 7_500_000, 0, 0, 1, 1),
        3: (0, 0, 0, 0, 0, 0, 0),
        4: (1, 1, 1_500_000, 0, 0, 1, 0),
        5: (0, 0, 0, 0, 0, 0, 0),
        6: (1, 1, 1_500_000, 400_000, 166_667, 0, 1),
    }


def test_a_decile_with_no_charged_household_borrows_everyones_behaviour_and_says_so(data_set):
    result = _example()

    assert any("دهک ۶" in note and "میانگین همه" in note for note in result.notes)


def test_the_actual_cost_of_the_closed_cycle_counts_charges_bonuses_in_force_and_net_compensation(
    data_set,
):
    result = projection.actual_cost(cycle=data_set.closed)

    assert (
        result.households,
        result.members,
        result.credit_rial,
        result.bonus_rial,
        result.compensation_rial,
        result.total_rial,
    ) == (3, 4, 8_000_000, 1_200_000, 500_000, 9_700_000)
    assert {row.decile: row.total_rial for row in result.deciles} == {
        1: 2_000_000 + 1_200_000 + 500_000,
        2: 4_000_000,
        4: 2_000_000,
    }


def test_the_actual_cost_is_read_from_what_the_figures_refresh_recorded(data_set):
    """The what-if reads the recorded rows, never the ledger: a recorded figure is shown as it
    stands (with when it was recorded), and the next refresh records the ledger's again."""
    CycleCost.objects.filter(cycle=data_set.closed, decile=1).update(bonus_rial=7)

    stale = projection.actual_cost(cycle=data_set.closed)
    assert stale.bonus_rial == 7
    assert any("از آمار برنامه به‌روزشده در" in note for note in stale.notes)
    refresh_figures(trigger="test", cycles=[data_set.closed])
    assert projection.actual_cost(cycle=data_set.closed).bonus_rial == 1_200_000


def test_the_refresh_records_each_charged_households_basket_in_the_last_closed_cycle(data_set):
    """A bought 2,500,000 (credit + compensation), B 1,000,000 net of its reversed purchase, C
    nothing; E, F and G were not charged. The open cycle 1402-07 is not recorded."""
    recorded = dict(
        CycleBasket.objects.values_list("household_id", "difference_rial").filter(
            cycle=data_set.closed
        )
    )
    assert recorded == {data_set.a.pk: 2_500_000, data_set.b.pk: 1_000_000, data_set.c.pk: 0}
    assert set(CycleBasket.objects.values_list("cycle_id", flat=True)) == {data_set.closed.pk}


def test_only_the_latest_closed_cycles_baskets_are_kept(data_set):
    charge("1402-08")  # closes 1402-07
    july = Cycle.objects.get(key="1402-07")
    refresh_figures(trigger="test", cycles=[data_set.closed, july])

    assert set(CycleBasket.objects.values_list("cycle_id", flat=True)) == {july.pk}


def test_the_projection_goes_by_the_recorded_baskets(data_set):
    """C's recorded basket raised to 5,000,000: at 1,500,000 of credit C spends it all (≥ the
    threshold of 1,000,000: bonus 600,000) and the rest, 3,500,000, is compensation."""
    CycleBasket.objects.filter(household=data_set.c).update(difference_rial=5_000_000)

    decile_4 = next(row for row in _example().deciles if row.decile == 4)

    assert (decile_4.bonus_rial, decile_4.compensation_rial) == (600_000, 3_500_000)


def test_with_no_recorded_cost_the_what_if_shows_the_projection_alone_and_says_why():
    what_if_data(record_cost=False)

    figures = projection.what_if(
        bands=[BandRule(1, 6, 1_500_000, 1_000_000, 600_000)], basis="member"
    )

    assert figures.actual is None
    assert figures.projection.total_rial == 14_166_667
    assert any("هنوز در آمار برنامه ثبت نشده" in note for note in figures.projection.notes)


def test_a_per_household_basis_counts_each_household_once(data_set):
    """Deciles 1–6 at 1,500,000 per household, threshold 1,000,000, bonus 600,000: A spends
    1,500,000 (bonus 600,000, comp. 1,000,000); B spends 1,000,000, which now reaches the
    household's threshold (bonus 600,000); C nothing; F as decile 2 (1 of 1 bought, mean
    1,000,000: bonus 600,000); E as everyone (mean 1,750,000: spends 1,500,000 → bonus 600,000
    and comp. 250,000, × 2/3 → 400,000 and 166,667). Credit 5 × 1,500,000 = 7,500,000; bonus
    2,200,000; compensation 1,166,667; total 10,866,667."""
    result = projection.project_phase(
        min_decile=1,
        max_decile=6,
        credit_rial=1_500_000,
        threshold_rial=1_000_000,
        bonus_rial=600_000,
        basis="household",
    )

    assert (
        result.households,
        result.credit_rial,
        result.bonus_rial,
        result.compensation_rial,
        result.total_rial,
    ) == (5, 7_500_000, 2_200_000, 1_166_667, 10_866_667)
    assert result.basis == CreditBasis.PER_HOUSEHOLD


def test_bands_are_projected_each_with_its_own_amounts_and_summed(data_set):
    """Deciles 1–2 at 3,000,000 per member (threshold 2,000,000, bonus 1,000,000) and 3–5 at
    500,000 (threshold 500,000, bonus 100,000). A: credit 3,000,000, spends 2,500,000 ≥
    2,000,000 → bonus 1,000,000, comp. 0. B: credit 6,000,000, spends 1,000,000 < 4,000,000.
    F: mean 1,000,000, credit 9,000,000: nothing more. C: credit 500,000, D 0. Credit 3,000,000
    + 6,000,000 + 9,000,000 + 500,000 = 18,500,000; total 19,500,000."""
    bands = [
        BandRule(
            min_decile=1,
            max_decile=2,
            credit_per_cycle_rial=3_000_000,
            bonus_threshold_rial=2_000_000,
            bonus_amount_rial=1_000_000,
        ),
        BandRule(
            min_decile=3,
            max_decile=5,
            credit_per_cycle_rial=500_000,
            bonus_threshold_rial=500_000,
            bonus_amount_rial=100_000,
        ),
    ]

    result = projection.project_bands(bands=bands, basis=CreditBasis.PER_MEMBER)

    assert (result.households, result.credit_rial, result.bonus_rial) == (
        4,
        18_500_000,
        1_000_000,
    )
    assert (result.compensation_rial, result.total_rial) == (0, 19_500_000)


def test_without_a_closed_cycle_only_the_credit_is_projected_and_the_projection_says_so():
    seeded_phases()
    make_household(decile=1, members=1)
    make_household(decile=3, members=0)
    charge("1402-06")  # open, not closed

    result = _example()

    assert (result.households, result.credit_rial, result.bonus_rial) == (2, 4_500_000, 0)
    assert (result.compensation_rial, result.cycle_key) == (0, None)
    assert "هیچ دوره‌ای بسته نشده" in result.notes[0]


def test_the_projection_reads_the_registry_on_the_day_it_is_asked_for(data_set):
    result = projection.project_phase(
        min_decile=1,
        max_decile=6,
        credit_rial=1_500_000,
        threshold_rial=1_000_000,
        bonus_rial=600_000,
        basis="member",
        day=dt.date(2021, 1, 1),  # before any decile took effect
    )

    assert (result.households, result.credit_rial) == (0, 0)


def test_the_json_shape_keeps_every_figure_as_whole_rials_and_reads_back_unchanged(data_set):
    result = _example()

    stored = result.as_dict()

    assert {key: stored[key] for key in ("households", "credit_rial", "total_rial")} == {
        "households": 5,
        "credit_rial": 12_000_000,
        "total_rial": 14_166_667,
    }
    assert projection.Projection.from_dict(stored) == result


@pytest.mark.parametrize(
    ("arguments", "field", "code"),
    [
        ({"min_decile": 0}, "deciles", "deciles_out_of_range"),
        ({"max_decile": 11}, "deciles", "deciles_out_of_range"),
        ({"min_decile": 5, "max_decile": 2}, "deciles", "deciles_reversed"),
        ({"credit_rial": -1}, "credit_rial", "amount_invalid"),
        ({"bonus_rial": -5}, "bonus_rial", "amount_invalid"),
        ({"threshold_rial": 0}, "threshold_rial", "threshold_not_positive"),
        ({"basis": "family"}, "basis", "basis_invalid"),
    ],
)
def test_bad_input_is_refused_naming_its_field_with_a_stable_code(arguments, field, code):
    given = {
        "min_decile": 1,
        "max_decile": 6,
        "credit_rial": 2_000_000,
        "threshold_rial": 2_000_000,
        "bonus_rial": 1_200_000,
        "basis": "member",
        **arguments,
    }

    with pytest.raises(ValidationError) as refused:
        projection.project_phase(**given)

    error = refused.value.error_dict[field][0]
    assert error.code == code
    assert error.message  # Persian words for the officer


@pytest.mark.parametrize(("text", "deciles"), [("1-6", (1, 6)), ("۴", (4, 4)), (" 2 – 5 ", (2, 5))])
def test_deciles_are_read_as_a_range_or_a_single_decile(text, deciles):
    assert projection.parse_deciles(text=text) == deciles


@pytest.mark.parametrize(
    ("text", "code"),
    [("1-", "deciles_invalid"), ("a", "deciles_invalid"), ("0-3", "deciles_out_of_range")],
)
def test_a_malformed_decile_range_is_refused(text, code):
    with pytest.raises(ValidationError) as refused:
        projection.parse_deciles(text=text)

    assert refused.value.error_dict["deciles"][0].code == code
