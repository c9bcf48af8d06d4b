"""Form fields every officer form shares, and what the admins do with what an officer typed.

Officers type Persian or Latin digits, with or without thousands separators, and Jalali dates;
these fields take all of them and show stored values back the way people read them. A service's
``ValidationError`` is shown next to the form field it is about (``errors_for``).
"""

import datetime as dt
import re
from collections.abc import Callable
from typing import Any, TypeVar

from django import forms
from django.core.exceptions import ValidationError

from kalabarg.lib.identifiers import IdentifierError
from kalabarg.lib.money import group_thousands
from kalabarg.lib.persian import (
    JalaliDateError,
    format_jalali_date,
    parse_jalali_date,
    to_latin_digits,
    to_persian_digits,
)

# The largest amount an officer may type (far above any real figure, far below the bigint limit).
MAX_RIAL = 10**15

_TERMINAL_ID = re.compile(r"[0-9]{8}")
_DATE_PARTS = re.compile(r"([0-9]{4})[/\-]([0-9]{1,2})[/\-]([0-9]{1,2})")

T = TypeVar("T")


def errors_for(error: ValidationError, field: str) -> ValidationError:
    """A service's ``{field: [...]}`` error as a plain error, for a form field's ``clean_<field>``."""
    if hasattr(error, "error_dict"):
        return ValidationError(error.error_dict.get(field) or error.messages)
    return error


def clean_identifier(value: str | None, normalizer: Callable[[str], T]) -> T:
    """``normalizer(value)`` (national code, mobile, Sheba, card), its refusal as a form error."""
    try:
        return normalizer(value or "")
    except IdentifierError as exc:
        raise ValidationError(exc.message, code=exc.code) from exc


def identifier_field(label: str, **attrs: str) -> forms.CharField:
    """A lenient text box for an identifier (spaces, dashes, Persian digits); clean_* normalises."""
    return forms.CharField(
        label=label,
        max_length=64,
        required=False,  # the normaliser's own message says what is missing
        widget=forms.TextInput(attrs={"dir": "ltr", "autocomplete": "off", **attrs}),
    )


def typed_terminal_id(term: str) -> str | None:
    """The 8-digit POS terminal id an officer typed into a search box (any digits, spaces,
    dashes), or None when the term is not one."""
    compact = re.sub(r"[\s\-]", "", to_latin_digits(term))
    return compact if _TERMINAL_ID.fullmatch(compact) else None


class RialInput(forms.TextInput):
    """Shows a stored amount as ``۲٬۰۰۰٬۰۰۰``; what the officer typed is shown back as typed."""

    def format_value(self, value: Any) -> str | None:
        if isinstance(value, int):
            return to_persian_digits(group_thousands(value))
        return super().format_value(value)


class RialField(forms.Field):
    """A whole number of rials, typed in any digits, with or without thousands separators."""

    widget = RialInput

    def __init__(
        self,
        *,
        minimum: int = 0,
        below_minimum: str = "مبلغ نمی‌تواند منفی باشد",
        empty_value: int | None = None,
        **kwargs: Any,
    ) -> None:
        self.minimum = minimum
        self.below_minimum = below_minimum
        self.empty_value = empty_value
        kwargs.setdefault("error_messages", {"required": "مبلغ را به ریال وارد کنید"})
        kwargs.setdefault(
            "widget", RialInput(attrs={"dir": "ltr", "inputmode": "numeric", "size": 12})
        )
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> int | None:
        if isinstance(value, int):
            return value
        text = to_latin_digits(str(value or "")).strip()
        for separator in (",", "٬", "،", " ", "\u200c", "_"):
            text = text.replace(separator, "")
        text = text.replace("−", "-")
        if not text:
            return self.empty_value
        if not re.fullmatch(r"-?[0-9]+", text):
            raise ValidationError(
                "مبلغ باید عدد صحیح ریال باشد (بدون اعشار و حروف)", code="amount_not_integer"
            )
        return int(text)

    def validate(self, value: Any) -> None:
        super().validate(value)
        if value is None:
            return
        if value < self.minimum:
            raise ValidationError(self.below_minimum, code="amount_below_minimum")
        if value > MAX_RIAL:
            raise ValidationError("این مبلغ بیش از اندازه بزرگ است", code="amount_too_large")


class DecileField(forms.Field):
    """A decile 1..10, typed in any digits."""

    widget = forms.TextInput

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("error_messages", {"required": "دهک را وارد کنید"})
        kwargs.setdefault(
            "widget", forms.TextInput(attrs={"dir": "ltr", "inputmode": "numeric", "size": 3})
        )
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> int | None:
        if isinstance(value, int):
            return value
        text = to_latin_digits(str(value or "")).strip()
        if not text:
            return None
        if not re.fullmatch(r"-?[0-9]+", text):
            raise ValidationError("دهک باید عددی از ۱ تا ۱۰ باشد", code="decile_not_integer")
        return int(text)

    def validate(self, value: Any) -> None:
        super().validate(value)
        if value is not None and not 1 <= value <= 10:
            raise ValidationError("دهک باید عددی از ۱ تا ۱۰ باشد", code="decile_out_of_range")


class JalaliDateInput(forms.TextInput):
    """Shows a stored date as ``۱۴۰۲/۰۶/۰۱``."""

    def format_value(self, value: Any) -> str | None:
        if isinstance(value, dt.date):
            return format_jalali_date(value, with_month_name=False)
        return super().format_value(value)


class JalaliDateField(forms.DateField):
    """A Jalali date ``۱۴۰۲/۰۶/۰۱`` (any digits); a Gregorian ``2023-08-23`` is accepted too."""

    widget = JalaliDateInput

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "widget",
            JalaliDateInput(attrs={"dir": "ltr", "size": 12, "placeholder": "۱۴۰۲/۰۶/۰۱"}),
        )
        kwargs.setdefault("help_text", "تاریخ شمسی، مانند ۱۴۰۲/۰۶/۰۱")
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> dt.date | None:
        if value in self.empty_values:
            return None
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        text = to_latin_digits(str(value)).strip()
        match = _DATE_PARTS.fullmatch(text)
        if match is None:
            raise ValidationError("تاریخ را به شکل ۱۴۰۲/۰۶/۰۱ بنویسید", code="date_format")
        if int(match.group(1)) < 1700:
            try:
                return parse_jalali_date(text)
            except JalaliDateError as exc:
                raise ValidationError(str(exc), code="date_invalid") from exc
        try:
            return dt.date(*(int(part) for part in match.groups()))
        except ValueError as exc:
            raise ValidationError("چنین روزی در تقویم وجود ندارد", code="date_invalid") from exc
