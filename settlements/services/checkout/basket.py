"""Who pays and what: the request as the checkout holds it, the payer's checks and the priced basket."""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from households.services import redeem_payment_code
from kalabarg.lib.identifiers import IdentifierError, card_hash, normalize_card_number
from kalabarg.lib.persian import to_persian_digits
from settlements.selectors import PurchaseContext, purchase_context
from settlements.services.checkout.answers import purchase_answer_known_before_the_write
from settlements.services.checkout.errors import CheckoutError
from settlements.services.checkout.pricing import LineRequest, priced_lines
from settlements.services.payments import PricedLine
from stores.models import PaymentMethod, Terminal
from stores.selectors import ItemPriceRow


@dataclass(frozen=True)
class PurchaseRequest:
    """One purchase request once its terminal is confirmed: what every step after the first read
    needs (``created_at`` is the purchase's moment; ``today`` and ``cycle_key`` derive from it)."""

    terminal: Terminal
    idempotency_key: str
    fingerprint: str
    by_card: bool
    card_hash: str | None
    card_bin: str
    card_last4: str
    payment_code: str
    lines: list[LineRequest]
    prices: dict[str, ItemPriceRow]
    created_at: dt.datetime
    today: dt.date
    cycle_key: str


@dataclass(frozen=True)
class Basket:
    """A purchase that passed every check, priced, ready to be written."""

    context: PurchaseContext
    household_id: int
    person_id: int
    lines: list[PricedLine]
    base_total_rial: int
    current_total_rial: int
    paid_with: str
    known: dict[str, Any]


def card_parts(*, card_number: str) -> tuple[str, str, str]:
    """(keyed hash, BIN, last four) of a well-formed card number, or a refusal naming the field."""
    try:
        card = normalize_card_number(card_number)
    except IdentifierError as exc:
        raise CheckoutError(exc.code, exc.message, field="card_number") from exc
    return card_hash(card.number, key=settings.CARD_HASH_KEY), card.bin, card.last4


def read_context(*, request: PurchaseRequest, household_id: int | None = None) -> PurchaseContext:
    """The context again, for the confirmed terminal: by the card, or by the head of
    ``household_id`` (a payment code's household)."""
    return purchase_context(
        terminal_id=request.terminal.pk,
        idempotency_key=request.idempotency_key,
        today=request.today,
        cycle_key=request.cycle_key,
        card_hash=request.card_hash if household_id is None else None,
        household_id=household_id,
    )


def redeem_code(*, code: str) -> int:
    """The household whose head made this payment code (now used up), or a refusal."""
    if len(code) != 8 or not code.isascii() or not code.isdigit():
        raise CheckoutError("payment_code_format", "کد خرید باید ۸ رقم باشد", field="payment_code")
    record = redeem_payment_code(code=code)
    if record is None:
        raise CheckoutError(
            "payment_code_invalid", "کد خرید نادرست، استفاده‌شده یا منقضی است", field="payment_code"
        )
    return record.household_id


def _check_payer(context: PurchaseContext, *, by_card: bool) -> None:
    if context.person_id is None:
        if by_card:
            raise CheckoutError(
                "card_not_registered",
                "این کارت در سامانه کالابرگ ثبت نشده است",
                field="card_number",
            )
        raise CheckoutError("payment_code_invalid", "کد خرید نادرست است", field="payment_code")
    # A closed card is refused before who holds it matters: the bank has closed it.
    if by_card and context.card_closed:
        raise CheckoutError(
            "card_closed",
            "این کارت از سوی بانک بسته شده است؛ با کارت دیگری به نام سرپرست پرداخت کنید",
            field="card_number",
        )
    if by_card and not context.is_head:
        raise CheckoutError(
            "card_not_head", "کالابرگ فقط با کارت سرپرست خانوار پرداخت می‌شود", field="card_number"
        )


def prepare_basket(*, request: PurchaseRequest, context: PurchaseContext) -> Basket:
    """The payer may pay today and the basket meets the phase's rules: the priced basket."""
    _check_payer(context, by_card=request.by_card)
    if not context.eligible_today or context.household_id is None or context.person_id is None:
        raise CheckoutError(
            "household_not_eligible",
            "این خانوار در دهک‌های مشمول طرح کالابرگ نیست",
            field="card_number" if request.by_card else "payment_code",
        )
    minimum = context.phase_min_distinct_items
    if minimum and len(request.lines) < minimum:
        raise CheckoutError(
            "below_min_items",
            f"در هر خرید دست‌کم {to_persian_digits(minimum)} قلم متفاوت لازم است",
            field="lines",
        )
    priced = priced_lines(lines=request.lines, prices=request.prices)
    base_total = sum(line.base_amount_rial for line in priced)
    current_total = sum(line.current_amount_rial for line in priced)
    if base_total <= 0:
        raise CheckoutError("basket_empty", "مبلغ سبد صفر است", field="lines")
    paid_with = PaymentMethod.CARD if request.by_card else PaymentMethod.PAYMENT_CODE
    return Basket(
        context=context,
        household_id=context.household_id,
        person_id=context.person_id,
        lines=priced,
        base_total_rial=base_total,
        current_total_rial=current_total,
        paid_with=paid_with,
        known=purchase_answer_known_before_the_write(
            created_at=request.created_at,
            terminal=request.terminal,
            paid_with=paid_with,
            lines=priced,
            base_total_rial=base_total,
            current_total_rial=current_total,
        ),
    )
