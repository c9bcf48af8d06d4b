"""Template filters for Persian pages: ``{{ n|fa_digits }}``, ``{{ d|jalali }}``, ``{{ r|toman }}``."""

import datetime as dt

from django import template

from kalabarg.lib import money, persian

register = template.Library()


@register.filter
def fa_digits(value: object) -> str:
    if value is None:
        return ""
    return persian.to_persian_digits(value)


@register.filter
def fa_number(value: int | None) -> str:
    if value is None:
        return ""
    return persian.to_persian_digits(money.group_thousands(int(value)))


@register.filter
def jalali(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return ""
    return persian.format_jalali_date(value)


@register.filter
def jalali_numeric(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return ""
    return persian.format_jalali_date(value, with_month_name=False)


@register.filter
def jalali_datetime(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    return persian.format_jalali_datetime(value)


@register.filter
def toman(amount_rial: int | None) -> str:
    """An amount stored in rials, shown in the display unit with Persian digits."""
    if amount_rial is None:
        return ""
    return money.format_money(int(amount_rial))
