"""Test data for SMS: heads of household in given deciles, and a phase covering them."""

import datetime as dt

from households.models import Person
from settlements.models import Phase, PhaseBand
from tests.households.factories import make_household


def heads_in_deciles(counts: dict[int, int]) -> list[Person]:
    heads = []
    for decile, count in counts.items():
        for _ in range(count):
            household = make_household(decile=decile)
            heads.append(Person.objects.get(household=household, is_head=True))
    return heads


def phase_for_notices() -> Phase:
    """A phase in force today: deciles 1–3 and 4–5 with different amounts."""
    phase = Phase.objects.create(name="مرحله پیامک", starts_on=dt.date(2020, 1, 1))
    PhaseBand.objects.create(
        phase=phase, min_decile=1, max_decile=3, credit_per_cycle_rial=4_000_000,
        bonus_threshold_rial=2_000_000, bonus_amount_rial=1_200_000,
    )  # fmt: skip
    PhaseBand.objects.create(
        phase=phase, min_decile=4, max_decile=5, credit_per_cycle_rial=3_000_000,
        bonus_threshold_rial=2_500_000, bonus_amount_rial=1_500_000,
    )  # fmt: skip
    return phase
