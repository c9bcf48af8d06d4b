"""Reads of the basket, prices and stores."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import OuterRef, QuerySet, Subquery

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
