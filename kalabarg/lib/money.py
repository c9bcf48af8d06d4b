"""Money is whole rials (``int``); people see it in toman (or rial after a redenomination)."""

from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings

from kalabarg.lib.persian import to_persian_digits

RIALS_PER_TOMAN = 10
PERSIAN_THOUSANDS_SEPARATOR = "٬"


def round_rial(value: Decimal) -> int:
    """Round a computed amount once, half up, to a whole rial."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def group_thousands(number: int) -> str:
    return f"{number:,}".replace(",", PERSIAN_THOUSANDS_SEPARATOR)


def format_money(amount_rial: int, *, unit: str | None = None, with_unit: bool = True) -> str:
    """``۲۰۰٬۰۰۰ تومان`` from 2,000,000 rials. A toman figure keeps its fraction if there is one."""
    unit = unit or settings.MONEY_DISPLAY_UNIT
    if unit == "toman":
        whole, remainder = divmod(abs(amount_rial), RIALS_PER_TOMAN)
        text = group_thousands(whole) + (f".{remainder}" if remainder else "")
        label = "تومان"
    else:
        text = group_thousands(abs(amount_rial))
        label = "ریال"
    sign = "−" if amount_rial < 0 else ""
    text = to_persian_digits(sign + text).replace(".", "٫")
    return f"{text} {label}" if with_unit else text
