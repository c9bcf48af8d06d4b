"""Test data for the money core: phases, cycles, charges and purchases posted through the services."""

import datetime as dt
import itertools

from django.utils import timezone

from households.models import Household
from settlements.models import (
    CreditBasis,
    Cycle,
    JournalEntry,
    Phase,
    PhaseBand,
    RunKind,
    UnspentPolicy,
)
from settlements.services import payments, rules, runs
from settlements.services.ledger import lock_wallet
from stores.models import Purchase, Terminal
from tests.stores.factories import make_terminal

CREDIT, THRESHOLD, BONUS = 2_000_000, 2_000_000, 1_200_000
_keys = itertools.count(1)


def make_phase(
    *,
    starts_on: dt.date,
    ends_on: dt.date | None = None,
    deciles: tuple[int, int] = (1, 5),
    basis: str = CreditBasis.PER_MEMBER,
    policy: str = UnspentPolicy.CARRY_OVER,
    credit: int = CREDIT,
    threshold: int = THRESHOLD,
    bonus: int = BONUS,
) -> Phase:
    phase = Phase.objects.create(
        name=f"مرحله آزمایشی {starts_on}",
        starts_on=starts_on,
        ends_on=ends_on,
        basis=basis,
        unspent_policy=policy,
    )
    PhaseBand.objects.create(
        phase=phase,
        min_decile=deciles[0],
        max_decile=deciles[1],
        credit_per_cycle_rial=credit,
        bonus_threshold_rial=threshold,
        bonus_amount_rial=bonus,
        cash_subsidy_rial=3_000_000,
    )
    return phase


def seeded_phases() -> tuple[Phase, Phase]:
    """The two phases of the source, as the migration seeds them (recreated if a flush removed them)."""
    if not Phase.objects.filter(starts_on=dt.date(2022, 3, 21)).exists():
        make_phase(starts_on=dt.date(2022, 3, 21), ends_on=dt.date(2023, 8, 22), deciles=(1, 3))
        two = make_phase(starts_on=dt.date(2023, 8, 23), deciles=(1, 3))
        PhaseBand.objects.create(
            phase=two, min_decile=4, max_decile=5, credit_per_cycle_rial=CREDIT, bonus_threshold_rial=THRESHOLD,
            bonus_amount_rial=BONUS, cash_subsidy_rial=3_000_000,
        )  # fmt: skip
    phases = Phase.objects.order_by("starts_on")
    return phases.get(starts_on=dt.date(2022, 3, 21)), phases.get(starts_on=dt.date(2023, 8, 23))


def charge(cycle_key: str = "1402-06", chunk_size: int = 1000) -> Cycle:
    """Charge a cycle in this process (every chunk inline)."""
    seeded_phases()
    cycle = rules.ensure_cycle(key=cycle_key)
    runs.run_inline(
        run=runs.start_run(kind=RunKind.CYCLE_CHARGE, cycle=cycle, chunk_size=chunk_size)
    )
    cycle.refresh_from_db()
    return cycle


def buy(
    household: Household,
    *,
    cycle: Cycle,
    base: int,
    current: int,
    terminal: Terminal | None = None,
    at: dt.datetime | None = None,
) -> Purchase:
    """A purchase split by the source's rule against the wallet, posted to the ledger."""
    terminal = terminal or make_terminal()
    wallet = lock_wallet(household_id=household.pk)
    split = payments.split_purchase(
        base_total_rial=base,
        current_total_rial=current,
        wallet_balance_rial=wallet.balance_rial if wallet else 0,
    )
    purchase = Purchase.objects.create(
        household=household,
        payer=household.members.get(is_head=True),
        store=terminal.store,
        terminal=terminal,
        idempotency_key=f"t-{next(_keys)}",
        request_fingerprint="0" * 64,
        base_total_rial=base,
        current_total_rial=current,
        cash_rial=split.cash_rial,
        credit_rial=split.credit_rial,
        compensation_rial=split.compensation_rial,
        created_at=at or timezone.now(),
    )
    payments.post_purchase(
        purchase_id=purchase.pk,
        household_id=household.pk,
        store_id=terminal.store_id,
        credit_rial=split.credit_rial,
        compensation_rial=split.compensation_rial,
        cycle_id=cycle.pk,
        phase_id=cycle.phase_id,
        wallet_id=wallet.pk if wallet else None,
        created_at=purchase.created_at,
    )
    return purchase


def reverse(purchase: Purchase) -> JournalEntry | None:
    """Reverse a purchase's ledger entry (a purchase at base prices posted none)."""
    original = JournalEntry.objects.filter(purchase=purchase, kind="purchase").first()
    return (
        payments.post_purchase_reversal(purchase=purchase, original=original) if original else None
    )
