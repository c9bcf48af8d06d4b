"""Persian text helpers: digits, Arabic letter variants, Jalali dates.

People type Persian (۰–۹) or Arabic-Indic (٠–٩) digits and Arabic ي/ك as often as Latin
digits and Persian ی/ک; everything is normalised before it is validated or stored.
"""

import datetime as dt
import functools
import re

import jdatetime

PERSIAN_DIGITS = "۰۱۲۳۴۵۶۷۸۹"
ARABIC_DIGITS = "٠١٢٣٤٥٦٧٨٩"
LATIN_DIGITS = "0123456789"

_TO_LATIN = str.maketrans(PERSIAN_DIGITS + ARABIC_DIGITS, LATIN_DIGITS * 2)
_TO_PERSIAN = str.maketrans(LATIN_DIGITS + ARABIC_DIGITS, PERSIAN_DIGITS * 2)
_ARABIC_LETTERS = str.maketrans({"ي": "ی", "ى": "ی", "ك": "ک", "ة": "ه", "\u0640": ""})

JALALI_MONTHS = (
    "فروردین",
    "اردیبهشت",
    "خرداد",
    "تیر",
    "مرداد",
    "شهریور",
    "مهر",
    "آبان",
    "آذر",
    "دی",
    "بهمن",
    "اسفند",
)


def to_latin_digits(text: str) -> str:
    """Replace Persian and Arabic-Indic digits with ASCII digits."""
    return text.translate(_TO_LATIN)


def to_persian_digits(text: object) -> str:
    """Replace ASCII and Arabic-Indic digits with Persian digits (for display)."""
    return str(text).translate(_TO_PERSIAN)


def latin_number(text: str, *, max_digits: int = 18) -> int | None:
    """Whole number typed in Latin, Persian or Arabic-Indic digits; ``None`` for anything else.

    ``str.isdigit()`` also accepts superscripts and other digit-like characters (``²``) that
    ``int()`` then refuses, so the test is "ASCII digits after the Persian ones are mapped".
    More than ``max_digits`` digits is no number here (and beyond 4,300 ``int()`` raises)."""
    digits = to_latin_digits(text).strip()
    if not (digits and len(digits) <= max_digits and digits.isascii() and digits.isdigit()):
        return None
    return int(digits)


def has_control_characters(text: str) -> bool:
    """True for NUL and the other C0 controls but tab/newline: PostgreSQL refuses NUL in text,
    and no name, address or search a person types contains the others."""
    return any(ord(char) < 32 and char not in "\t\n\r" for char in text)


def normalize_text(text: str) -> str:
    """Arabic ي/ك to Persian ی/ک, drop tatweel, fold runs of white space."""
    return " ".join(text.translate(_ARABIC_LETTERS).split())


class JalaliDateError(ValueError):
    """A Jalali date string that is malformed or names a day that does not exist."""


_JALALI_DATE = re.compile(r"^(\d{4})[/\-](\d{1,2})[/\-](\d{1,2})$")


@functools.lru_cache(maxsize=65_536)  # registry files repeat the same dates many times
def parse_jalali_date(text: str) -> dt.date:
    """Parse ``YYYY/MM/DD`` (or with ``-``), in any digits, to a Gregorian date."""
    match = _JALALI_DATE.match(to_latin_digits(text.strip()))
    if not match:
        raise JalaliDateError("تاریخ باید به شکل ۱۴۰۲/۰۶/۰۱ باشد")
    year, month, day = (int(part) for part in match.groups())
    try:
        return jdatetime.date(year, month, day).togregorian()
    except ValueError as exc:
        raise JalaliDateError("چنین روزی در تقویم وجود ندارد") from exc


def jalali(value: dt.date) -> jdatetime.date:
    return jdatetime.date.fromgregorian(date=value)


def format_jalali_date(value: dt.date | dt.datetime, *, with_month_name: bool = True) -> str:
    """``۱ شهریور ۱۴۰۲`` (or ``۱۴۰۲/۰۶/۰۱``). Aware datetimes are shown in Asia/Tehran."""
    if isinstance(value, dt.datetime):
        value = _tehran(value).date()
    j = jalali(value)
    if with_month_name:
        return to_persian_digits(f"{j.day} {JALALI_MONTHS[j.month - 1]} {j.year}")
    return to_persian_digits(f"{j.year:04d}/{j.month:02d}/{j.day:02d}")


def format_jalali_datetime(value: dt.datetime) -> str:
    """``۱ شهریور ۱۴۰۲، ساعت ۱۴:۰۵`` in Asia/Tehran."""
    local = _tehran(value)
    return f"{format_jalali_date(local.date())}، ساعت {to_persian_digits(local.strftime('%H:%M'))}"


def jalali_month_key(value: dt.date) -> str:
    """The Jalali month a date falls in, as ``1402-06`` (the key of a credit cycle)."""
    j = jalali(value)
    return f"{j.year:04d}-{j.month:02d}"


def _tehran(value: dt.datetime) -> dt.datetime:
    from django.utils import timezone

    if timezone.is_aware(value):
        return timezone.localtime(value)
    return value
