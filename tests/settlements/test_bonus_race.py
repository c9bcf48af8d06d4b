"""Issue 13 §2 under real concurrency on PostgreSQL (threads, each its own connection): a
reversal racing a purchase that crosses the bonus threshold, and the bonus grants (the instant
task and the sweep) racing both. Afterwards at most one bonus is in force, none is left with a
household under the threshold, and the ledger reconciles."""

from decimal import Decimal

import pytest

from households import services as household_services
from settlements.models import Cycle, EntryKind, JournalEntry, RunKind
from settlements.selectors import credit_spent_in_cycle
from settlements.services import runs
from settlements.services.bonus import grant_bonus_if_earned
from settlements.services.checkout import LineRequest, checkout, reverse_purchase
from settlements.services.reconcile import reconcile
from tests.concurrency import in_threads
from tests.households.factories import make_household, next_card_number
from tests.settlements.factories import charge, seeded_phases, set_prices, this_month
from tests.stores.factories import make_terminal

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

ROUNDS = 12
THRESHOLD = 2_000_000  # decile 2, one member: credit 2,000,000, threshold 2,000,000


def in_force(household_id: int, cycle: Cycle) -> int:
    bonuses = JournalEntry.objects.filter(
        household_id=household_id, cycle=cycle, kind=EntryKind.BONUS
    )
    return bonuses.count() - JournalEntry.objects.filter(reverses__in=bonuses).count()


@pytest.mark.parametrize("in_one_call", [True, False], ids=["in_one_call", "in_python"])
def test_a_reversal_racing_a_crossing_purchase_never_leaves_a_bonus_under_the_threshold(
    settings, in_one_call
):
    settings.CHECKOUT_IN_ONE_CALL = in_one_call
    seeded_phases()
    households = []
    for _ in range(ROUNDS):
        household = make_household(decile=2)
        card = next_card_number()
        household_services.register_card(person=household.members.get(), card_number=card)
        households.append((household.pk, card))
    cycle = charge(this_month())
    set_prices("rice", 500_000, 800_000)  # 300,000 rial of credit a unit
    terminal = make_terminal()

    def buy(card: str, quantity: str, key: str) -> dict:
        return checkout(
            terminal=terminal,
            idempotency_key=key,
            card_number=card,
            payment_code=None,
            lines=[LineRequest("rice", Decimal(quantity))],
            request_body={"card_number": card, "lines": [{"item": "rice", "quantity": quantity}]},
        ).body

    for index, (household_id, card) in enumerate(households):
        first = buy(card, "1", f"first-{index}")  # 300,000 spent

        def crossing(card=card, index=index, household_id=household_id) -> int:
            buy(card, "6", f"cross-{index}")  # 1,700,000 more: exactly the threshold
            return grant_bonus_if_earned(household_id=household_id, cycle=cycle)

        def reversal(first=first, index=index) -> dict:
            return reverse_purchase(
                terminal=terminal, purchase_id=first["purchase_id"], idempotency_key=f"rev-{index}"
            ).body

        def instant(household_id=household_id) -> int:
            return grant_bonus_if_earned(household_id=household_id, cycle=cycle)

        racers = [crossing, reversal, instant]
        results = in_threads(len(racers), lambda i, racers=racers: racers[i]())

        assert not any(isinstance(r, Exception) for r in results), results
        spent = credit_spent_in_cycle(household_id=household_id, cycle=cycle)
        # Whichever came first, the reversal leaves the spend under the threshold: no bonus stays.
        assert spent < THRESHOLD, (index, spent)
        assert in_force(household_id, cycle) == 0, (index, results)

    runs.run_inline(run=runs.start_run(kind=RunKind.BONUS_SWEEP, cycle=cycle))
    assert all(in_force(household_id, cycle) == 0 for household_id, _ in households)
    assert reconcile(verify_digests=False).ok


def test_the_instant_task_and_the_sweep_racing_after_a_take_back_grant_one_bonus(settings):
    seeded_phases()
    household = make_household(decile=2)
    card = next_card_number()
    household_services.register_card(person=household.members.get(), card_number=card)
    cycle = charge(this_month())
    set_prices("rice", 500_000, 800_000)
    terminal = make_terminal()

    def buy(quantity: str, key: str) -> dict:
        return checkout(
            terminal=terminal,
            idempotency_key=key,
            card_number=card,
            payment_code=None,
            lines=[LineRequest("rice", Decimal(quantity))],
            request_body={"card_number": card, "lines": [{"item": "rice", "quantity": quantity}]},
        ).body

    first = buy("7", "cross-1")
    grant_bonus_if_earned(household_id=household.pk, cycle=cycle)
    reverse_purchase(terminal=terminal, purchase_id=first["purchase_id"], idempotency_key="rev-1")
    buy("7", "cross-2")

    racers = [lambda: grant_bonus_if_earned(household_id=household.pk, cycle=cycle)] * 3 + [
        lambda: runs.run_inline(run=runs.start_run(kind=RunKind.BONUS_SWEEP, cycle=cycle))
    ]
    results = in_threads(len(racers), lambda i: racers[i]())

    assert in_force(household.pk, cycle) == 1, results
    assert reconcile(verify_digests=False).ok
