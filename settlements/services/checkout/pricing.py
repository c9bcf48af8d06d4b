"""The basket's lines: checked, then priced at the prices in force, rounded per line, half up."""

from dataclasses import dataclass
from decimal import Decimal

from kalabarg.lib.money import round_rial
from settlements.services.checkout.errors import CheckoutError
from settlements.services.payments import PricedLine
from stores.selectors import ItemPriceRow

MAX_LINES = 30
MAX_QUANTITY = Decimal("100")  # units of one item in one purchase; larger is a typo or abuse


@dataclass(frozen=True)
class LineRequest:
    item: str
    quantity: Decimal


def validate_lines(*, lines: list[LineRequest]) -> None:
    """The lines' shape, before any read: a non-empty basket of distinct items in sane quantities."""
    if not lines:
        raise CheckoutError("basket_empty", "سبد خرید خالی است", field="lines")
    if len(lines) > MAX_LINES:
        raise CheckoutError("basket_too_large", f"حداکثر {MAX_LINES} قلم در هر خرید", field="lines")
    codes = [line.item for line in lines]
    if len(set(codes)) != len(codes):
        raise CheckoutError("line_duplicate_item", "هر قلم فقط یک بار در سبد بیاید", field="lines")
    for index, line in enumerate(lines):
        if line.quantity <= 0:
            raise CheckoutError(
                "quantity_not_positive",
                "مقدار باید بیشتر از صفر باشد",
                field=f"lines[{index}].quantity",
            )
        if line.quantity > MAX_QUANTITY:
            raise CheckoutError(
                "quantity_too_large",
                "مقدار این قلم بیش از حد مجاز است",
                field=f"lines[{index}].quantity",
            )
        if line.quantity != line.quantity.quantize(Decimal("0.001")):
            raise CheckoutError(
                "quantity_precision",
                "مقدار حداکثر سه رقم اعشار دارد",
                field=f"lines[{index}].quantity",
            )


def priced_lines(*, lines: list[LineRequest], prices: dict[str, ItemPriceRow]) -> list[PricedLine]:
    """Each line at its item's base and current prices in force, rounded per line, half up.

    A line's base amount never exceeds its current amount: nobody pays more than today's price."""
    for index, line in enumerate(lines):
        found = prices.get(line.item)
        if found is None:
            raise CheckoutError(
                "item_unknown",
                f"قلم «{line.item}» در سبد کالابرگ نیست",
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
                field=f"lines[{index}].item",
            )
        current = round_rial(price.current_price_rial * line.quantity)
        priced.append(
            PricedLine(
                item_id=price.id,
                code=price.code,
                name=price.name,
                quantity=line.quantity,
                unit_base_price_rial=price.base_price_rial,
                unit_current_price_rial=price.current_price_rial,
                base_amount_rial=min(round_rial(price.base_price_rial * line.quantity), current),
                current_amount_rial=current,
            )
        )
    return priced
