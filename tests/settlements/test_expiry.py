import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from settlements.models import AccountKind, EntryKind, JournalEntry, RunKind, UnspentPolicy
from settlements.selectors import account_balance, wallet_balance
from settlements.services import runs
from settlements.services.ledger import system_account
from settlements.services.reconcile import reconcile
from tests.households.factories import make_household
from tests.settlements.factories import buy, charge, make_phase

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
