"""Random sequences of charges, purchases, reversals and bonuses keep every ledger invariant."""

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from settlements.models import Charge, EntryKind, JournalEntry, Posting, RunKind
from settlements.selectors import wallet_balance
from settlements.services import rules, runs
from settlements.services.bonus import grant_bonus_if_earned
from settlements.services.checkout import CheckoutError
from settlements.services.reconcile import ReconcileReport, check_invariants
from stores.models import Purchase
from tests.households.factories import make_household
from tests.settlements.factories import buy, reverse, seeded_phases
from tests.stores.factories import make_terminal

HOUSEHOLDS = 3

operation = st.one_of(
    st.tuples(st.just("charge")),
    st.tuples(
        st.just("buy"),
        st.integers(0, HOUSEHOLDS - 1),
        st.integers(1, 3_000_000),
        st.integers(0, 3_000_000),
    ),
    st.tuples(st.just("reverse"), st.integers(0, 50)),
    st.tuples(st.just("bonus"), st.integers(0, HOUSEHOLDS - 1)),
    st.tuples(st.just("sweep")),
)


class Rollback(Exception):
    """Raised to undo one example's writes, so every example starts from the same database."""


@pytest.mark.django_db
@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=st.lists(operation, min_size=1, max_size=12))
def test_random_money_movements_keep_every_invariant(steps):
    seeded_phases()
    households = [make_household(decile=decile) for decile in (1, 3, 5)][:HOUSEHOLDS]
    terminal = make_terminal()
    cycle = rules.ensure_cycle(key="1402-06")
    expected = {household.pk: 0 for household in households}
    purchases: list[Purchase] = []
    # Raising Rollback undoes the example's writes, so every example starts from the same database.
    with pytest.raises(Rollback), transaction.atomic():
        for step in steps:
            if step[0] == "charge":
                runs.run_inline(
                    run=runs.start_run(kind=RunKind.CYCLE_CHARGE, cycle=cycle, chunk_size=2)
                )
            elif step[0] == "buy":
                household = households[step[1]]
                purchases.append(
                    buy(
                        household,
                        cycle=cycle,
                        base=step[2],
                        current=step[2] + step[3],
                        terminal=terminal,
                    )
                )
            elif step[0] == "reverse" and purchases:
                chosen = purchases.pop(step[1] % len(purchases))
                try:
                    reverse(chosen)
                except CheckoutError as refusal:  # the bonus it earned is spent: the sale stays
                    assert refusal.code == "reversal_bonus_spent"
                    purchases.append(chosen)
            elif step[0] == "bonus":
                grant_bonus_if_earned(household_id=households[step[1]].pk, cycle=cycle)
            elif step[0] == "sweep":
                runs.run_inline(
                    run=runs.start_run(kind=RunKind.BONUS_SWEEP, cycle=cycle, chunk_size=2)
                )

        report = ReconcileReport()
        check_invariants(report=report)
        assert report.breaches == []
        for household in households:
            entries = JournalEntry.objects.filter(household=household)
            # A run's charge entry names no household; its charge row does, one at most.
            charge_rows = Charge.objects.filter(household=household, cycle=cycle)
            assert charge_rows.count() <= 1
            # A reversal that takes the spend below the threshold takes the bonus back, and
            # crossing it again grants it again: at most one bonus is in force at a time.
            bonuses = entries.filter(kind=EntryKind.BONUS)
            taken_back = entries.filter(kind=EntryKind.REVERSAL, reverses__kind=EntryKind.BONUS)
            assert bonuses.count() - taken_back.count() <= 1
            charged = sum(
                Posting.objects.get(entry_id=row.entry_id, account__household=household).amount_rial
                for row in charge_rows
            )
            bonus = sum(
                e.postings.get(account__kind="wallet").amount_rial for e in [*bonuses, *taken_back]
            )
            spent = sum(p.credit_rial for p in purchases if p.household_id == household.pk)
            expected[household.pk] = charged + bonus - spent
            assert wallet_balance(household_id=household.pk) == expected[household.pk] >= 0
        raise Rollback
