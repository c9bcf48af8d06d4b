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
from typing import Any

from django.conf import settings
from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone

from households import selectors as household_selectors
from households.models import Person
from households.services import redeem_payment_code
from kalabarg.lib.identifiers import IdentifierError, normalize_card_number
from kalabarg.lib.money import format_money
from kalabarg.lib.persian import jalali_month_key, to_persian_digits
from settlements.models import AccountKind, Cycle, EntryKind, JournalEntry
from settlements.selectors import BonusProgress, bonus_progress, wallet_balance
from settlements.services import rules
from settlements.services.ledger import InsufficientBalance, lock_wallet
from settlements.services.payments import (
    post_purchase,
    post_purchase_reversal,
    reverse_entry,
    split_purchase,
)
from stores.models import (
    BasketItem,
    IdempotencyOperation,
    IdempotencyRecord,
    PaymentMethod,
    Purchase,
    PurchaseLine,
    PurchaseStatus,
    Terminal,
)
from stores.selectors import basket_with_prices

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


def _with_idempotency(
    *,
    terminal: Terminal,
    key: str,
    operation: str,
    fingerprint: str,
    work: Callable[[], tuple[Purchase, dict[str, Any]]],
    status: int,
) -> CheckoutResult:
    replay = _replay(terminal, key, operation, fingerprint)
    if replay is not None:
        return replay

    def attempt() -> CheckoutResult:
        with transaction.atomic():
            purchase, body = work()
            IdempotencyRecord.objects.create(
                terminal=terminal,
                key=key,
                operation=operation,
                fingerprint=fingerprint,
                purchase=purchase,
                response_status=status,
                response_body=body,
            )
        return CheckoutResult(status, body, replayed=False)

    try:
        return _retrying(attempt)
    except IntegrityError:
        # The same key committed concurrently (our insert waited for it, then collided).
        replay = _replay(terminal, key, operation, fingerprint)
        if replay is not None:
            return replay
        raise CheckoutError(
            "request_in_progress",
            "درخواستی با همین کلید در حال انجام است؛ کمی بعد دوباره بفرستید",
            status=409,
        ) from None


# --- Purchase ----------------------------------------------------------------------------------


def _payer_by_card(card_number: str) -> tuple[Person, str, str]:
    try:
        card = normalize_card_number(card_number)
    except IdentifierError as exc:
        raise CheckoutError(exc.code, exc.message, status=400, field="card_number") from exc
    registered = household_selectors.card_by_number(card_number=card.number)
    if registered is None:
        raise CheckoutError(
            "card_not_registered", "این کارت در سامانه کالابرگ ثبت نشده است", field="card_number"
        )
    if not registered.person.is_head:
        raise CheckoutError(
            "card_not_head", "کالابرگ فقط با کارت سرپرست خانوار پرداخت می‌شود", field="card_number"
        )
    return registered.person, card.bin, card.last4


def _payer_by_code(code: str) -> Person:
    if len(code) != 8 or not code.isascii() or not code.isdigit():
        raise CheckoutError(
            "payment_code_format", "کد خرید باید ۸ رقم باشد", status=400, field="payment_code"
        )
    record = redeem_payment_code(code=code)
    if record is None:
        raise CheckoutError(
            "payment_code_invalid", "کد خرید نادرست، استفاده‌شده یا منقضی است", field="payment_code"
        )
    head = household_selectors.household_head(household_id=record.household_id)
    if head is None:
        raise CheckoutError("payment_code_invalid", "کد خرید نادرست است", field="payment_code")
    return head


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


def _priced_lines(
    lines: list[LineRequest], at: dt.datetime
) -> list[tuple[BasketItem, Decimal, int, int, int, int]]:
    """(item, quantity, unit base, unit current, line base, line current), rounded per line, half up.

    A line's base amount never exceeds its current amount: nobody pays more than today's price."""
    prices = {
        found.item.code: found
        for found in basket_with_prices(
            at=at, items=BasketItem.objects.filter(code__in=[line.item for line in lines])
        )
    }
    for index, line in enumerate(lines):
        found = prices.get(line.item)
        if found is None:
            raise CheckoutError(
                "item_unknown",
                f"قلم «{line.item}» در سبد کالابرگ نیست",
                status=400,
                field=f"lines[{index}].item",
            )
        if not found.item.is_active:
            raise CheckoutError(
                "item_inactive",
                f"{found.item.name} دیگر در سبد کالابرگ نیست",
                field=f"lines[{index}].item",
            )
    priced = []
    for index, line in enumerate(lines):
        price = prices[line.item]
        if price.base_price_rial is None or price.current_price_rial is None:
            raise CheckoutError(
                "item_not_priced",
                f"قیمت {price.item.name} هنوز ثبت نشده است",
                status=409,
                field=f"lines[{index}].item",
            )
        current = _round_rial(price.current_price_rial * line.quantity)
        base = min(_round_rial(price.base_price_rial * line.quantity), current)
        priced.append(
            (
                price.item,
                line.quantity,
                price.base_price_rial,
                price.current_price_rial,
                base,
                current,
            )
        )
    return priced


def _receipt(purchase: Purchase, balance_after: int) -> str:
    return (
        f"کالابرگ — خرید {to_persian_digits(purchase.pk)}: "
        f"سهم شما {format_money(purchase.cash_rial)}، "
        f"از اعتبار کالابرگ {format_money(purchase.credit_rial)}، "
        f"جبران تورم دولت {format_money(purchase.compensation_rial)}. "
        f"مانده اعتبار: {format_money(balance_after)}."
    )


def purchase_body(
    purchase: Purchase,
    *,
    terminal: Terminal,
    lines: list[PurchaseLine],
    balance_after: int,
    cycle: Cycle | None,
    progress: BonusProgress | None,
    bonus_queued: bool,
) -> dict[str, Any]:
    """The purchase's answer, from what the checkout already holds (no further queries)."""
    return {
        "purchase_id": purchase.pk,
        "status": purchase.status,
        "created_at": purchase.created_at.isoformat(),
        "terminal_id": terminal.terminal_id,
        "store": terminal.store.name,
        "paid_with": purchase.paid_with,
        "lines": [
            {
                "item": line.item.code,
                "name": line.item.name,
                "quantity": str(line.quantity.quantize(Decimal("0.001"))),
                "unit_base_price_rial": line.unit_base_price_rial,
                "unit_current_price_rial": line.unit_current_price_rial,
                "base_amount_rial": line.base_amount_rial,
                "current_amount_rial": line.current_amount_rial,
            }
            for line in lines
        ],
        "base_total_rial": purchase.base_total_rial,
        "current_total_rial": purchase.current_total_rial,
        "cash_rial": purchase.cash_rial,
        "credit_rial": purchase.credit_rial,
        "compensation_rial": purchase.compensation_rial,
        "wallet_balance_rial": balance_after,
        "bonus": None
        if progress is None or cycle is None
        else {
            "cycle": cycle.key,
            "spent_rial": progress.spent_rial,
            "threshold_rial": progress.threshold_rial,
            "remaining_rial": progress.remaining_rial,
            "bonus_rial": progress.bonus_rial,
            "granted": progress.granted,
            "queued": bonus_queued,
        },
        "receipt": _receipt(purchase, balance_after),
    }


def checkout(
    *,
    terminal: Terminal,
    idempotency_key: str,
    card_number: str | None,
    payment_code: str | None,
    lines: list[LineRequest],
    request_body: dict[str, Any],
) -> CheckoutResult:
    """Authorise and record one basket purchase (see the module docstring for the guarantees)."""
    fingerprint = request_fingerprint(request_body)
    _validate_lines(lines)
    if bool(card_number) == bool(payment_code):
        raise CheckoutError(
            "payer_required",
            "یکی از شماره کارت یا کد خرید را بفرستید (نه هر دو)",
            status=400,
            field="card_number",
        )

    def work() -> tuple[Purchase, dict[str, Any]]:
        now = timezone.now()
        today = timezone.localdate(now)
        if card_number:
            payer, card_bin, card_last4 = _payer_by_card(card_number)
            paid_with = PaymentMethod.CARD
        else:
            payer, card_bin, card_last4 = _payer_by_code(payment_code or ""), "", ""
            paid_with = PaymentMethod.PAYMENT_CODE
        phase = rules.phase_on(today)
        decile = household_selectors.decile_on(household_id=payer.household_id, on_date=today)
        band = rules.band_for(phase, decile) if phase else None
        if phase is None or band is None:
            raise CheckoutError(
                "household_not_eligible",
                "این خانوار در دهک‌های مشمول طرح کالابرگ نیست",
                status=403,
                field="card_number",
            )
        if phase.min_distinct_items and len(lines) < phase.min_distinct_items:
            raise CheckoutError(
                "below_min_items",
                f"در هر خرید دست‌کم {to_persian_digits(phase.min_distinct_items)} قلم متفاوت لازم است",
                field="lines",
            )
        priced = _priced_lines(lines, now)
        base_total = sum(p[4] for p in priced)
        current_total = sum(p[5] for p in priced)
        if base_total <= 0:
            raise CheckoutError("basket_empty", "مبلغ سبد صفر است", status=400, field="lines")
        cycle = rules.ensure_cycle(jalali_month_key(today))
        if cycle.phase_id == phase.pk:
            cycle.phase = phase  # one phase object, so its bands are read once
        wallet = lock_wallet(payer.household_id)
        split = split_purchase(
            base_total_rial=base_total,
            current_total_rial=current_total,
            wallet_balance_rial=wallet.balance_rial if wallet else 0,
        )
        purchase = Purchase.objects.create(
            household_id=payer.household_id,
            payer=payer,
            store=terminal.store,
            terminal=terminal,
            idempotency_key=idempotency_key,
            request_fingerprint=fingerprint,
            paid_with=paid_with,
            card_bin=card_bin,
            card_last4=card_last4,
            base_total_rial=base_total,
            current_total_rial=current_total,
            cash_rial=split.cash_rial,
            credit_rial=split.credit_rial,
            compensation_rial=split.compensation_rial,
            created_at=now,
        )
        purchase_lines = PurchaseLine.objects.bulk_create(
            [
                PurchaseLine(
                    purchase=purchase,
                    item=item,
                    quantity=quantity,
                    unit_base_price_rial=unit_base,
                    unit_current_price_rial=unit_current,
                    base_amount_rial=base,
                    current_amount_rial=current,
                )
                for item, quantity, unit_base, unit_current, base, current in priced
            ]
        )
        post_purchase(purchase=purchase, cycle=cycle, phase=phase, wallet=wallet)
        balance_after = (wallet.balance_rial if wallet else 0) - split.credit_rial
        progress = bonus_progress(household_id=payer.household_id, cycle=cycle)
        bonus_queued = bool(
            progress and not progress.granted and split.credit_rial and progress.remaining_rial == 0
        )
        if bonus_queued:
            from settlements.tasks import grant_bonus

            household_id, cycle_id = payer.household_id, cycle.pk
            transaction.on_commit(lambda: grant_bonus.delay(household_id, cycle_id))
        body = purchase_body(
            purchase,
            terminal=terminal,
            lines=purchase_lines,
            balance_after=balance_after,
            cycle=cycle,
            progress=progress,
            bonus_queued=bonus_queued,
        )
        return purchase, body

    return _with_idempotency(
        terminal=terminal,
        key=idempotency_key,
        operation=IdempotencyOperation.PURCHASE,
        fingerprint=fingerprint,
        work=work,
        status=201,
    )


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

    def work() -> tuple[Purchase, dict[str, Any]]:
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
        return purchase, body

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
