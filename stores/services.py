"""Writes for the basket, prices, stores and terminals: keyword-only, validated, one transaction each."""

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from households.models import City, Province
from kalabarg.lib.errors import field_error
from kalabarg.lib.hot_sql import hot_cursor
from kalabarg.lib.identifiers import (
    IdentifierError,
    normalize_mobile,
    normalize_national_code,
    normalize_sheba,
)
from kalabarg.lib.persian import normalize_text, to_latin_digits, to_persian_digits
from stores.models import (
    BasketItem,
    FlagStatus,
    ItemPrice,
    PriceKind,
    PurchaseLine,
    Store,
    StoreFlag,
    StoreStatus,
    Terminal,
    TerminalStatus,
)

# A price change must be for the present or the future, or for a past moment after which the
# item was never sold: otherwise it would change the price a recorded purchase was made at.
MAX_PRICE_RIAL = 10**12


# --- Prices -------------------------------------------------------------------------------------


def validate_new_price(
    *, item: BasketItem, kind: str, price_rial: int, effective_from: dt.datetime, reason: str
) -> None:
    """Every rule a new price row must pass; raises ``ValidationError`` naming the field."""
    if kind not in PriceKind.values:
        raise field_error(
            field="kind", message="نوع قیمت باید پایه یا روز باشد", code="price_kind_invalid"
        )
    if isinstance(price_rial, bool) or not isinstance(price_rial, int):
        raise field_error(
            field="price_rial", message="قیمت باید عدد صحیح ریال باشد", code="price_not_integer"
        )
    if price_rial <= 0:
        raise field_error(
            field="price_rial", message="قیمت باید بیشتر از صفر باشد", code="price_not_positive"
        )
    if price_rial > MAX_PRICE_RIAL:
        raise field_error(
            field="price_rial", message="قیمت بیش از حد بزرگ است", code="price_too_large"
        )
    if timezone.is_naive(effective_from):
        raise field_error(
            field="effective_from",
            message="زمان شروع قیمت باید منطقه زمانی داشته باشد",
            code="effective_from_naive",
        )
    if not reason.strip():
        raise field_error(
            field="reason", message="دلیل تغییر قیمت را بنویسید", code="reason_required"
        )
    if PurchaseLine.objects.filter(item=item, purchase__created_at__gte=effective_from).exists():
        raise field_error(
            field="effective_from",
            message="پس از این زمان با قیمت قبلی خرید انجام شده است؛ قیمت تازه را از زمانی پس از آخرین خرید ثبت کنید",
            code="price_rewrites_used_price",
        )
    if ItemPrice.objects.filter(item=item, kind=kind, effective_from=effective_from).exists():
        raise field_error(
            field="effective_from",
            message="برای همین زمان قیمتی ثبت شده است",
            code="price_moment_taken",
        )


@transaction.atomic
def set_price(
    *,
    item: BasketItem,
    kind: str,
    price_rial: int,
    effective_from: dt.datetime,
    reason: str,
    created_by: User | None,
) -> ItemPrice:
    """Add a base or current price for ``item`` from ``effective_from``. Prices are never edited."""
    # Lock the item row so a concurrent price change for the same item queues behind this one.
    BasketItem.objects.select_for_update().filter(pk=item.pk).first()
    validate_new_price(
        item=item, kind=kind, price_rial=price_rial, effective_from=effective_from, reason=reason
    )
    return ItemPrice.objects.create(
        item=item,
        kind=kind,
        price_rial=price_rial,
        effective_from=effective_from,
        reason=reason.strip(),
        created_by=created_by,
    )


def parse_price_rial(*, value: object) -> int:
    """A price typed by a person (Persian digits, thousands separators) as whole rials."""
    text = to_latin_digits(str(value)).replace(",", "").replace("٬", "").replace(" ", "").strip()
    try:
        amount = Decimal(text)
        whole = amount == amount.to_integral_value()
        rial = int(amount)
    except (ArithmeticError, ValueError):  # not a number, NaN, Infinity
        raise field_error(
            field="price_rial", message="قیمت باید عدد باشد", code="price_not_integer"
        ) from None
    if not whole:
        raise field_error(
            field="price_rial", message="قیمت باید عدد صحیح ریال باشد", code="price_not_integer"
        )
    return rial


# --- Stores ---------------------------------------------------------------------------------------


def _normalized(field: str, value: str, normalizer: Callable[[str], str]) -> str:
    try:
        return normalizer(value)
    except IdentifierError as exc:
        raise field_error(field=field, message=exc.message, code=exc.code) from exc


@transaction.atomic
def register_store(
    *,
    name: str,
    owner_national_code: str,
    owner_name: str,
    licence_number: str,
    tax_code: str,
    sheba: str,
    mobile: str,
    province: Province,
    city: City,
    address: str,
    latitude: Decimal | None = None,
    longitude: Decimal | None = None,
) -> Store:
    """Register a store as pending; an officer connects it after checking its papers."""
    if city.province_id != province.pk:
        raise field_error(
            field="city", message="این شهر در استان انتخاب‌شده نیست", code="city_not_in_province"
        )
    if not normalize_text(name):
        raise field_error(field="name", message="نام فروشگاه را وارد کنید", code="name_required")
    if not normalize_text(owner_name):
        raise field_error(
            field="owner_name",
            message="نام صاحب حساب شبا را وارد کنید",
            code="owner_name_required",
        )
    licence = to_latin_digits(licence_number).strip()
    if not licence:
        raise field_error(
            field="licence_number", message="شماره پروانه کسب را وارد کنید", code="licence_required"
        )
    if Store.objects.filter(licence_number=licence).exists():
        raise field_error(
            field="licence_number",
            message="فروشگاهی با این شماره پروانه ثبت شده است",
            code="licence_taken",
        )
    if (latitude is None) != (longitude is None):
        raise field_error(
            field="latitude",
            message="عرض و طول جغرافیایی را با هم وارد کنید",
            code="location_incomplete",
        )
    if (
        latitude is not None
        and longitude is not None
        and not (24 <= latitude <= 40 and 44 <= longitude <= 64)
    ):
        raise field_error(
            field="latitude", message="این مختصات در ایران نیست", code="location_outside_iran"
        )
    return Store.objects.create(
        name=normalize_text(name),
        owner_national_code=_normalized(
            "owner_national_code", owner_national_code, normalize_national_code
        ),
        owner_name=normalize_text(owner_name),
        licence_number=licence,
        tax_code=to_latin_digits(tax_code).strip(),
        sheba=_normalized("sheba", sheba, normalize_sheba),
        mobile=_normalized("mobile", mobile, normalize_mobile),
        province=province,
        city=city,
        address=normalize_text(address),
        latitude=latitude,
        longitude=longitude,
    )


def validate_new_sheba(*, store: Store, sheba: str) -> str:
    """The rules of ``change_store_sheba`` without the write; returns the normalised Sheba."""
    normalized = _normalized("sheba", sheba, normalize_sheba)
    if normalized == store.sheba:
        raise field_error(
            field="sheba",
            message="این شماره شبا همان شبای کنونی فروشگاه است",
            code="sheba_unchanged",
        )
    return normalized


@transaction.atomic
def change_store_sheba(*, store: Store, sheba: str) -> Store:
    """Pay ``store`` to another Sheba from now on. Four-eyes: the admin records a ``store_sheba``
    request (``stores.approvals``) and this runs when a second officer approves it."""
    store = Store.objects.select_for_update().get(pk=store.pk)
    store.sheba = validate_new_sheba(store=store, sheba=sheba)
    store.save(update_fields=["sheba"])
    return store


@transaction.atomic
def connect_store(*, store: Store, by: User | None) -> Store:
    """Connect a pending or suspended store; its terminals can sell again if they are active."""
    now = timezone.now()
    store.status = StoreStatus.CONNECTED
    store.status_reason = ""
    store.status_changed_by = by
    store.status_changed_at = now
    store.connected_at = store.connected_at or now
    store.save(
        update_fields=[
            "status",
            "status_reason",
            "status_changed_by",
            "status_changed_at",
            "connected_at",
        ]
    )
    return store


@transaction.atomic
def suspend_store(*, store: Store, reason: str, by: User | None) -> Store:
    """Suspend a store: every POS request from its terminals is refused until it is reconnected."""
    if not reason.strip():
        raise field_error(field="reason", message="دلیل تعلیق را بنویسید", code="reason_required")
    store.status = StoreStatus.SUSPENDED
    store.status_reason = reason.strip()
    store.status_changed_by = by
    store.status_changed_at = timezone.now()
    store.save(update_fields=["status", "status_reason", "status_changed_by", "status_changed_at"])
    return store


# --- Terminals and their API keys ---------------------------------------------------------------


def hash_api_key(*, key: str) -> str:
    """Keys are 256-bit random secrets, so a plain SHA-256 is enough (no slow password hash)."""
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def create_terminal(*, store: Store, terminal_id: str, psp_name: str) -> Terminal:
    """Register a POS terminal of ``store`` (active, without a key until one is issued)."""
    terminal_id = validate_new_terminal(terminal_id=terminal_id, psp_name=psp_name)
    try:
        with transaction.atomic():
            return Terminal.objects.create(
                terminal_id=terminal_id, store=store, psp_name=psp_name.strip()
            )
    except IntegrityError:  # registered concurrently
        raise field_error(
            field="terminal_id",
            message="پایانه‌ای با این شناسه ثبت شده است",
            code="terminal_id_taken",
        ) from None


@transaction.atomic
def issue_terminal_key(*, terminal: Terminal) -> str:
    """Create a new API key for ``terminal``, revoking the old one. The key is returned once."""
    key = f"{terminal.terminal_id}.{secrets.token_urlsafe(32)}"
    terminal.api_key_hash = hash_api_key(key=key)
    terminal.api_key_issued_at = timezone.now()
    terminal.save(update_fields=["api_key_hash", "api_key_issued_at"])
    return key


@dataclass(frozen=True)
class TerminalCredentials:
    """What an ``Api-Key <terminal id>.<secret>`` header claims, before the database confirms it."""

    terminal_id: str
    key: str


def parse_api_key(*, key: str) -> TerminalCredentials | None:
    """The claim in a terminal key, or None when it cannot be one (no query)."""
    terminal_id, _, secret = key.partition(".")
    if not (terminal_id and secret):
        return None
    return TerminalCredentials(terminal_id=terminal_id, key=key)


# The columns ``terminal_from_row`` reads, in order; the checkout's context read selects the same.
TERMINAL_ROW_SQL = "t.id, t.terminal_id, t.store_id, t.status, t.api_key_hash, s.name, s.status"


def terminal_from_row(*, row: Sequence[Any] | None, key: str) -> Terminal | None:
    """The terminal in ``row`` (``TERMINAL_ROW_SQL``) if its current key is ``key`` (constant-time
    comparison), else None. Only the fields a POS request needs are loaded; the rest of the
    terminal and its store load on first use (deferred fields)."""
    if row is None or row[0] is None or not row[4]:
        return None
    if not hmac.compare_digest(row[4], hash_api_key(key=key)):
        return None
    terminal = Terminal.from_db(
        connection.alias, ["id", "terminal_id", "store_id", "status", "api_key_hash"], row[:5]
    )
    terminal.store = Store.from_db(connection.alias, ["id", "name", "status"], (row[2], *row[5:]))
    return terminal


def terminal_for_key(*, key: str) -> Terminal | None:
    """The terminal whose current key is ``key``, or None: one plain statement (every POS request
    but the purchase authenticates here; the purchase checks its key in its context read)."""
    credentials = parse_api_key(key=key)
    if credentials is None:
        return None
    with hot_cursor() as cursor:
        cursor.execute(
            f"SELECT {TERMINAL_ROW_SQL} FROM stores_terminal t JOIN stores_store s ON s.id = t.store_id "  # noqa: S608 - a constant
            "WHERE t.terminal_id = %s",
            [credentials.terminal_id],
        )
        row = cursor.fetchone()
    return terminal_from_row(row=row, key=key)


@dataclass(frozen=True)
class TerminalRefusal:
    """Why a terminal's request is refused: a stable code and a Persian message (the HTTP status
    each code answers with is the API's business: ``stores.auth.TERMINAL_REFUSAL_STATUS``)."""

    code: str
    message: str


API_KEY_INVALID = TerminalRefusal("api_key_invalid", "کلید پایانه معتبر نیست")
# Every code terminal_refusal or API_KEY_INVALID can give: the refusals about the terminal itself.
TERMINAL_REFUSAL_CODES = frozenset({"api_key_invalid", "terminal_suspended", "store_not_connected"})


def terminal_refusal(*, terminal: Terminal) -> TerminalRefusal | None:
    """Why a request from this (known, rightly keyed) terminal is refused, if it is."""
    if terminal.status != TerminalStatus.ACTIVE:
        return TerminalRefusal("terminal_suspended", "این پایانه تعلیق شده است")
    if terminal.store.status != StoreStatus.CONNECTED:
        return TerminalRefusal(
            "store_not_connected", "این فروشگاه به طرح کالابرگ متصل نیست یا تعلیق شده است"
        )
    return None


def flag_payment_code_attempts(*, terminal_id: int, until: dt.datetime) -> None:
    """Show officers that terminal ``terminal_id`` is refused payment codes until ``until`` (it
    sent too many wrong ones); one UPDATE, on the failure path only."""
    Terminal.objects.filter(pk=terminal_id).update(payment_code_blocked_until=until)


@transaction.atomic
def set_terminal_status(*, terminal: Terminal, status: str, reason: str = "") -> Terminal:
    """Suspend (with a reason) or reactivate a terminal; a suspended terminal's requests are refused."""
    if status not in TerminalStatus.values:
        raise field_error(
            field="status", message="وضعیت پایانه معتبر نیست", code="terminal_status_invalid"
        )
    if status == TerminalStatus.SUSPENDED and not reason.strip():
        raise field_error(field="reason", message="دلیل تعلیق را بنویسید", code="reason_required")
    terminal.status = status
    terminal.status_reason = reason.strip() if status == TerminalStatus.SUSPENDED else ""
    terminal.save(update_fields=["status", "status_reason"])
    return terminal


def validate_new_terminal(*, terminal_id: str, psp_name: str) -> str:
    """The rules of ``create_terminal`` without the write (for forms); returns the normalised id."""
    terminal_id = to_latin_digits(terminal_id).strip()
    if not (terminal_id.isascii() and terminal_id.isdigit() and len(terminal_id) == 8):
        raise field_error(
            field="terminal_id", message="شناسه پایانه باید ۸ رقم باشد", code="terminal_id_format"
        )
    if not psp_name.strip():
        raise field_error(
            field="psp_name", message="نام شرکت پرداخت را وارد کنید", code="psp_name_required"
        )
    if Terminal.objects.filter(terminal_id=terminal_id).exists():
        raise field_error(
            field="terminal_id",
            message="پایانه‌ای با این شناسه ثبت شده است",
            code="terminal_id_taken",
        )
    return terminal_id


# --- Anomaly flags (raised by the nightly job in settlements.services.anomalies) ----------------

CLOSE_REASON_MAX_LENGTH = 500


@transaction.atomic
def close_flag(*, flag: StoreFlag, by: User, reason: str) -> StoreFlag:
    """Close an open anomaly flag after review, with the officer's reason (kept with their name).

    A flag blocks nothing, so closing it changes nothing else; the same pattern seen again by a
    later night's run opens a new flag."""
    reason = normalize_text(reason)
    if not reason:
        raise field_error(
            field="reason", message="دلیل بستن هشدار را بنویسید", code="reason_required"
        )
    if len(reason) > CLOSE_REASON_MAX_LENGTH:
        raise field_error(
            field="reason",
            message=f"دلیل بستن حداکثر {to_persian_digits(CLOSE_REASON_MAX_LENGTH)} نویسه است",
            code="reason_too_long",
        )
    # Locked, so two officers closing the same flag at once cannot both record their reason.
    locked = StoreFlag.objects.select_for_update().get(pk=flag.pk)
    if locked.status != FlagStatus.OPEN:
        raise field_error(
            field="flag", message="این هشدار پیش‌تر بسته شده است", code="flag_already_closed"
        )
    locked.status = FlagStatus.CLOSED
    locked.closed_by = by
    locked.closed_at = timezone.now()
    locked.close_reason = reason
    locked.save(update_fields=["status", "closed_by", "closed_at", "close_reason"])
    return locked
