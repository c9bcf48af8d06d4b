"""Reads for the household portal and app API. Every read is scoped to one household.

The dashboard runs a fixed number of queries whatever the household's history: each figure is
one indexed look-up or one aggregate over an index range (see tests/portal/test_dashboard.py).
"""

import datetime as dt
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone

from households import selectors as household_selectors
from households.models import DecileAssignment, Household, Objection, Person
from kalabarg.lib.persian import to_persian_digits
from settlements.models import CreditBasis, Cycle, Phase, PhaseBand
from settlements.selectors import BonusProgress, bonus_progress, charged_in_cycle, wallet_balance
from settlements.services import rules
from stores.models import Purchase

RECENT_PURCHASES = 5


@dataclass(frozen=True)
class Dashboard:
    """What a household sees first: decile, coverage, money and the bonus, recent purchases."""

    person: Person
    household: Household
    today: dt.date
    decile: DecileAssignment | None
    phase: Phase | None
    band: PhaseBand | None
    cycle: Cycle | None
    members: int | None
    credit_per_cycle_rial: int | None
    balance_rial: int
    progress: BonusProgress | None
    recent_purchases: list[Purchase]
    latest_objection: Objection | None
    # Not covered today but charged this cycle's credit: it may be spent until this day.
    spendable_until: dt.date | None = None

    @property
    def covered(self) -> bool:
        return self.band is not None

    @property
    def per_member(self) -> bool:
        return self.phase is not None and self.phase.basis == CreditBasis.PER_MEMBER

    @property
    def decile_meaning(self) -> str:
        if self.decile is None:
            return ""
        n = self.decile.decile
        if n == 10:
            return "دهک ۱۰ یعنی خانوار شما در میان ۱۰ درصد پردرآمدترین خانوارهای کشور است."
        return (
            f"دهک {to_persian_digits(n)} یعنی خانوار شما در میان "
            f"{to_persian_digits(n * 10)} درصد کم‌درآمدترین خانوارهای کشور است."
        )

    @property
    def cash_subsidy_rial(self) -> int | None:
        return self.band.cash_subsidy_rial if self.band else None


def dashboard(*, person: Person, today: dt.date | None = None) -> Dashboard:
    """The dashboard of ``person``'s household on ``today``: a few queries, whatever the history.

    Coverage is what a purchase today would use (today's decile and phase, as the checkout does);
    the bonus progress is this cycle's, under the cycle's rule (decile on its first day)."""
    today = today or timezone.localdate()
    household_id = person.household_id
    decile = household_selectors.decile_assignment_on(household_id=household_id, on_date=today)
    phase = rules.phase_on(day=today)
    band = rules.band_for(phase=phase, decile=decile.decile if decile else None) if phase else None
    cycle = rules.cycle_on(day=today)
    entitlement = None
    if cycle is not None:
        if phase is not None and cycle.phase_id == phase.pk:
            cycle.phase = phase  # one phase object: its bands are read once
        # Today's decile row is also the one on the cycle's first day when it started by then.
        known = decile.decile if decile and decile.effective_from <= cycle.starts_on else None
        entitlement = rules.entitlement(
            household_id=household_id, cycle=cycle, decile_on_start=known, as_of=today
        )
    # A household that left the covered deciles during the cycle still spends what it was charged
    # (the checkout's rule); asked only of households not covered today.
    spendable_until = (
        cycle.ends_on
        if cycle is not None
        and band is None
        and charged_in_cycle(household_id=household_id, cycle=cycle)
        else None
    )
    progress = (
        bonus_progress(household_id=household_id, cycle=cycle, rule=entitlement)
        if cycle is not None and entitlement is not None
        else None
    )
    return Dashboard(
        person=person,
        household=person.household,
        today=today,
        decile=decile,
        phase=phase,
        band=band,
        cycle=cycle,
        members=entitlement.members if entitlement else None,
        credit_per_cycle_rial=entitlement.credit_rial if entitlement else None,
        balance_rial=wallet_balance(household_id=household_id),
        progress=progress,
        recent_purchases=list(household_purchases(household_id=household_id)[:RECENT_PURCHASES]),
        latest_objection=household_objections(household_id=household_id).first(),
        spendable_until=spendable_until,
    )


def household_purchases(*, household_id: int) -> QuerySet[Purchase]:
    """The household's purchases, newest first (``purchase_household_recent_idx``)."""
    return (
        Purchase.objects.filter(household_id=household_id)
        .select_related("store")
        .order_by("-created_at", "-id")
    )


def household_purchase(*, household_id: int, purchase_id: int) -> Purchase | None:
    """One purchase of this household with its lines, or None (another household's is None too)."""
    return (
        Purchase.objects.filter(household_id=household_id, pk=purchase_id)
        .select_related("store__city", "store__province", "payer")
        .prefetch_related("lines__item")
        .first()
    )


def household_members(*, household_id: int) -> QuerySet[Person]:
    return Person.objects.filter(household_id=household_id).order_by("-is_head", "birth_date", "id")


def household_objections(*, household_id: int) -> QuerySet[Objection]:
    return Objection.objects.filter(household_id=household_id).order_by("-created_at", "-id")


def household_objection(*, household_id: int, objection_id: int) -> Objection | None:
    return household_objections(household_id=household_id).filter(pk=objection_id).first()


def decile_history(*, household_id: int) -> QuerySet[DecileAssignment]:
    return household_selectors.decile_history(household_id=household_id)
