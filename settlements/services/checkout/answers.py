"""The answers to a purchase and a reversal, and their short Persian receipts."""

import datetime as dt
from decimal import Decimal
from typing import Any

from kalabarg.lib.money import format_money
from kalabarg.lib.persian import to_persian_digits
from settlements.selectors import BonusProgress
from settlements.services.checkout.idempotency import CheckoutResult
from settlements.services.payments import PricedLine, Split
from stores.models import Purchase, PurchaseStatus, Terminal


def purchase_receipt(*, answer: dict[str, Any]) -> str:
    """The short Persian receipt for a purchase answer, from its own figures."""
    return (
        f"کالابرگ — خرید {to_persian_digits(answer['purchase_id'])}: "
        f"سهم شما {format_money(answer['cash_rial'])}، "
        f"از اعتبار کالابرگ {format_money(answer['credit_rial'])}، "
        f"جبران تورم دولت {format_money(answer['compensation_rial'])}. "
        f"مانده اعتبار: {format_money(answer['wallet_balance_rial'])}."
    )


def with_receipt(*, result: CheckoutResult) -> CheckoutResult:
    """The receipt is rendered when answering (a fresh answer or a replay), not stored: the
    one-call write completes the answer inside PostgreSQL, which does not format Persian money."""
    if "receipt" in result.body:  # answers remembered before receipts were rendered on the way out
        return result
    return CheckoutResult(
        result.status,
        {**result.body, "receipt": purchase_receipt(answer=result.body)},
        result.replayed,
    )


def purchase_answer_known_before_the_write(
    *,
    created_at: dt.datetime,
    terminal: Terminal,
    paid_with: str,
    lines: list[PricedLine],
    base_total_rial: int,
    current_total_rial: int,
) -> dict[str, Any]:
    """The part of a purchase's answer that does not depend on the wallet: everything but the
    purchase id, the split, the balance after and the bonus progress."""
    return {
        "status": PurchaseStatus.COMPLETED,
        "created_at": created_at.isoformat(),
        "terminal_id": terminal.terminal_id,
        "store": terminal.store.name,
        "paid_with": paid_with,
        "lines": [
            {
                "item": line.code,
                "name": line.name,
                "quantity": str(line.quantity.quantize(Decimal("0.001"))),
                "unit_base_price_rial": line.unit_base_price_rial,
                "unit_current_price_rial": line.unit_current_price_rial,
                "base_amount_rial": line.base_amount_rial,
                "current_amount_rial": line.current_amount_rial,
            }
            for line in lines
        ],
        "base_total_rial": base_total_rial,
        "current_total_rial": current_total_rial,
    }


def purchase_answer(
    *,
    known: dict[str, Any],
    purchase_id: int,
    split: Split,
    balance_after: int,
    cycle_key: str,
    progress: BonusProgress | None,
    bonus_queued: bool,
) -> dict[str, Any]:
    """The purchase's answer (without its receipt), from what the checkout already holds.

    ``checkout_record_purchase`` (``settlements/sql/checkout_record_purchase.sql``) completes
    ``known`` with the same keys inside PostgreSQL; a test compares the two."""
    return {
        "purchase_id": purchase_id,
        **known,
        "cash_rial": split.cash_rial,
        "credit_rial": split.credit_rial,
        "compensation_rial": split.compensation_rial,
        "wallet_balance_rial": balance_after,
        "bonus": None
        if progress is None
        else {
            "cycle": cycle_key,
            "spent_rial": progress.spent_rial,
            "threshold_rial": progress.threshold_rial,
            "remaining_rial": progress.remaining_rial,
            "bonus_rial": progress.bonus_rial,
            "granted": progress.granted,
            "queued": bonus_queued,
        },
    }


def reversal_answer(
    *, purchase: Purchase, reversed_at: dt.datetime, bonus_taken_back_rial: int, balance_rial: int
) -> dict[str, Any]:
    """The answer to a reversal, with its receipt (stored with the idempotency record)."""
    return {
        "purchase_id": purchase.pk,
        "status": purchase.status,
        "reversed_at": reversed_at.isoformat(),
        "credit_returned_rial": purchase.credit_rial,
        "compensation_returned_rial": purchase.compensation_rial,
        "bonus_taken_back_rial": bonus_taken_back_rial,
        "wallet_balance_rial": balance_rial,
        "receipt": (
            f"کالابرگ — برگشت خرید {to_persian_digits(purchase.pk)}: "
            f"{format_money(purchase.credit_rial)} به اعتبار شما برگشت. "
            f"مانده اعتبار: {format_money(balance_rial)}."
        ),
    }
