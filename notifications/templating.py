"""SMS texts: the placeholders each kind may use, rendering with Persian digits, and the no-link rule.

Officers write templates with ``{name}`` placeholders. Rendering fills them from a context:
a key ending ``_rial`` is money and fills the placeholder without the suffix, shown in the
display unit (``{bonus}`` ← ``bonus_rial=1_200_000`` → ``۱۲۰٬۰۰۰ تومان``); numbers and every
other value are shown with Persian digits; dates in Jalali with the month name.

Official messages never carry links (the programme's anti-phishing rule, told to people on the
login page): a template, and every rendered text, is refused if it contains anything a phone
would turn into a link — a scheme (``https://``, ``tel:``), ``www.``, a bare domain
(``example.ir``, ``bit . ly``, ``example[.]ir``) or an IP address.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Mapping

from django.core.exceptions import ValidationError

from kalabarg.lib.money import format_money
from kalabarg.lib.persian import format_jalali_date, to_latin_digits, to_persian_digits

MAX_BODY_LENGTH = 500

# The placeholders each kind of message may use (the context keys, ``_rial`` dropped).
PLACEHOLDERS: dict[str, tuple[str, ...]] = {
    "decile_notice": ("decile", "credit", "threshold", "bonus", "phase", "basis"),
    "bonus_credited": ("amount", "cycle"),
    "objection_decided": ("decision", "decile"),
    "monthly_balance": ("balance", "month"),
    "login_code": ("code", "minutes"),
    "purchase_made": ("store", "credit", "balance"),
    "purchase_reversed": ("store", "credit", "balance"),
}

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")

_DOT = r"(?:\.|\[\.\]|\(\.\)|。|｡|\s\.\s)"
_LINK_PATTERNS = (
    re.compile(r"[a-z][a-z0-9+.\-]*\s*:\s*/\s*/"),  # any scheme://
    re.compile(r"\b(?:mailto|tel|sms|smsto|tg|intent|javascript|whatsapp|market)\s*:"),
    re.compile(r"\bwww\s*" + _DOT),
    # a bare domain: a label, a dot, and letters (ir, com, co.ir, shop …)
    re.compile(r"\b[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?\s*" + _DOT + r"\s*[a-z][a-z0-9\-]*[a-z]\b"),
    re.compile(r"\b\d{1,3}(?:\s*" + _DOT + r"\s*\d{1,3}){3}\b"),  # an IP address
)


def find_link(text: str) -> str | None:
    """The first thing in ``text`` that would be a link on a phone, or None."""
    folded = to_latin_digits(unicodedata.normalize("NFKC", text)).lower()
    # Zero-width characters can hide a domain from the eye and from a naive check.
    folded = re.sub(r"[\u200b\u200d\u2060\ufeff]", "", folded)
    for pattern in _LINK_PATTERNS:
        match = pattern.search(folded)
        if match:
            return match.group(0).strip()
    return None


def link_error(text: str, *, field: str = "body") -> ValidationError | None:
    found = find_link(text)
    if found is None:
        return None
    return ValidationError(
        {
            field: ValidationError(
                "پیامک رسمی کالابرگ نباید پیوند یا نشانی وب داشته باشد؛ «%(found)s» را بردارید.",
                code="sms_template_has_link",
                params={"found": found},
            )
        }
    )


def placeholders_in(body: str) -> list[str]:
    return _PLACEHOLDER.findall(body)


def validate_template(*, kind: str, body: str) -> None:
    """Refuse a template with a link, an unknown placeholder, or too long a text (field errors)."""
    error = link_error(body)
    if error is not None:
        raise error
    allowed = PLACEHOLDERS.get(kind, ())
    unknown = sorted({name for name in placeholders_in(body) if name not in allowed})
    if unknown:
        raise ValidationError(
            {
                "body": ValidationError(
                    "این جای‌نگهدارها برای این نوع پیامک تعریف نشده‌اند: %(names)s. "
                    "جای‌نگهدارهای مجاز: %(allowed)s",
                    code="sms_template_unknown_placeholder",
                    params={
                        "names": "، ".join("{" + n + "}" for n in unknown),
                        "allowed": "، ".join("{" + n + "}" for n in allowed),
                    },
                )
            }
        )
    if len(body) > MAX_BODY_LENGTH:
        raise ValidationError(
            {
                "body": ValidationError(
                    "متن پیامک حداکثر %(max)s نویسه است.",
                    code="sms_template_too_long",
                    params={"max": to_persian_digits(MAX_BODY_LENGTH)},
                )
            }
        )


def display_value(value: object) -> str:
    """One context value as people read it: Persian digits, Jalali dates."""
    if isinstance(value, dt.datetime | dt.date):
        return format_jalali_date(value)
    return to_persian_digits(value)


def display_context(context: Mapping[str, object]) -> dict[str, str]:
    """The context as the texts to put in: ``x_rial`` money becomes ``x`` in the display unit."""
    shown: dict[str, str] = {}
    for key, value in context.items():
        if key.endswith("_rial") and isinstance(value, int) and not isinstance(value, bool):
            shown[key.removesuffix("_rial")] = format_money(value)
        else:
            shown[key] = display_value(value)
    return shown


class MissingPlaceholder(KeyError):
    """A template names a placeholder the context does not give."""


def render(body: str, context: Mapping[str, object]) -> str:
    """Fill ``{name}`` placeholders from ``context`` (see the module docstring for the rules)."""
    shown = display_context(context)

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in shown:
            raise MissingPlaceholder(name)
        return shown[name]

    return _PLACEHOLDER.sub(fill, body)


def split_on(body: str, placeholder: str, context: Mapping[str, object]) -> tuple[str, str]:
    """Render ``body`` except ``{placeholder}`` (which must occur once at most), returned as the
    texts before and after it — for SQL that puts a per-row value in between."""
    marker = "\x00"
    rendered = render(body.replace("{" + placeholder + "}", marker, 1), context)
    if marker not in rendered:
        return rendered, ""
    before, after = rendered.split(marker, 1)
    return before, after.replace("{" + placeholder + "}", "")
