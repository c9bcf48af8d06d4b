"""Reads of the money core: balances, bonus progress, runs."""

from dataclasses import dataclass

from django.db.models import Count, Q, Sum

from settlements.models import (
    Account,
    AccountKind,
    BalanceRollup,
    Cycle,
    EntryKind,
    JournalEntry,
    Posting,
)
from settlements.services.rules import Entitlement, entitlement


def wallet_balance(*, household_id: int) -> int:
    balance = (
        Account.objects.filter(kind=AccountKind.WALLET, household_id=household_id)
        .values_list("balance_rial", flat=True)
        .first()
    )
    return int(balance or 0)


def account_balance(*, account: Account) -> int:
    """A wallet's kept balance; any other account's balance from its roll-up plus later postings."""
    if account.kind == AccountKind.WALLET:
        return account.balance_rial
    rollup = BalanceRollup.objects.filter(account=account).first()
    start, base = (rollup.up_to_posting_id, rollup.balance_rial) if rollup else (0, 0)
    later = (
        Posting.objects.filter(account=account, id__gt=start).aggregate(total=Sum("amount_rial"))[
            "total"
        ]
        or 0
    )
    return int(base + later)


def credit_spent_in_cycle(*, household_id: int, cycle: Cycle) -> int:
    """Credit spent on the basket in ``cycle``, net of reversals (what the bonus threshold counts)."""
    total = (
        Posting.objects.filter(
            entry__household_id=household_id,
            entry__cycle=cycle,
            entry__kind__in=[EntryKind.PURCHASE, EntryKind.REVERSAL],
            entry__purchase__isnull=False,
            account__kind=AccountKind.WALLET,
        ).aggregate(total=Sum("amount_rial"))["total"]
        or 0
    )
    return int(-total)


@dataclass(frozen=True)
class BonusProgress:
    spent_rial: int
    threshold_rial: int
    bonus_rial: int
    granted: bool

    @property
    def remaining_rial(self) -> int:
        return max(self.threshold_rial - self.spent_rial, 0)

    @property
    def percent(self) -> int:
        if self.threshold_rial <= 0:
            return 0
        return min(100, self.spent_rial * 100 // self.threshold_rial)


def bonus_progress(
    *, household_id: int, cycle: Cycle, rule: Entitlement | None = None
) -> BonusProgress | None:
    """Credit spent this cycle (net of reversals) against the threshold, and whether the bonus came: one query."""
    rule = rule or entitlement(household_id=household_id, cycle=cycle)
    if rule is None:
        return None
    spend = Q(
        entry__kind__in=[EntryKind.PURCHASE, EntryKind.REVERSAL], entry__purchase__isnull=False
    )
    figures = Posting.objects.filter(
        entry__household_id=household_id, entry__cycle=cycle, account__kind=AccountKind.WALLET
    ).aggregate(
        spent=Sum("amount_rial", filter=spend),
        bonuses=Count("id", filter=Q(entry__kind=EntryKind.BONUS)),
    )
    return BonusProgress(
        spent_rial=-int(figures["spent"] or 0),
        threshold_rial=rule.bonus_threshold_rial,
        bonus_rial=rule.bonus_rial,
        granted=bool(figures["bonuses"]),
    )


def entries_for_household(*, household_id: int) -> list[JournalEntry]:
    return list(
        JournalEntry.objects.filter(Q(household_id=household_id))
        .select_related("cycle", "phase")
        .order_by("-created_at", "-id")[:200]
    )
