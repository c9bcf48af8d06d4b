"""Reads of the basket, prices and stores."""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Case, IntegerField, OuterRef, QuerySet, Subquery, Value, When

from stores.models import (
    BasketItem,
    FlagStatus,
    ItemPrice,
    PriceKind,
    Store,
    StoreFlag,
    StoreStatus,
    Terminal,
)


def price_at(*, item_id: int, kind: str, at: dt.datetime) -> ItemPrice | None:
    """The price of ``kind`` in force at ``at``: latest ``effective_from <= at`` (one index scan)."""
    return (
        ItemPrice.objects.filter(item_id=item_id, kind=kind, effective_from__lte=at)
        .order_by("-effective_from")
        .first()
    )


def price_in_force_subquery(*, kind: str, at: dt.datetime) -> Subquery:
    return Subquery(
        ItemPrice.objects.filter(item_id=OuterRef("pk"), kind=kind, effective_from__lte=at)
        .order_by("-effective_from")
        .values("price_rial")[:1]
    )


@dataclass(frozen=True)
class PricedItem:
    item: BasketItem
    base_price_rial: int | None
    current_price_rial: int | None


def basket_with_prices(
    *, at: dt.datetime, items: QuerySet[BasketItem] | None = None
) -> list[PricedItem]:
    """Every active item (or ``items``) with its base and current price at ``at``, in one query."""
    queryset = items if items is not None else BasketItem.objects.filter(is_active=True)
    annotated = queryset.annotate(
        base_price_at=price_in_force_subquery(kind=PriceKind.BASE, at=at),
        current_price_at=price_in_force_subquery(kind=PriceKind.CURRENT, at=at),
    ).order_by("display_order", "code")
    return [PricedItem(item, item.base_price_at, item.current_price_at) for item in annotated]


def price_history(*, item_id: int) -> QuerySet[ItemPrice]:
    return (
        ItemPrice.objects.filter(item_id=item_id)
        .select_related("created_by")
        .order_by("kind", "-effective_from")
    )


def connected_stores(
    *, province_id: int | None = None, city_id: int | None = None, query: str = ""
) -> QuerySet[Store]:
    """The store finder: connected stores, filtered by place and a name fragment, by name."""
    stores = Store.objects.filter(status=StoreStatus.CONNECTED)
    if province_id is not None:
        stores = stores.filter(province_id=province_id)
    if city_id is not None:
        stores = stores.filter(city_id=city_id)
    if query:
        stores = stores.filter(name__icontains=query)
    return stores.select_related("province", "city").order_by("name", "pk")


def terminal_by_id(*, terminal_id: str) -> Terminal | None:
    return Terminal.objects.select_related("store").filter(terminal_id=terminal_id).first()


@dataclass(frozen=True)
class ItemPriceRow:
    """A basket item with the prices in force, as the checkout's one price query reads it."""

    id: int
    code: str
    name: str
    is_active: bool
    base_price_rial: int | None
    current_price_rial: int | None


def prices_in_force_sql(*, count: int) -> str:
    """One row per item among ``count`` codes (named parameters ``%(code_0)s``…, the moment
    ``%(prices_at)s``): id, code, name, whether active, base and current price in force."""
    codes = ", ".join(f"%(code_{index})s" for index in range(count))
    return f"""
SELECT i.id AS item_id, i.code AS item_code, i.name AS item_name, i.is_active AS item_active,
  (SELECT pr.price_rial FROM stores_itemprice pr WHERE pr.item_id = i.id AND pr.kind = 'base'
    AND pr.effective_from <= %(prices_at)s ORDER BY pr.effective_from DESC, pr.id DESC LIMIT 1)
    AS item_base_price,
  (SELECT pr.price_rial FROM stores_itemprice pr WHERE pr.item_id = i.id AND pr.kind = 'current'
    AND pr.effective_from <= %(prices_at)s ORDER BY pr.effective_from DESC, pr.id DESC LIMIT 1)
    AS item_current_price
FROM stores_basketitem i WHERE i.code IN ({codes})
"""  # noqa: S608 - placeholders only


def prices_in_force_params(*, codes: Sequence[str], at: dt.datetime) -> dict[str, Any]:
    return {
        "prices_at": connection.ops.adapt_datetimefield_value(at),
        **{f"code_{index}": code for index, code in enumerate(codes)},
    }


def item_price_row(*, row: Sequence[Any]) -> ItemPriceRow:
    """An ``ItemPriceRow`` from the six columns of :func:`prices_in_force_sql`."""
    pk, code, name, active, base, current = row
    return ItemPriceRow(pk, code, name, bool(active), base, current)


def flags_open_first(*, queryset: QuerySet[StoreFlag]) -> QuerySet[StoreFlag]:
    """Anomaly flags with the open ones first, each group newest first (the officers' order)."""
    return queryset.annotate(
        open_rank=Case(
            When(status=FlagStatus.OPEN, then=Value(0)),
            default=Value(1),
            output_field=IntegerField(),
        )
    ).order_by("open_rank", "-created_at", "-id")


def store_flags(*, store_id: int) -> QuerySet[StoreFlag]:
    """A store's anomaly flags, open first then newest (``store_flag_store_idx``)."""
    return flags_open_first(queryset=StoreFlag.objects.filter(store_id=store_id))
