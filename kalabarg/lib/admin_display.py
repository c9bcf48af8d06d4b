"""How every officer page shows a figure, a moment, a day, a link or a progress bar.

One copy for every admin, so the pages read alike: Persian digits with a thousands separator,
money in rials (officers check figures against the ledger, never in toman), Jalali dates and
times in Tehran, and "—" where there is nothing to show.
"""

import datetime as dt
from typing import Any, cast

from django.contrib.auth.models import User
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from kalabarg.lib.money import format_money, group_thousands
from kalabarg.lib.persian import format_jalali_date, format_jalali_datetime, to_persian_digits


def officer(request: HttpRequest) -> User:
    """The admin only serves staff users, so the request's user is a real account."""
    return cast(User, request.user)


def rial(amount: int | None) -> str:
    """``۲٬۰۰۰٬۰۰۰ ریال``, or "—"."""
    return "—" if amount is None else format_money(int(amount), unit="rial")


def number(value: int | None) -> str:
    """``۱۲٬۳۴۵``, or "—"."""
    return "—" if value is None else to_persian_digits(group_thousands(int(value)))


def when(value: dt.datetime | None) -> str:
    """A moment in Jalali, Tehran time, or "—"."""
    return format_jalali_datetime(value) if value else "—"


def day(value: dt.date | None, *, empty: str = "—") -> str:
    """``۱ شهریور ۱۴۰۲ (2023-08-23)``: the Jalali date people read, and the stored Gregorian one."""
    if value is None:
        return empty
    return format_html(
        '{} <span class="quiet" dir="ltr">({})</span>', format_jalali_date(value), value.isoformat()
    )


def change_link(obj: Any, text: str) -> str:
    """A link to ``obj``'s admin page."""
    opts = obj._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, text)


def progress_bar(value: int, maximum: int, text: str) -> str:
    """``<progress>`` and its words: the bar is hidden from screen readers, never shown alone."""
    return format_html(
        '<progress value="{}" max="{}" aria-hidden="true"></progress> <span>{}</span>',
        value,
        maximum,
        text,
    )
