"""The POS purchase: authorise a basket purchase by a card (or payment code) of a household head,
split it base / credit / compensation, post it — safely under retries (see ``idempotency``)."""

from functools import partial
from typing import Any, cast

from django.conf import settings
from django.db import IntegrityError, connection
from django.utils import timezone

from kalabarg.lib.persian import jalali_month_key
from settlements.selectors import PurchaseContext, purchase_context
from settlements.services import rules
from settlements.services.checkout import payment_code_attempts
from settlements.services.checkout.answers import with_receipt
from settlements.services.checkout.basket import (
    PurchaseRequest,
    card_parts,
    prepare_basket,
    read_context,
)
from settlements.services.checkout.errors import CheckoutError
from settlements.services.checkout.idempotency import (
    CheckoutResult,
    answer_to_duplicate,
    replay,
    replay_from_context,
    request_fingerprint,
    retrying,
    with_idempotency,
)
from settlements.services.checkout.pricing import LineRequest, validate_lines
from settlements.services.checkout.write import (
    announce_bonus_on_commit,
    write_in_one_call,
    write_in_python,
)
from stores.models import IdempotencyOperation, Terminal
from stores.services import (
    API_KEY_INVALID,
    TerminalCredentials,
    terminal_from_row,
    terminal_refusal,
)


def _confirmed_terminal(context: PurchaseContext, credentials: TerminalCredentials) -> Terminal:
    """The claimed terminal as the context read found it, if the key is its own and both it and
    its store may sell; else the same refusal as the API key authentication gives."""
    found = terminal_from_row(row=context.terminal_row, key=credentials.key)
    refusal = API_KEY_INVALID if found is None else terminal_refusal(terminal=found)
    if refusal is not None:
        raise CheckoutError(refusal.code, refusal.message)
    return cast(Terminal, found)


def checkout(
    *,
    terminal: Terminal | TerminalCredentials,
    idempotency_key: str,
    card_number: str | None,
    payment_code: str | None,
    lines: list[LineRequest],
    request_body: dict[str, Any],
    in_one_call: bool | None = None,
) -> CheckoutResult:
    """Authorise and record one basket purchase (see ``idempotency`` for the guarantees).

    The hot path of the system, so it stays lean: one read for the payer, the rules and any
    earlier answer under the key; one for the prices; then the write. A card purchase on
    PostgreSQL writes in one call of ``checkout_record_purchase`` (one round trip, its own
    transaction: wallet lock, purchase, lines, ledger entry, the cycle's spend, the answer and its
    idempotency record). A payment-code purchase, or any purchase on another database
    (``in_one_call=False`` forces it), does the same steps from Python in one transaction, which
    also redeems the code so that a refused purchase leaves it unused.
    """
    fingerprint = request_fingerprint(body=request_body)
    validate_lines(lines=lines)
    if bool(card_number) == bool(payment_code):
        raise CheckoutError(
            "payer_required",
            "یکی از شماره کارت یا کد خرید را بفرستید (نه هر دو)",
            field="card_number",
        )
    by_card = bool(card_number)
    if in_one_call is None:
        in_one_call = settings.CHECKOUT_IN_ONE_CALL and connection.vendor == "postgresql"
    in_one_call = in_one_call and by_card
    hashed, card_bin, card_last4 = (
        card_parts(card_number=card_number or "") if by_card else (None, "", "")
    )
    now = timezone.now()
    today = timezone.localdate(now)
    cycle_key = jalali_month_key(today)

    claimed = terminal if isinstance(terminal, TerminalCredentials) else None
    known = terminal if isinstance(terminal, Terminal) else None
    # The first read also finds a terminal that is only claimed, and prices the lines.
    context = purchase_context(
        terminal_id=known.pk if known is not None else None,
        terminal_code=claimed.terminal_id if claimed is not None else None,
        idempotency_key=idempotency_key,
        today=today,
        cycle_key=cycle_key,
        card_hash=hashed,
        household_id=None,
        item_codes=[line.item for line in lines],
        prices_at=now,
    )
    confirmed = (
        known
        if known is not None
        else _confirmed_terminal(context, cast(TerminalCredentials, claimed))
    )
    request = PurchaseRequest(
        terminal=confirmed,
        idempotency_key=idempotency_key,
        fingerprint=fingerprint,
        by_card=by_card,
        card_hash=hashed,
        card_bin=card_bin,
        card_last4=card_last4,
        payment_code=payment_code or "",
        lines=lines,
        prices=context.prices,
        created_at=now,
        today=today,
        cycle_key=cycle_key,
    )
    earlier = replay_from_context(
        context=context, operation=IdempotencyOperation.PURCHASE, fingerprint=fingerprint
    )
    if earlier is not None:
        return with_receipt(result=earlier)
    if context.cycle_id is None and context.phase_id is not None:
        rules.ensure_cycle(key=cycle_key)  # the month's first purchase before its credit run
        context = read_context(request=request)
    if in_one_call:
        return _purchase_in_one_call(request=request, context=context)
    if by_card:
        return _purchase_in_python(request=request, context=context)
    payment_code_attempts.refuse_if_blocked(terminal_id=confirmed.pk)
    try:
        return _purchase_in_python(request=request, context=context)
    except CheckoutError as refusal:
        if refusal.code in payment_code_attempts.FAILURES:
            payment_code_attempts.count_failure(terminal_id=confirmed.pk)
        raise


def _purchase_in_one_call(*, request: PurchaseRequest, context: PurchaseContext) -> CheckoutResult:
    prepared = prepare_basket(request=request, context=context)
    try:
        result = retrying(work=partial(write_in_one_call, request=request, prepared=prepared))
    except IntegrityError:
        result = answer_to_duplicate(
            terminal=request.terminal,
            key=request.idempotency_key,
            operation=IdempotencyOperation.PURCHASE,
            fingerprint=request.fingerprint,
        )
    bonus = result.body.get("bonus")
    if not result.replayed and bonus and bonus["queued"] and context.cycle_id is not None:
        announce_bonus_on_commit(household_id=prepared.household_id, cycle_id=context.cycle_id)
    return with_receipt(result=result)


def _purchase_in_python(*, request: PurchaseRequest, context: PurchaseContext) -> CheckoutResult:
    try:
        result = with_idempotency(
            terminal=request.terminal,
            key=request.idempotency_key,
            operation=IdempotencyOperation.PURCHASE,
            fingerprint=request.fingerprint,
            work=partial(write_in_python, request=request, context=context),
            status=201,
            checked=True,
        )
    except CheckoutError as refusal:
        # The same request sent twice at once: the first used the payment code, and this one
        # waited on the code's row lock and found it used. The first's answer is this one's too.
        if refusal.code != "payment_code_invalid":
            raise
        earlier = replay(
            terminal=request.terminal,
            key=request.idempotency_key,
            operation=IdempotencyOperation.PURCHASE,
            fingerprint=request.fingerprint,
        )
        if earlier is None:
            raise
        result = earlier
    return with_receipt(result=result)
