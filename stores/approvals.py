"""The stores' changes that wait for a second officer (four-eyes, the ``approvals`` app).

- ``item_price``: new base or current prices of one item (the new rows of one save of its page,
  or one row of the price list's add form). Checked with ``services.validate_new_price`` when
  asked; applied with ``services.set_price`` (author: the maker). A price never takes effect
  before its approval: a moment that has passed by then becomes the moment of approval.
- ``store_sheba``: a store's new Sheba (the rest of the store form saves at once); applied with
  ``services.change_store_sheba``.
- ``terminal_key``: a new API key for a terminal; issued on approval with
  ``services.issue_terminal_key`` and shown once to the approving officer, never stored here.

Registered when the app starts (``StoresConfig.ready``); the admin proposes, never writes.
"""

import datetime as dt
from collections.abc import Sequence
from typing import Any, TypeVar

from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import User
from django.db.models import Model
from django.utils import timezone
from django.utils.html import format_html

from approvals.models import ChangeRequest
from approvals.registry import Applied, ChangeKind, register
from kalabarg.lib import admin_display as show
from kalabarg.lib.errors import field_error
from kalabarg.lib.persian import to_persian_digits
from stores import selectors, services
from stores.models import BasketItem, ItemPrice, PriceKind, Store, Terminal

ITEM_PRICE = "item_price"
STORE_SHEBA = "store_sheba"
TERMINAL_KEY = "terminal_key"

M = TypeVar("M", bound=Model)


def _target(model: type[M], change: ChangeRequest) -> M:
    row = model._default_manager.filter(pk=change.target_id).first() if change.target_id else None
    if row is None:
        raise field_error(
            field="target", message="موردی که این درخواست درباره آن است پیدا نشد", code="no_target"
        )
    return row


def log_applied(*, checker: User, obj: Model, change: ChangeRequest) -> None:
    """The row's admin history says what changed, on whose request and with whose approval."""
    LogEntry.objects.log_actions(
        user_id=checker.pk,
        queryset=[obj],
        action_flag=CHANGE,
        change_message=(
            f"تأیید درخواست شماره {to_persian_digits(change.pk)}: {change.summary} — "
            f"درخواست‌دهنده: {change.maker.get_username()}"
        ),
        single_object=True,
    )


# --- New item prices ------------------------------------------------------------------------------


def price_payload(*, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The request's payload for new price rows (``kind``, ``price_rial``, ``effective_from``, ``reason``)."""
    return {
        "prices": [
            {
                "kind": row["kind"],
                "price_rial": row["price_rial"],
                "effective_from": row["effective_from"].astimezone(dt.UTC).isoformat(),
                "reason": (row.get("reason") or "").strip(),
            }
            for row in rows
        ]
    }


def _asked_prices(change: ChangeRequest) -> list[dict[str, Any]]:
    return [
        {**row, "effective_from": dt.datetime.fromisoformat(row["effective_from"])}
        for row in change.payload.get("prices", [])
    ]


def _check_prices(change: ChangeRequest) -> None:
    item = _target(BasketItem, change)
    rows = _asked_prices(change)
    if not rows:
        raise field_error(field="price_rial", message="قیمتی وارد نشده است", code="price_missing")
    kinds = [row["kind"] for row in rows]
    if len(set(kinds)) != len(kinds):
        raise field_error(
            field="kind",
            message="در هر درخواست برای هر نوع قیمت (پایه یا روز) یک ردیف بیفزایید",
            code="price_kind_twice",
        )
    for row in rows:
        services.validate_new_price(item=item, **row)


def _apply_prices(change: ChangeRequest, checker: User) -> Applied:
    item = _target(BasketItem, change)
    now = timezone.now()
    prices: list[ItemPrice] = []
    for row in _asked_prices(change):
        # Nothing is in force before approval: a moment already past takes effect now.
        prices.append(
            services.set_price(
                item=item,
                kind=row["kind"],
                price_rial=row["price_rial"],
                effective_from=max(row["effective_from"], now),
                reason=row["reason"],
                created_by=change.maker,
            )
        )
    log_applied(checker=checker, obj=item, change=change)
    return Applied(
        result={
            "قیمت‌های ثبت‌شده": "، ".join(to_persian_digits(price.pk) for price in prices),
            "از": "، ".join(show.when(price.effective_from) for price in prices),
        }
    )


def _describe_prices(change: ChangeRequest) -> list[tuple[str, str]]:
    item = BasketItem.objects.filter(pk=change.target_id).first()
    rows: list[tuple[str, str]] = [("قلم", item.name if item else change.target_id)]
    for row in _asked_prices(change):
        label = PriceKind(row["kind"]).label
        asked = format_html(
            "{} از {} (اگر این زمان پیش از تأیید بگذرد، از لحظه تأیید)؛ دلیل: {}",
            show.rial(row["price_rial"]),
            show.when(row["effective_from"]),
            row["reason"],
        )
        if change.is_pending and item is not None:
            now = selectors.price_at(item_id=item.pk, kind=row["kind"], at=timezone.now())
            asked = format_html(
                "اکنون {}؛ پیشنهادی {}", show.rial(now.price_rial if now else None), asked
            )
        rows.append((label, asked))
    return rows


# --- A store's Sheba ----------------------------------------------------------------------------


def sheba_payload(*, store: Store, sheba: str) -> dict[str, str]:
    return {"sheba": sheba, "old_sheba": store.sheba}


def _check_sheba(change: ChangeRequest) -> None:
    services.validate_new_sheba(store=_target(Store, change), sheba=change.payload.get("sheba", ""))


def _apply_sheba(change: ChangeRequest, checker: User) -> Applied:
    store = services.change_store_sheba(
        store=_target(Store, change), sheba=change.payload.get("sheba", "")
    )
    log_applied(checker=checker, obj=store, change=change)
    return Applied(result={"شبای تازه": store.sheba})


def _describe_sheba(change: ChangeRequest) -> list[tuple[str, str]]:
    store = Store.objects.filter(pk=change.target_id).first()
    return [
        ("فروشگاه", show.change_link(store, store.name) if store else change.target_id),
        ("شبای پیشین", format_html('<span dir="ltr">{}</span>', change.payload.get("old_sheba"))),
        ("شبای تازه", format_html('<span dir="ltr">{}</span>', change.payload.get("sheba"))),
    ]


# --- A terminal's API key -----------------------------------------------------------------------


def key_payload(*, terminal: Terminal) -> dict[str, Any]:
    return {"terminal_id": terminal.terminal_id, "had_key": bool(terminal.api_key_hash)}


def _check_key(change: ChangeRequest) -> None:
    _target(Terminal, change)


def _apply_key(change: ChangeRequest, checker: User) -> Applied:
    terminal = _target(Terminal, change)
    key = services.issue_terminal_key(terminal=terminal)
    log_applied(checker=checker, obj=terminal, change=change)
    return Applied(
        result={"پایانه": terminal.terminal_id, "صدور کلید": show.when(terminal.api_key_issued_at)},
        show_once=key,
        message=f"کلید تازه پایانه {terminal.terminal_id} صادر شد؛ کلید قبلی دیگر کار نمی‌کند.",
    )


def _describe_key(change: ChangeRequest) -> list[tuple[str, str]]:
    terminal = Terminal.objects.select_related("store").filter(pk=change.target_id).first()
    if terminal is None:
        return [("پایانه", change.payload.get("terminal_id", ""))]
    return [
        ("پایانه", show.change_link(terminal, terminal.terminal_id)),
        ("فروشگاه", terminal.store.name),
        (
            "کلید هنگام درخواست",
            "داشت (با تأیید باطل می‌شود)" if change.payload.get("had_key") else "نداشت",
        ),
        (
            "با تأیید",
            "کلید تازه صادر می‌شود و فقط یک بار به تأییدکننده نشان داده می‌شود؛ "
            "در این درخواست نگه داشته نمی‌شود.",
        ),
    ]


def register_kinds() -> None:
    """Called once from ``StoresConfig.ready``."""
    register(
        ChangeKind(
            code=ITEM_PRICE,
            label="قیمت تازه قلم سبد",
            check=_check_prices,
            apply=_apply_prices,
            describe=_describe_prices,
        )
    )
    register(
        ChangeKind(
            code=STORE_SHEBA,
            label="شبای فروشگاه",
            check=_check_sheba,
            apply=_apply_sheba,
            describe=_describe_sheba,
        )
    )
    register(
        ChangeKind(
            code=TERMINAL_KEY,
            label="صدور کلید API پایانه",
            check=_check_key,
            apply=_apply_key,
            describe=_describe_key,
        )
    )
