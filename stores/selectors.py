"""Reads of the basket, prices and stores."""

import datetime as dt
from dataclasses import dataclass

from django.db import connection
from django.db.models import OuterRef, QuerySet, Subquery

from kalabarg.lib.hot_sql import hot_cursor
from stores.models import BasketItem, ItemPrice, PriceKind, Store, StoreStatus, Terminal


def price_at(*, item_id: int, kind: str, at: dt.datetime) -> ItemPrice | None:
    """The price of ``kind`` in force at ``at``: latest ``effective_from <= at`` (one index scan)."""
    return (
        ItemPrice.objects.filter(item_id=item_id, kind=kind, effective_from__lte=at)
        .order_by("-effective_from")
        .first()
    )


def price_in_force_subquery(kind: str, at: dt.datetime) -> Subquery:
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
        base_price_at=price_in_force_subquery(PriceKind.BASE, at),
        current_price_at=price_in_force_subquery(PriceKind.CURRENT, at),
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


_PRICES_IN_FORCE_SQL = """
SELECT i.id, i.code, i.name, i.is_active,
  (SELECT pr.price_rial FROM stores_itemprice pr WHERE pr.item_id = i.id AND pr.kind = 'base'
    AND pr.effective_from <= %s ORDER BY pr.effective_from DESC, pr.id DESC LIMIT 1),
  (SELECT pr.price_rial FROM stores_itemprice pr WHERE pr.item_id = i.id AND pr.kind = 'current'
    AND pr.effective_from <= %s ORDER BY pr.effective_from DESC, pr.id DESC LIMIT 1)
FROM stores_basketitem i WHERE i.code IN ({placeholders})
"""


def prices_in_force(*, codes: list[str], at: dt.datetime) -> dict[str, ItemPriceRow]:
    """The items with these codes and their base and current prices at ``at``: one plain statement
    (the checkout's hot path; the same rule as :func:`price_in_force_subquery`)."""
    if not codes:
        return {}
    moment = connection.ops.adapt_datetimefield_value(at)
    placeholders = ", ".join(["%s"] * len(codes))
    sql = _PRICES_IN_FORCE_SQL.format(placeholders=placeholders)
    with hot_cursor() as cursor:
        cursor.execute(sql, [moment, moment, *codes])
        rows = cursor.fetchall()
    return {
        code: ItemPriceRow(pk, code, name, bool(active), base, current)
        for pk, code, name, active, base, current in rows
    }
