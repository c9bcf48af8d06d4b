"""A POS reversal: the same terminal, the same day; credit back to the wallet, compensation back
to the fund, and the cycle's bonus clawed back when the reversal takes the household under the
threshold."""

from functools import partial
from typing import Any

from django.utils import timezone

from settlements.models import AccountKind, Cycle, EntryKind, JournalEntry
from settlements.selectors import bonus_in_force, bonus_progress, wallet_balance
from settlements.services.checkout.answers import reversal_answer
from settlements.services.checkout.errors import CheckoutError
from settlements.services.checkout.idempotency import (
    CheckoutResult,
    request_fingerprint,
    with_idempotency,
)
from settlements.services.ledger import InsufficientBalance, lock_wallet
from settlements.services.payments import post_purchase_reversal, reverse_entry
from stores.models import IdempotencyOperation, Purchase, PurchaseStatus, Terminal


def reverse_purchase(
    *, terminal: Terminal, purchase_id: int, idempotency_key: str
) -> CheckoutResult:
    """Reverse a purchase the same terminal made today: credit back to the wallet, compensation to the fund.

    Bonus policy: a bonus must not stay with a household whose net spend in the cycle falls below
    the threshold. If the reversal does that, the bonus in force is reversed too when the wallet
    (after the credit comes back) still holds it; if the household has already spent it, the
    reversal is refused (``reversal_bonus_spent``) and the store keeps the sale. A bonus taken
    back is no longer in force, so crossing the threshold again earns a new one.
    """
    return with_idempotency(
        terminal=terminal,
        key=idempotency_key,
        operation=IdempotencyOperation.REVERSAL,
        fingerprint=request_fingerprint(body={"reverse": purchase_id}),
        work=partial(_reverse, terminal=terminal, purchase_id=purchase_id),
        status=200,
    )


def _reverse(*, terminal: Terminal, purchase_id: int) -> tuple[int, dict[str, Any]]:
    """The reversal inside the caller's transaction: (purchase id, answer)."""
    purchase = (
        Purchase.objects.select_for_update(of=("self",))
        .select_related("terminal", "store")
        .filter(pk=purchase_id, terminal=terminal)
        .first()
    )
    if purchase is None:
        raise CheckoutError("purchase_not_found", "این خرید در این پایانه پیدا نشد")
    if purchase.status == PurchaseStatus.REVERSED:
        raise CheckoutError("purchase_already_reversed", "این خرید پیش‌تر برگشت خورده است")
    if timezone.localdate(purchase.created_at) != timezone.localdate():
        raise CheckoutError("reversal_too_late", "برگشت خرید فقط در همان روز خرید ممکن است")
    wallet = lock_wallet(household_id=purchase.household_id)
    original = JournalEntry.objects.filter(purchase=purchase, kind=EntryKind.PURCHASE).first()
    bonus_taken_back = 0
    if original is not None and original.cycle_id is not None:
        bonus_taken_back = _reverse_with_bonus_policy(
            purchase=purchase,
            original=original,
            cycle_id=original.cycle_id,
            wallet_balance_rial=wallet.balance_rial if wallet else 0,
        )
    elif original is not None:
        post_purchase_reversal(purchase=purchase, original=original)
    reversed_at = timezone.now()
    purchase.status = PurchaseStatus.REVERSED
    purchase.reversed_at = reversed_at
    purchase.save(update_fields=["status", "reversed_at"])
    body = reversal_answer(
        purchase=purchase,
        reversed_at=reversed_at,
        bonus_taken_back_rial=bonus_taken_back,
        balance_rial=wallet_balance(household_id=purchase.household_id),
    )
    return purchase.pk, body


def _reverse_with_bonus_policy(
    *, purchase: Purchase, original: JournalEntry, cycle_id: int, wallet_balance_rial: int
) -> int:
    """Post the purchase's reversal, and the cycle's bonus's too when the household falls under
    the threshold (refused if the wallet no longer holds it); returns the bonus taken back."""
    cycle = Cycle.objects.select_related("phase").get(pk=cycle_id)
    progress = bonus_progress(household_id=purchase.household_id, cycle=cycle)
    # Under the wallet lock: a bonus run granting concurrently locks the wallet too, so it is
    # either committed (and in force here) or reads this reversal before it grants.
    bonus_entry = bonus_in_force(household_id=purchase.household_id, cycle_id=cycle.pk)
    falls_below = (
        progress is not None
        and progress.spent_rial - purchase.credit_rial < progress.threshold_rial
    )
    if bonus_entry is None or not falls_below:
        post_purchase_reversal(purchase=purchase, original=original)
        return 0
    bonus_amount = bonus_entry.postings.get(account__kind=AccountKind.WALLET).amount_rial
    if wallet_balance_rial + purchase.credit_rial < bonus_amount:
        raise CheckoutError(
            "reversal_bonus_spent",
            "اعتبار مضاعفی که با این خرید به دست آمده خرج شده است؛ برگشت این خرید ممکن نیست",
        )
    post_purchase_reversal(purchase=purchase, original=original)
    try:
        reverse_entry(
            original=bonus_entry,
            key=f"reversal:{bonus_entry.pk}",
            process="pos-reversal",
            memo=f"پس‌گرفتن اعتبار مضاعف با برگشت خرید {purchase.pk}",
        )
    except InsufficientBalance:  # checked above under the wallet lock; never expected
        raise CheckoutError("reversal_bonus_spent", "اعتبار مضاعف خرج شده است") from None
    return bonus_amount
