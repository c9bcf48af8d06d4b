"""The ledger side of a basket purchase and of its reversal.

A purchase is split ``cash = Σ base`` (paid by the household to the store, recorded not posted),
``difference = Σ current − Σ base``, ``credit = min(difference, wallet balance)``,
``compensation = difference − credit``. One entry: wallet −credit, inflation fund −compensation,
store payable +difference.
"""

from dataclasses import dataclass

from django.db import transaction

from settlements.models import Account, AccountKind, Cycle, EntryKind, JournalEntry, Phase
from settlements.services.ledger import (
    Leg,
    lock_wallet,
    post_entry,
    store_payable,
    system_account,
    wallet_for,
)
from stores.models import Purchase


@dataclass(frozen=True)
class Split:
    cash_rial: int
    difference_rial: int
    credit_rial: int
    compensation_rial: int


def split_purchase(
    *, base_total_rial: int, current_total_rial: int, wallet_balance_rial: int
) -> Split:
    """The source's rule, to the rial: the household pays base, credit pays the rise first, the state the rest."""
    if base_total_rial < 0 or current_total_rial < base_total_rial or wallet_balance_rial < 0:
        raise ValueError(
            "totals must satisfy 0 <= base <= current and the wallet must not be negative"
        )
    difference = current_total_rial - base_total_rial
    credit = min(difference, wallet_balance_rial)
    return Split(
        cash_rial=base_total_rial,
        difference_rial=difference,
        credit_rial=credit,
        compensation_rial=difference - credit,
    )


@transaction.atomic(savepoint=False)
def post_purchase(
    *,
    purchase: Purchase,
    cycle: Cycle | None,
    phase: Phase | None,
    process: str = "pos",
    wallet: Account | None = None,
) -> JournalEntry | None:
    """Post the purchase's recorded split (its wallet must already be locked by the caller).

    A purchase at no more than base prices moves no programme money: nothing is posted (None).
    """
    if purchase.credit_rial + purchase.compensation_rial == 0:
        return None
    legs = [
        Leg(wallet or wallet_for(purchase.household_id), -purchase.credit_rial),
        Leg(system_account(AccountKind.INFLATION_FUND), -purchase.compensation_rial),
        Leg(store_payable(purchase.store), purchase.credit_rial + purchase.compensation_rial),
    ]
    return post_entry(
        kind=EntryKind.PURCHASE,
        idempotency_key=f"purchase:{purchase.pk}",
        legs=legs,
        household=purchase.household_id,
        cycle=cycle,
        phase=phase,
        purchase=purchase,
        created_by_process=process,
        memo=f"خرید {purchase.pk}",
        key_is_new=True,
    ).entry


@transaction.atomic(savepoint=False)
def post_purchase_reversal(
    *, purchase: Purchase, original: JournalEntry, process: str = "pos"
) -> JournalEntry:
    """Return the credit to the wallet and the compensation to the fund: the original entry, negated."""
    lock_wallet(purchase.household_id)
    legs = [
        Leg(posting.account, -posting.amount_rial)
        for posting in original.postings.select_related("account")
    ]
    return post_entry(
        kind=EntryKind.REVERSAL,
        idempotency_key=f"reversal:{original.pk}",
        legs=legs,
        household=purchase.household_id,
        cycle=original.cycle,
        phase=original.phase,
        purchase=purchase,
        reverses=original,
        created_by_process=process,
        memo=f"برگشت خرید {purchase.pk}",
    ).entry


@transaction.atomic(savepoint=False)
def reverse_entry(*, original: JournalEntry, key: str, process: str, memo: str) -> JournalEntry:
    """A generic reversing entry (e.g. an unspent bonus taken back); wallets are guarded against going negative."""
    legs = [
        Leg(posting.account, -posting.amount_rial)
        for posting in original.postings.select_related("account")
    ]
    return post_entry(
        kind=EntryKind.REVERSAL,
        idempotency_key=key,
        legs=legs,
        household=original.household_id,
        cycle=original.cycle,
        phase=original.phase,
        reverses=original,
        created_by_process=process,
        memo=memo,
    ).entry
