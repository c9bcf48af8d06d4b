"""POS checkout: authorise a basket purchase by a card (or payment code) of a household head,
split it base / credit / compensation, post it, and reverse it — safely under retries.

Every request carries an ``Idempotency-Key``. Its record is written in the same transaction as
the purchase, so a retry with the same key and body gets the original answer, one with another
body gets ``idempotency_key_reused``, and a concurrent duplicate waits on the record's unique key
and then gets the same answer (or ``409`` if the first is still in flight).
"""

import datetime as dt
import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, cast

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from households.services import redeem_payment_code
from kalabarg.lib.hot_sql import hot_cursor
from kalabarg.lib.identifiers import IdentifierError, card_hash, normalize_card_number
from kalabarg.lib.money import format_money
from kalabarg.lib.persian import jalali_month_key, to_persian_digits
from settlements.models import AccountKind, Cycle, EntryKind, JournalEntry
from settlements.selectors import (
    BonusProgress,
    PurchaseContext,
    bonus_progress,
    purchase_context,
    wallet_balance,
    wallet_cycle_figures,
)
from settlements.services import rules
from settlements.services.ledger import (
    InsufficientBalance,
    lock_wallet,
    lock_wallet_balance,
    store_payable,
    system_account,
)
from settlements.services.payments import (
    PricedLine,
    Split,
    post_purchase,
    post_purchase_reversal,
    record_purchase,
    record_purchase_in_one_call,
    reverse_entry,
    split_purchase,
)
from stores.models import (
    IdempotencyOperation,
    IdempotencyRecord,
    PaymentMethod,
    Purchase,
    PurchaseStatus,
    Terminal,
)
from stores.selectors import ItemPriceRow
from stores.services import (
    API_KEY_INVALID,
    TerminalCredentials,
    terminal_from_row,
    terminal_refusal,
)

logger = logging.getLogger(__name__)

MAX_LINES = 30
MAX_QUANTITY = Decimal("100")  # units of one item in one purchase; larger is a typo or abuse
TRANSIENT_ATTEMPTS = 3


class CheckoutError(Exception):
    """A refusal with a stable code, a Persian message, the HTTP status, and maybe the field."""

    def __init__(
        self, code: str, message: str, *, status: int = 422, field: str | None = None
    ) -> None:
        super().__init__(message)
        self.code, self.message, self.status, self.field = code, message, status, field


@dataclass(frozen=True)
class LineRequest:
    item: str
    quantity: Decimal


@dataclass(frozen=True)
class CheckoutResult:
    status: int
    body: dict[str, Any]
    replayed: bool


def request_fingerprint(body: dict[str, Any]) -> str:
    """Keyed hash of the canonical request body (it holds a card number, so never a plain hash)."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hmac.new(settings.CARD_HASH_KEY.encode(), canonical.encode(), hashlib.sha256).hexdigest()


def _retrying(work: Callable[[], CheckoutResult]) -> CheckoutResult:
    """Retry serialization failures, deadlocks and lock timeouts a bounded number of times."""
    for attempt in range(1, TRANSIENT_ATTEMPTS + 1):
        try:
            return work()
        except OperationalError:
            if attempt == TRANSIENT_ATTEMPTS:
                raise
            logger.warning("checkout attempt %s hit a transient database error; retrying", attempt)
    raise AssertionError("unreachable")


def _replay(
    terminal: Terminal, key: str, operation: str, fingerprint: str
) -> CheckoutResult | None:
    record = IdempotencyRecord.objects.filter(terminal=terminal, key=key).first()
    if record is None:
        return None
    if record.operation != operation or record.fingerprint != fingerprint:
        raise CheckoutError(
            "idempotency_key_reused",
            "این کلید یکتایی پیش‌تر برای درخواست دیگری به کار رفته است",
            status=422,
            field="Idempotency-Key",
        )
    return CheckoutResult(record.response_status, record.response_body, replayed=True)


def _replay_from_context(
    context: PurchaseContext, operation: str, fingerprint: str
) -> CheckoutResult | None:
    if context.replay_operation is None:
        return None
    if context.replay_operation != operation or context.replay_fingerprint != fingerprint:
        raise CheckoutError(
            "idempotency_key_reused",
            "این کلید یکتایی پیش‌تر برای درخواست دیگری به کار رفته است",
            status=422,
            field="Idempotency-Key",
        )
    return CheckoutResult(context.replay_status or 200, context.replay_body, replayed=True)


def _remember(
    *,
    terminal: Terminal,
    key: str,
    operation: str,
    fingerprint: str,
    purchase_id: int,
    status: int,
    body: dict[str, Any],
) -> None:
    """The idempotency record, in the purchase's transaction: one plain statement."""
    body_param = "CAST(%s AS jsonb)" if connection.vendor == "postgresql" else "%s"
    with hot_cursor() as cursor:
        cursor.execute(
            "INSERT INTO stores_idempotencyrecord (terminal_id, key, operation, fingerprint, purchase_id, "
            f"response_status, response_body, created_at) VALUES (%s, %s, %s, %s, %s, %s, {body_param}, %s)",
            [
                terminal.pk,
                key,
                operation,
                fingerprint,
                purchase_id,
                status,
                json.dumps(body, ensure_ascii=False),
                connection.ops.adapt_datetimefield_value(timezone.now()),
            ],
        )


def _with_idempotency(
    *,
    terminal: Terminal,
    key: str,
    operation: str,
    fingerprint: str,
    work: Callable[[], tuple[int, dict[str, Any]]],
    status: int,
    checked: bool = False,
) -> CheckoutResult:
    """Run ``work`` and remember its answer under the key, in one transaction, retrying transient
    errors. ``checked``: the caller has already looked the key up (the checkout's context read)."""
    if not checked:
        replay = _replay(terminal, key, operation, fingerprint)
        if replay is not None:
            return replay

    def attempt() -> CheckoutResult:
        with transaction.atomic():
            purchase_id, body = work()
            _remember(
                terminal=terminal,
                key=key,
                operation=operation,
                fingerprint=fingerprint,
                purchase_id=purchase_id,
                status=status,
                body=body,
            )
        return CheckoutResult(status, body, replayed=False)

    try:
        return _retrying(attempt)
    except IntegrityError:
        return _answer_to_duplicate(terminal, key, operation, fingerprint)


def _answer_to_duplicate(
    terminal: Terminal, key: str, operation: str, fingerprint: str
) -> CheckoutResult:
    """The same key committed concurrently (our insert waited for it, then collided): its answer."""
    replay = _replay(terminal, key, operation, fingerprint)
    if replay is not None:
        return replay
    raise CheckoutError(
        "request_in_progress",
        "درخواستی با همین کلید در حال انجام است؛ کمی بعد دوباره بفرستید",
        status=409,
    )


# --- Purchase ----------------------------------------------------------------------------------


def _card(card_number: str) -> tuple[str, str, str]:
    """(keyed hash, BIN, last four) of a well-formed card number, or a 400 naming the field."""
    try:
        card = normalize_card_number(card_number)
    except IdentifierError as exc:
        raise CheckoutError(exc.code, exc.message, status=400, field="card_number") from exc
    return card_hash(card.number, key=settings.CARD_HASH_KEY), card.bin, card.last4


def _check_payer(context: PurchaseContext, *, by_card: bool) -> None:
    if context.person_id is None:
        if by_card:
            raise CheckoutError(
                "card_not_registered",
                "این کارت در سامانه کالابرگ ثبت نشده است",
                field="card_number",
            )
        raise CheckoutError("payment_code_invalid", "کد خرید نادرست است", field="payment_code")
    if by_card and not context.is_head:
        raise CheckoutError(
            "card_not_head", "کالابرگ فقط با کارت سرپرست خانوار پرداخت می‌شود", field="card_number"
        )


def _redeem_code(code: str) -> int:
    """The household whose head made this payment code (now used up), or a refusal."""
    if len(code) != 8 or not code.isascii() or not code.isdigit():
        raise CheckoutError(
            "payment_code_format", "کد خرید باید ۸ رقم باشد", status=400, field="payment_code"
        )
    record = redeem_payment_code(code=code)
    if record is None:
        raise CheckoutError(
            "payment_code_invalid", "کد خرید نادرست، استفاده‌شده یا منقضی است", field="payment_code"
        )
    return record.household_id


def _round_rial(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _validate_lines(lines: list[LineRequest]) -> None:
    if not lines:
        raise CheckoutError("basket_empty", "سبد خرید خالی است", status=400, field="lines")
    if len(lines) > MAX_LINES:
        raise CheckoutError(
            "basket_too_large", f"حداکثر {MAX_LINES} قلم در هر خرید", status=400, field="lines"
        )
    codes = [line.item for line in lines]
    if len(set(codes)) != len(codes):
        raise CheckoutError(
            "line_duplicate_item", "هر قلم فقط یک بار در سبد بیاید", status=400, field="lines"
        )
    for index, line in enumerate(lines):
        if line.quantity <= 0:
            raise CheckoutError(
                "quantity_not_positive",
                "مقدار باید بیشتر از صفر باشد",
                status=400,
                field=f"lines[{index}].quantity",
            )
        if line.quantity > MAX_QUANTITY:
            raise CheckoutError(
                "quantity_too_large",
                "مقدار این قلم بیش از حد مجاز است",
                status=400,
                field=f"lines[{index}].quantity",
            )
        if line.quantity != line.quantity.quantize(Decimal("0.001")):
            raise CheckoutError(
                "quantity_precision",
                "مقدار حداکثر سه رقم اعشار دارد",
                status=400,
                field=f"lines[{index}].quantity",
            )


def _priced_lines(lines: list[LineRequest], prices: dict[str, ItemPriceRow]) -> list[PricedLine]:
    """Each line at its item's base and current prices in force, rounded per line, half up.

    A line's base amount never exceeds its current amount: nobody pays more than today's price."""
    for index, line in enumerate(lines):
        found = prices.get(line.item)
        if found is None:
            raise CheckoutError(
                "item_unknown",
                f"قلم «{line.item}» در سبد کالابرگ نیست",
                status=400,
                field=f"lines[{index}].item",
            )
        if not found.is_active:
            raise CheckoutError(
                "item_inactive",
                f"{found.name} دیگر در سبد کالابرگ نیست",
                field=f"lines[{index}].item",
            )
    priced = []
    for index, line in enumerate(lines):
        price = prices[line.item]
        if price.base_price_rial is None or price.current_price_rial is None:
            raise CheckoutError(
                "item_not_priced",
                f"قیمت {price.name} هنوز ثبت نشده است",
                status=409,
                field=f"lines[{index}].item",
            )
        current = _round_rial(price.current_price_rial * line.quantity)
        priced.append(
            PricedLine(
                item_id=price.id,
                code=price.code,
                name=price.name,
                quantity=line.quantity,
                unit_base_price_rial=price.base_price_rial,
                unit_current_price_rial=price.current_price_rial,
                base_amount_rial=min(_round_rial(price.base_price_rial * line.quantity), current),
                current_amount_rial=current,
            )
        )
    return priced


def purchase_receipt(answer: dict[str, Any]) -> str:
    """The short Persian receipt for a purchase answer, from its own figures."""
    return (
        f"کالابرگ — خرید {to_persian_digits(answer['purchase_id'])}: "
        f"سهم شما {format_money(answer['cash_rial'])}، "
        f"از اعتبار کالابرگ {format_money(answer['credit_rial'])}، "
        f"جبران تورم دولت {format_money(answer['compensation_rial'])}. "
        f"مانده اعتبار: {format_money(answer['wallet_balance_rial'])}."
    )


def _with_receipt(result: CheckoutResult) -> CheckoutResult:
    """The receipt is rendered when answering (a fresh answer or a replay), not stored: the
    one-call write completes the answer inside PostgreSQL, which does not format Persian money."""
    if "receipt" in result.body:  # answers remembered before receipts were rendered on the way out
        return result
    return CheckoutResult(
        result.status, {**result.body, "receipt": purchase_receipt(result.body)}, result.replayed
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

    ``checkout_record_purchase`` (migration settlements 0007) completes ``known`` with the same
    keys inside PostgreSQL; a test compares the two."""
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


@dataclass(frozen=True)
class _Basket:
    """A purchase that passed every check, priced, ready to be written."""

    context: PurchaseContext
    household_id: int
    person_id: int
    lines: list[PricedLine]
    base_total_rial: int
    current_total_rial: int
    paid_with: str
    known: dict[str, Any]


def _confirmed_terminal(context: PurchaseContext, credentials: TerminalCredentials) -> Terminal:
    """The claimed terminal as the context read found it, if the key is its own and both it and
    its store may sell; else the same refusal as the API key authentication gives."""
    found = terminal_from_row(context.terminal_row, credentials.key)
    refusal = API_KEY_INVALID if found is None else terminal_refusal(found)
    if refusal is not None:
        raise CheckoutError(refusal.code, refusal.message, status=refusal.status)
    return cast(Terminal, found)


def _queue_bonus_on_commit(household_id: int, cycle_id: int) -> None:
    """Queue the bonus once the purchase has committed. ``robust``: a failure to queue it (a
    broker down, or an eager grant that fails) is logged and left to the nightly sweep, never
    turned into an error for a purchase that is already made, nor a retry of it."""
    from settlements.tasks import grant_bonus

    transaction.on_commit(lambda: grant_bonus.delay(household_id, cycle_id), robust=True)


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
    """Authorise and record one basket purchase (see the module docstring for the guarantees).

    The hot path of the system, so it stays lean: one read for the payer, the rules and any
    earlier answer under the key; one for the prices; then the write. A card purchase on
    PostgreSQL writes in one call of ``checkout_record_purchase`` (one round trip, its own
    transaction: wallet lock, purchase, lines, ledger entry, the cycle's spend, the answer and its
    idempotency record). A payment-code purchase, or any purchase on another database
    (``in_one_call=False`` forces it), does the same steps from Python in one transaction, which
    also redeems the code so that a refused purchase leaves it unused.
    """
    fingerprint = request_fingerprint(request_body)
    _validate_lines(lines)
    if bool(card_number) == bool(payment_code):
        raise CheckoutError(
            "payer_required",
            "یکی از شماره کارت یا کد خرید را بفرستید (نه هر دو)",
            status=400,
            field="card_number",
        )
    by_card = bool(card_number)
    if in_one_call is None:
        in_one_call = settings.CHECKOUT_IN_ONE_CALL and connection.vendor == "postgresql"
    in_one_call = in_one_call and by_card
    hashed, card_bin, card_last4 = _card(card_number or "") if by_card else (None, "", "")
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
    prices = context.prices

    def read_context(household_id: int | None = None) -> PurchaseContext:
        return purchase_context(
            terminal_id=confirmed.pk,
            idempotency_key=idempotency_key,
            today=today,
            cycle_key=cycle_key,
            card_hash=hashed if household_id is None else None,
            household_id=household_id,
        )

    replay = _replay_from_context(context, IdempotencyOperation.PURCHASE, fingerprint)
    if replay is not None:
        return _with_receipt(replay)
    if context.cycle_id is None and context.phase_id is not None:
        rules.ensure_cycle(cycle_key)  # the month's first purchase before its credit run
        context = read_context()

    def basket(ctx: PurchaseContext) -> _Basket:
        _check_payer(ctx, by_card=by_card)
        if not ctx.eligible_today or ctx.household_id is None or ctx.person_id is None:
            raise CheckoutError(
                "household_not_eligible",
                "این خانوار در دهک‌های مشمول طرح کالابرگ نیست",
                status=403,
                field="card_number" if by_card else "payment_code",
            )
        if ctx.phase_min_distinct_items and len(lines) < ctx.phase_min_distinct_items:
            raise CheckoutError(
                "below_min_items",
                f"در هر خرید دست‌کم {to_persian_digits(ctx.phase_min_distinct_items)} قلم متفاوت لازم است",
                field="lines",
            )
        priced = _priced_lines(lines, prices)
        base_total = sum(line.base_amount_rial for line in priced)
        current_total = sum(line.current_amount_rial for line in priced)
        if base_total <= 0:
            raise CheckoutError("basket_empty", "مبلغ سبد صفر است", status=400, field="lines")
        paid_with = PaymentMethod.CARD if by_card else PaymentMethod.PAYMENT_CODE
        return _Basket(
            context=ctx,
            household_id=ctx.household_id,
            person_id=ctx.person_id,
            lines=priced,
            base_total_rial=base_total,
            current_total_rial=current_total,
            paid_with=paid_with,
            known=purchase_answer_known_before_the_write(
                created_at=now,
                terminal=confirmed,
                paid_with=paid_with,
                lines=priced,
                base_total_rial=base_total,
                current_total_rial=current_total,
            ),
        )

    if in_one_call:
        prepared = basket(context)
        try:
            result = _retrying(
                lambda: _write_in_one_call(
                    prepared,
                    terminal=confirmed,
                    idempotency_key=idempotency_key,
                    fingerprint=fingerprint,
                    card_bin=card_bin,
                    card_last4=card_last4,
                    created_at=now,
                    cycle_key=cycle_key,
                )
            )
        except IntegrityError:
            result = _answer_to_duplicate(
                confirmed, idempotency_key, IdempotencyOperation.PURCHASE, fingerprint
            )
        bonus = result.body.get("bonus")
        if not result.replayed and bonus and bonus["queued"] and context.cycle_id is not None:
            _queue_bonus_on_commit(prepared.household_id, context.cycle_id)
        return _with_receipt(result)

    def work() -> tuple[int, dict[str, Any]]:
        prepared = basket(context if by_card else read_context(_redeem_code(payment_code or "")))
        ctx = prepared.context
        balance = lock_wallet_balance(ctx.wallet_id) if ctx.wallet_id else 0
        split = split_purchase(
            base_total_rial=prepared.base_total_rial,
            current_total_rial=prepared.current_total_rial,
            wallet_balance_rial=balance,
        )
        purchase_id = record_purchase(
            household_id=prepared.household_id,
            payer_id=prepared.person_id,
            store_id=confirmed.store_id,
            terminal_id=confirmed.pk,
            idempotency_key=idempotency_key,
            fingerprint=fingerprint,
            paid_with=prepared.paid_with,
            card_bin=card_bin,
            card_last4=card_last4,
            base_total_rial=prepared.base_total_rial,
            current_total_rial=prepared.current_total_rial,
            split=split,
            lines=prepared.lines,
            created_at=now,
        )
        post_purchase(
            purchase_id=purchase_id,
            household_id=prepared.household_id,
            store_id=confirmed.store_id,
            credit_rial=split.credit_rial,
            compensation_rial=split.compensation_rial,
            cycle_id=ctx.cycle_id,
            phase_id=ctx.phase_id,
            wallet_id=ctx.wallet_id,
            inflation_fund_id=ctx.inflation_fund_id,
            store_payable_id=ctx.store_payable_id,
            created_at=now,
        )
        progress = None
        if ctx.cycle_id is not None and ctx.bonus_threshold_rial is not None:
            # Read under the wallet lock, so every earlier purchase of the household is counted.
            spent, granted = (
                wallet_cycle_figures(
                    wallet_id=ctx.wallet_id,
                    household_id=prepared.household_id,
                    cycle_id=ctx.cycle_id,
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
            _queue_bonus_on_commit(prepared.household_id, ctx.cycle_id)
        answer = purchase_answer(
            known=prepared.known,
            purchase_id=purchase_id,
            split=split,
            balance_after=balance - split.credit_rial,
            cycle_key=cycle_key,
            progress=progress,
            bonus_queued=bonus_queued,
        )
        return purchase_id, answer

    try:
        result = _with_idempotency(
            terminal=confirmed,
            key=idempotency_key,
            operation=IdempotencyOperation.PURCHASE,
            fingerprint=fingerprint,
            work=work,
            status=201,
            checked=True,
        )
    except CheckoutError as refusal:
        # The same request sent twice at once: the first used the payment code, and this one
        # waited on the code's row lock and found it used. The first's answer is this one's too.
        if refusal.code != "payment_code_invalid":
            raise
        replay = _replay(confirmed, idempotency_key, IdempotencyOperation.PURCHASE, fingerprint)
        if replay is None:
            raise
        result = replay
    return _with_receipt(result)


def _write_in_one_call(
    prepared: _Basket,
    *,
    terminal: Terminal,
    idempotency_key: str,
    fingerprint: str,
    card_bin: str,
    card_last4: str,
    created_at: dt.datetime,
    cycle_key: str,
) -> CheckoutResult:
    """The write of a priced basket as one call of ``checkout_record_purchase`` (PostgreSQL)."""
    ctx = prepared.context
    moves_money = prepared.current_total_rial > prepared.base_total_rial
    answer = record_purchase_in_one_call(
        household_id=prepared.household_id,
        payer_id=prepared.person_id,
        store_id=terminal.store_id,
        terminal_id=terminal.pk,
        idempotency_key=idempotency_key,
        fingerprint=fingerprint,
        paid_with=prepared.paid_with,
        card_bin=card_bin,
        card_last4=card_last4,
        base_total_rial=prepared.base_total_rial,
        current_total_rial=prepared.current_total_rial,
        lines=prepared.lines,
        created_at=created_at,
        cycle_id=ctx.cycle_id,
        cycle_key=cycle_key,
        phase_id=ctx.phase_id,
        wallet_id=ctx.wallet_id,
        # Only a purchase above base prices posts; the accounts are looked up (or the store's
        # payable opened) when the context did not find them.
        inflation_fund_id=(ctx.inflation_fund_id or system_account(AccountKind.INFLATION_FUND).pk)
        if moves_money
        else None,
        store_payable_id=(ctx.store_payable_id or store_payable(terminal.store).pk)
        if moves_money
        else None,
        bonus_threshold_rial=ctx.bonus_threshold_rial if ctx.cycle_id is not None else None,
        bonus_rial=ctx.bonus_rial,
        known=prepared.known,
    )
    return CheckoutResult(201, answer, replayed=False)


# --- Reversal ----------------------------------------------------------------------------------


def reverse_purchase(
    *, terminal: Terminal, purchase_id: int, idempotency_key: str
) -> CheckoutResult:
    """Reverse a purchase the same terminal made today: credit back to the wallet, compensation to the fund.

    Bonus policy: a bonus must not stay with a household whose net spend in the cycle falls below
    the threshold. If the reversal does that, the bonus is reversed too when the wallet (after the
    credit comes back) still holds it; if the household has already spent it, the reversal is
    refused (``reversal_bonus_spent``) and the store keeps the sale.
    """
    fingerprint = request_fingerprint({"reverse": purchase_id})

    def work() -> tuple[int, dict[str, Any]]:
        purchase = (
            Purchase.objects.select_for_update(of=("self",))
            .select_related("terminal", "store")
            .filter(pk=purchase_id, terminal=terminal)
            .first()
        )
        if purchase is None:
            raise CheckoutError("purchase_not_found", "این خرید در این پایانه پیدا نشد", status=404)
        if purchase.status == PurchaseStatus.REVERSED:
            raise CheckoutError(
                "purchase_already_reversed", "این خرید پیش‌تر برگشت خورده است", status=409
            )
        if timezone.localdate(purchase.created_at) != timezone.localdate():
            raise CheckoutError(
                "reversal_too_late", "برگشت خرید فقط در همان روز خرید ممکن است", status=409
            )
        wallet = lock_wallet(purchase.household_id)
        original = JournalEntry.objects.filter(purchase=purchase, kind=EntryKind.PURCHASE).first()
        bonus_taken_back = 0
        if original is not None and original.cycle_id is not None:
            cycle = Cycle.objects.select_related("phase").get(pk=original.cycle_id)
            progress = bonus_progress(household_id=purchase.household_id, cycle=cycle)
            bonus_entry = JournalEntry.objects.filter(
                household_id=purchase.household_id, cycle=cycle, kind=EntryKind.BONUS
            ).first()
            falls_below = (
                progress is not None
                and progress.spent_rial - purchase.credit_rial < progress.threshold_rial
            )
            if bonus_entry is not None and falls_below and not _already_reversed(bonus_entry):
                bonus_amount = bonus_entry.postings.get(
                    account__kind=AccountKind.WALLET
                ).amount_rial
                balance_after_credit = (wallet.balance_rial if wallet else 0) + purchase.credit_rial
                if balance_after_credit < bonus_amount:
                    raise CheckoutError(
                        "reversal_bonus_spent",
                        "اعتبار مضاعفی که با این خرید به دست آمده خرج شده است؛ برگشت این خرید ممکن نیست",
                        status=409,
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
                    raise CheckoutError(
                        "reversal_bonus_spent", "اعتبار مضاعف خرج شده است", status=409
                    ) from None
                bonus_taken_back = bonus_amount
            else:
                post_purchase_reversal(purchase=purchase, original=original)
        elif original is not None:
            post_purchase_reversal(purchase=purchase, original=original)
        purchase.status = PurchaseStatus.REVERSED
        purchase.reversed_at = timezone.now()
        purchase.save(update_fields=["status", "reversed_at"])
        balance = wallet_balance(household_id=purchase.household_id)
        body = {
            "purchase_id": purchase.pk,
            "status": purchase.status,
            "reversed_at": purchase.reversed_at.isoformat(),
            "credit_returned_rial": purchase.credit_rial,
            "compensation_returned_rial": purchase.compensation_rial,
            "bonus_taken_back_rial": bonus_taken_back,
            "wallet_balance_rial": balance,
            "receipt": (
                f"کالابرگ — برگشت خرید {to_persian_digits(purchase.pk)}: "
                f"{format_money(purchase.credit_rial)} به اعتبار شما برگشت. مانده اعتبار: {format_money(balance)}."
            ),
        }
        return purchase.pk, body

    return _with_idempotency(
        terminal=terminal,
        key=idempotency_key,
        operation=IdempotencyOperation.REVERSAL,
        fingerprint=fingerprint,
        work=work,
        status=200,
    )


def _already_reversed(entry: JournalEntry) -> bool:
    return JournalEntry.objects.filter(reverses=entry).exists()
