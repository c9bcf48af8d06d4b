import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from kalabarg.lib.partitions import month_start
from settlements.models import (
    Account,
    AccountKind,
    BalanceRollup,
    Charge,
    EntryKind,
    JournalEntry,
    Phase,
    UnspentPolicy,
)
from settlements.selectors import account_balance, wallet_balance
from settlements.services import ledger, rules
from settlements.services.ledger import (
    InsufficientBalance,
    Leg,
    post_entry,
    system_account,
    wallet_for,
)
from settlements.services.reconcile import reconcile, roll_up_balances
from tests.households.factories import make_household
from tests.settlements.factories import buy, charge, make_phase

pytestmark = pytest.mark.django_db


def fund() -> Account:
    return system_account(kind=AccountKind.PROGRAMME_FUND)


def credit_wallet(household, amount: int, key: str):
    return post_entry(
        kind=EntryKind.SETTLEMENT,
        idempotency_key=key,
        legs=[Leg(wallet_for(household=household), amount), Leg(fund(), -amount)],
    )


def test_an_entry_whose_legs_do_not_sum_to_zero_is_refused():
    household = make_household()

    with pytest.raises(ValueError, match="sum to zero"):
        post_entry(
            kind=EntryKind.SETTLEMENT,
            idempotency_key="x",
            legs=[Leg(wallet_for(household=household), 10), Leg(fund(), -9)],
        )

    assert not JournalEntry.objects.exists()


def test_the_same_idempotency_key_posts_once():
    household = make_household()

    first = credit_wallet(household, 500, "k1")
    second = credit_wallet(household, 500, "k1")

    assert first.created and not second.created and first.entry == second.entry
    assert wallet_balance(household_id=household.pk) == 500


def test_a_wallet_never_goes_below_zero_and_nothing_is_written():
    household = make_household()
    credit_wallet(household, 100, "in")

    with pytest.raises(InsufficientBalance):
        post_entry(
            kind=EntryKind.SETTLEMENT,
            idempotency_key="out",
            legs=[Leg(wallet_for(household=household), -101), Leg(fund(), 101)],
        )

    assert wallet_balance(household_id=household.pk) == 100
    assert not JournalEntry.objects.filter(idempotency_key="out").exists()


def test_the_database_refuses_a_negative_wallet_balance():
    household = make_household()
    wallet = wallet_for(household=household)

    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.filter(pk=wallet.pk).update(balance_rial=-1)


def test_the_database_refuses_a_second_charge_for_a_household_in_a_cycle():
    """The household's charge row is the one-charge rule, whatever entry a second one names."""
    household = make_household(decile=1)
    cycle = charge("1402-06")
    another = JournalEntry.objects.create(
        kind=EntryKind.CYCLE_CHARGE, idempotency_key="another-key", cycle=cycle,
        phase=cycle.phase, created_at=cycle.phase.created_at, period=month_start(cycle.starts_on),
    )  # fmt: skip

    with pytest.raises(IntegrityError), transaction.atomic():
        Charge.objects.create(
            household=household, cycle=cycle, period=another.period, amount_rial=1, entry=another
        )


def test_the_one_charge_index_admits_any_number_of_other_entries_of_a_household_and_cycle():
    """One unique index holds the one-charge rule and serves look-ups by household: its last
    column is 0 for a charge and the entry's id otherwise, so bonuses (a bonus earned again after
    a reversal took it back) of the same household, cycle and month never collide."""
    household = make_household(decile=1)
    cycle = charge("1402-06")

    for n in range(2):
        JournalEntry.objects.create(
            kind=EntryKind.BONUS, idempotency_key=f"bonus:again:{n}", household=household, cycle=cycle,
            phase=cycle.phase, created_at=cycle.phase.created_at, period=month_start(cycle.starts_on),
        )  # fmt: skip

    assert (
        JournalEntry.objects.filter(household=household, cycle=cycle, kind=EntryKind.BONUS).count()
        == 2
    )


def test_fund_and_payable_balances_are_derived_from_postings_and_roll_ups():
    household = make_household(decile=1)
    cycle = charge("1402-06")
    purchase = buy(
        household, cycle=cycle, base=1_000_000, current=4_000_000
    )  # credit 2M, compensation 1M
    payable = ledger.store_payable(store=purchase.store)
    inflation = system_account(kind=AccountKind.INFLATION_FUND)

    assert account_balance(account=payable) == 3_000_000
    assert account_balance(account=inflation) == -1_000_000
    assert account_balance(account=fund()) == -2_000_000
    assert Account.objects.get(pk=payable.pk).balance_rial == 0  # no hot row is kept for it


def test_a_roll_up_leaves_the_derived_balance_unchanged(monkeypatch):
    household = make_household(decile=1)
    charge("1402-06")
    before = account_balance(account=fund())
    monkeypatch.setattr(
        "settlements.services.reconcile.ROLLUP_SAFETY_MARGIN", dt.timedelta(seconds=-1)
    )

    rolled = roll_up_balances()
    credit_wallet(household, 10, "after-rollup")

    assert rolled == 1
    assert BalanceRollup.objects.get(account=fund()).balance_rial == before
    assert account_balance(account=fund()) == before - 10
    assert reconcile(verify_digests=False).ok


def test_a_phase_that_moved_money_is_pinned():
    phase = make_phase(starts_on=dt.date(2024, 3, 20), policy=UnspentPolicy.EXPIRE)
    assert not rules.phase_has_moved_money(phase=phase)
    make_household(decile=1)

    charge("1403-01")

    assert rules.phase_has_moved_money(phase=Phase.objects.get(pk=phase.pk))


@pytest.mark.postgres
def test_postgres_refuses_changing_the_rules_of_a_phase_that_moved_money():
    make_household(decile=1)
    cycle = charge("1402-06")
    phase = Phase.objects.get(pk=cycle.phase_id)

    with pytest.raises(IntegrityError, match="cannot change"), transaction.atomic():
        phase.bands.update(credit_per_cycle_rial=9_000_000)
    with pytest.raises(IntegrityError, match="moved money"), transaction.atomic():
        Phase.objects.filter(pk=phase.pk).update(basis="per_household")
    with pytest.raises(IntegrityError, match="moved money"), transaction.atomic():
        Phase.objects.filter(pk=phase.pk).update(
            ends_on=dt.date(2023, 9, 1)
        )  # ending it in the past

    Phase.objects.filter(pk=phase.pk).update(name="نام تازه")  # a new name is fine
    assert Phase.objects.get(pk=phase.pk).name == "نام تازه"


@pytest.mark.postgres
def test_postgres_lets_a_phase_without_money_change():
    phase = make_phase(starts_on=dt.date(2030, 3, 21))

    phase.bands.update(credit_per_cycle_rial=3_000_000)
    Phase.objects.filter(pk=phase.pk).update(basis="per_household")

    assert phase.bands.get().credit_per_cycle_rial == 3_000_000
