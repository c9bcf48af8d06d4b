"""The purchase's write: from Python (any database, and every payment-code purchase), or as one
call of the PL/pgSQL function ``checkout_record_purchase`` (a card purchase on PostgreSQL)."""

from functools import partial
from typing import Any

from django.db import transaction

from settlements.models import AccountKind, Cycle
from settlements.selectors import BonusProgress, PurchaseContext, wallet_cycle_figures
from settlements.services.checkout.answers import purchase_answer
from settlements.services.checkout.basket import (
    Basket,
    PurchaseRequest,
    prepare_basket,
    read_context,
    redeem_code,
)
from settlements.services.checkout.idempotency import CheckoutResult
from settlements.services.ledger import lock_wallet_balance, store_payable, system_account
from settlements.services.payments import (
    post_purchase,
    record_purchase,
    record_purchase_in_one_call,
    split_purchase,
)
from settlements.signals import bonus_threshold_reached


def announce_bonus_on_commit(*, household_id: int, cycle_id: int) -> None:
    """Announce, once the purchase has committed, that it reached the bonus threshold (the
    receiver queues the grant). ``robust``: a failure there (a broker down, or an eager grant that
    fails) is logged and left to the nightly sweep, never turned into an error for a purchase
    that is already made, nor a retry of it."""
    transaction.on_commit(
        partial(
            bonus_threshold_reached.send_robust,
            sender=Cycle,
            household_id=household_id,
            cycle_id=cycle_id,
        ),
        robust=True,
    )


def write_in_python(
    *, request: PurchaseRequest, context: PurchaseContext
) -> tuple[int, dict[str, Any]]:
    """The write inside the caller's transaction: (payment code redeemed,) wallet locked, split,
    purchase and lines recorded, entry posted, the cycle's spend read under the lock; returns
    (purchase id, answer without receipt)."""
    if not request.by_card:
        context = read_context(request=request, household_id=redeem_code(code=request.payment_code))
    prepared = prepare_basket(request=request, context=context)
    ctx = prepared.context
    terminal = request.terminal
    balance = lock_wallet_balance(wallet_id=ctx.wallet_id) if ctx.wallet_id else 0
    split = split_purchase(
        base_total_rial=prepared.base_total_rial,
        current_total_rial=prepared.current_total_rial,
        wallet_balance_rial=balance,
    )
    purchase_id = record_purchase(
        household_id=prepared.household_id,
        payer_id=prepared.person_id,
        store_id=terminal.store_id,
        terminal_id=terminal.pk,
        idempotency_key=request.idempotency_key,
        fingerprint=request.fingerprint,
        paid_with=prepared.paid_with,
        card_bin=request.card_bin,
        card_last4=request.card_last4,
        base_total_rial=prepared.base_total_rial,
        current_total_rial=prepared.current_total_rial,
        split=split,
        lines=prepared.lines,
        created_at=request.created_at,
    )
    post_purchase(
        purchase_id=purchase_id,
        household_id=prepared.household_id,
        store_id=terminal.store_id,
        credit_rial=split.credit_rial,
        compensation_rial=split.compensation_rial,
        cycle_id=ctx.cycle_id,
        phase_id=ctx.phase_id,
        wallet_id=ctx.wallet_id,
        inflation_fund_id=ctx.inflation_fund_id,
        store_payable_id=ctx.store_payable_id,
        created_at=request.created_at,
    )
    progress = None
    if ctx.cycle_id is not None and ctx.bonus_threshold_rial is not None:
        # Read under the wallet lock, so every earlier purchase of the household is counted.
        spent, granted = (
            wallet_cycle_figures(
                wallet_id=ctx.wallet_id, household_id=prepared.household_id, cycle_id=ctx.cycle_id
            )
            if ctx.wallet_id
            else (0, False)
        )
        progress = BonusProgress(
            spent_rial=spent,
            threshold_rial=ctx.bonus_threshold_rial,
            bonus_rial=ctx.bonus_rial or 0,
            granted=granted,
        )
    bonus_queued = bool(
        progress and not progress.granted and split.credit_rial and progress.remaining_rial == 0
    )
    if bonus_queued and ctx.cycle_id is not None:
        announce_bonus_on_commit(household_id=prepared.household_id, cycle_id=ctx.cycle_id)
    answer = purchase_answer(
        known=prepared.known,
        purchase_id=purchase_id,
        split=split,
        balance_after=balance - split.credit_rial,
        cycle_key=request.cycle_key,
        progress=progress,
        bonus_queued=bonus_queued,
    )
    return purchase_id, answer


def write_in_one_call(*, request: PurchaseRequest, prepared: Basket) -> CheckoutResult:
    """The write of a priced basket as one call of ``checkout_record_purchase`` (PostgreSQL)."""
    ctx = prepared.context
    terminal = request.terminal
    moves_money = prepared.current_total_rial > prepared.base_total_rial
    answer = record_purchase_in_one_call(
        household_id=prepared.household_id,
        payer_id=prepared.person_id,
        store_id=terminal.store_id,
        terminal_id=terminal.pk,
        idempotency_key=request.idempotency_key,
        fingerprint=request.fingerprint,
        paid_with=prepared.paid_with,
        card_bin=request.card_bin,
        card_last4=request.card_last4,
        base_total_rial=prepared.base_total_rial,
        current_total_rial=prepared.current_total_rial,
        lines=prepared.lines,
        created_at=request.created_at,
        cycle_id=ctx.cycle_id,
        cycle_key=request.cycle_key,
        phase_id=ctx.phase_id,
        wallet_id=ctx.wallet_id,
        # Only a purchase above base prices posts; the accounts are looked up (or the store's
        # payable opened) when the context did not find them.
        inflation_fund_id=(
            ctx.inflation_fund_id or system_account(kind=AccountKind.INFLATION_FUND).pk
        )
        if moves_money
        else None,
        store_payable_id=(ctx.store_payable_id or store_payable(store=terminal.store).pk)
        if moves_money
        else None,
        bonus_threshold_rial=ctx.bonus_threshold_rial if ctx.cycle_id is not None else None,
        bonus_rial=ctx.bonus_rial,
        known=prepared.known,
    )
    return CheckoutResult(201, answer, replayed=False)
