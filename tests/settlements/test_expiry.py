import datetime as dt
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from settlements.models import AccountKind, EntryKind, JournalEntry, RunKind, UnspentPolicy
from settlements.selectors import account_balance, wallet_balance
from settlements.services import runs
from settlements.services.ledger import system_account
from settlements.services.reconcile import reconcile
from tests.households.factories import make_household
from tests.settlements.factories import buy, charge, make_phase, reverse

pytestmark = pytest.mark.django_db


def expiring_phase_with_credit():
    phase = make_phase(
        starts_on=dt.date(2024, 3, 20), ends_on=dt.date(2024, 4, 19), policy=UnspentPolicy.EXPIRE
    )
    spender, saver = make_household(decile=1), make_household(decile=2)
    cycle = charge("1403-01")
    buy(spender, cycle=cycle, base=100_000, current=600_000)  # spends 500,000 of 2,000,000
    return phase, spender, saver


def test_an_expiring_phase_returns_unspent_credit_to_the_fund():
    phase, spender, saver = expiring_phase_with_credit()
    fund_before = account_balance(account=system_account(kind=AccountKind.PROGRAMME_FUND))

    run = runs.run_inline(run=runs.start_run(kind=RunKind.EXPIRY, phase=phase))

    assert (wallet_balance(household_id=spender.pk), wallet_balance(household_id=saver.pk)) == (
        0,
        0,
    )
    assert run.entries_created == 2 and run.amount_rial == 1_500_000 + 2_000_000
    assert (
        account_balance(account=system_account(kind=AccountKind.PROGRAMME_FUND))
        == fund_before + 3_500_000
    )
    assert JournalEntry.objects.filter(kind=EntryKind.EXPIRY, phase=phase).count() == 2
    assert reconcile(verify_digests=False).ok


def test_expiring_twice_moves_nothing_more():
    phase, _, _ = expiring_phase_with_credit()
    runs.run_inline(run=runs.start_run(kind=RunKind.EXPIRY, phase=phase))

    again = runs.run_inline(run=runs.start_run(kind=RunKind.EXPIRY, phase=phase))

    assert again.entries_created == 0


# --- Two successive phases: expiry takes only the ending phase's unspent credit (issue 13) -------
#
# Every household has one member, so a cycle charges 2,000,000 rial; a purchase of an item priced
# ``base`` / ``current`` spends ``current - base`` of credit. Credit is spent oldest first.


def two_phases_with_spending():
    """Phase one (expiring, cycle 1403-01) and phase two (cycle 1403-02), with purchases in both:

    - ``both``: spends 500,000 in phase one and 700,000 in phase two (and 400,000 it gets back by
      a reversal); of phase one's 2,000,000,
      800,000 is unspent (1,200,000 spent oldest first); balance 2,800,000.
    - ``bonus``: spends all 2,000,000 in phase one, earns its 1,200,000 bonus, spends 500,000 in
      phase two; phase one granted 3,200,000 of which 2,500,000 is spent: 700,000 unspent.
    - ``spent_all``: spends 1,500,000 in phase one and 600,000 in phase two: nothing of phase one
      is left, and 100,000 of phase two's credit is spent; balance 1,900,000.
    - ``second_only``: registered after phase one's charge; spends 300,000 in phase two.
    """
    first = make_phase(
        starts_on=dt.date(2024, 3, 20), ends_on=dt.date(2024, 4, 19), policy=UnspentPolicy.EXPIRE
    )
    second = make_phase(starts_on=dt.date(2024, 4, 20))
    both, bonus, spent_all = (make_household(decile=1) for _ in range(3))
    one = charge("1403-01")
    buy(both, cycle=one, base=100_000, current=600_000)
    buy(bonus, cycle=one, base=100_000, current=2_100_000)
    buy(spent_all, cycle=one, base=100_000, current=1_600_000)
    runs.run_inline(run=runs.start_run(kind=RunKind.BONUS_SWEEP, cycle=one))
    second_only = make_household(decile=1)
    two = charge("1403-02")
    buy(both, cycle=two, base=100_000, current=800_000)
    reverse(buy(both, cycle=two, base=100_000, current=500_000))  # net of reversals: nothing
    buy(bonus, cycle=two, base=100_000, current=600_000)
    buy(spent_all, cycle=two, base=100_000, current=700_000)
    buy(second_only, cycle=two, base=100_000, current=400_000)
    households = {
        "both": both,
        "bonus": bonus,
        "spent_all": spent_all,
        "second_only": second_only,
    }
    return first, second, households


def balances(households):
    return {name: wallet_balance(household_id=h.pk) for name, h in households.items()}


def expired(phase):
    return {
        entry.household_id: -entry.postings.get(account__kind=AccountKind.WALLET).amount_rial
        for entry in JournalEntry.objects.filter(kind=EntryKind.EXPIRY, phase=phase)
    }


def test_expiry_takes_only_the_ending_phases_unspent_credit_spent_oldest_first():
    first, _, households = two_phases_with_spending()
    assert balances(households) == {
        "both": 2_800_000,
        "bonus": 2_700_000,
        "spent_all": 1_900_000,
        "second_only": 1_700_000,
    }
    fund_before = account_balance(account=system_account(kind=AccountKind.PROGRAMME_FUND))
    out = StringIO()

    call_command("expire_phase", str(first.pk), "--inline", stdout=out)

    both, bonus = households["both"], households["bonus"]
    assert expired(first) == {both.pk: 800_000, bonus.pk: 700_000}
    # What is left is phase two's credit, to the rial: its 2,000,000, less what the FIFO rule
    # says was spent of it (the 100,000 that ``spent_all`` spent beyond phase one's credit).
    assert balances(households) == {
        "both": 2_000_000,
        "bonus": 2_000_000,
        "spent_all": 1_900_000,
        "second_only": 1_700_000,
    }
    assert (
        account_balance(account=system_account(kind=AccountKind.PROGRAMME_FUND))
        == fund_before + 1_500_000
    )
    assert "2 wallets expired, 1,500,000 rial" in out.getvalue()
    assert reconcile(verify_digests=False).ok


def test_a_household_that_spent_all_the_ending_phases_credit_loses_nothing():
    first, _, households = two_phases_with_spending()

    run = runs.run_inline(run=runs.start_run(kind=RunKind.EXPIRY, phase=first))

    spent_all = households["spent_all"]
    assert spent_all.pk not in expired(first)
    assert wallet_balance(household_id=spent_all.pk) == 1_900_000
    assert run.amount_rial == 800_000 + 700_000
    assert reconcile(verify_digests=False).ok


def test_a_household_only_in_the_next_phase_is_untouched():
    first, _, households = two_phases_with_spending()

    run = runs.run_inline(run=runs.start_run(kind=RunKind.EXPIRY, phase=first))

    second_only = households["second_only"]
    assert second_only.pk not in expired(first)
    assert wallet_balance(household_id=second_only.pk) == 1_700_000
    # Only the three households with credit under phase one were considered.
    assert run.households_total == 3


def test_expiring_again_after_the_next_phases_charge_moves_nothing():
    first = make_phase(
        starts_on=dt.date(2024, 3, 20), ends_on=dt.date(2024, 4, 19), policy=UnspentPolicy.EXPIRE
    )
    make_phase(starts_on=dt.date(2024, 4, 20))
    saver, spender = make_household(decile=1), make_household(decile=1)
    one = charge("1403-01")
    buy(spender, cycle=one, base=100_000, current=1_900_000)  # spends 1,800,000 of 2,000,000
    buy(spender, cycle=one, base=100_000, current=300_000)  # and the last 200,000
    runs.run_inline(run=runs.start_run(kind=RunKind.EXPIRY, phase=first))
    assert expired(first) == {saver.pk: 2_000_000}
    charge("1403-02")

    again = runs.run_inline(run=runs.start_run(kind=RunKind.EXPIRY, phase=first))

    assert (again.entries_created, again.amount_rial) == (0, 0)
    assert expired(first) == {saver.pk: 2_000_000}
    assert wallet_balance(household_id=saver.pk) == 2_000_000
    assert wallet_balance(household_id=spender.pk) == 2_000_000
    assert reconcile(verify_digests=False).ok


def test_a_carry_over_phase_cannot_be_expired():
    phase = make_phase(
        starts_on=dt.date(2024, 3, 20),
        ends_on=dt.date(2024, 4, 19),
        policy=UnspentPolicy.CARRY_OVER,
    )

    with pytest.raises(ValidationError) as error:
        runs.start_run(kind=RunKind.EXPIRY, phase=phase)

    assert error.value.error_dict["phase"][0].code == "phase_carries_over"


def test_a_phase_that_has_not_ended_cannot_be_expired():
    phase = make_phase(starts_on=dt.date(2024, 3, 20), policy=UnspentPolicy.EXPIRE)

    with pytest.raises(ValidationError) as error:
        runs.start_run(kind=RunKind.EXPIRY, phase=phase)

    assert error.value.error_dict["phase"][0].code == "phase_not_ended"
