"""Households with a history for portal tests: charged this month, purchases made by the real
checkout (see ``tests.settlements.factories``)."""

from django.utils import timezone

from households.models import Household
from settlements.models import Cycle
from stores import selectors as store_selectors
from stores.models import BasketItem, PriceKind, Purchase
from tests.settlements.factories import (
    charge,
    checkout_purchase,
    moment_in,
    set_prices,
)
from tests.settlements.factories import (
    this_month as this_month_key,
)
from tests.stores.factories import make_terminal

RICE_BASE, RICE_CURRENT = 450_000, 720_000  # a unit of rice: 270,000 rial of credit


def this_month() -> Cycle:
    """This month's cycle, charged for every household that exists now."""
    return charge(this_month_key())


def with_purchases(household: Household, *, count: int, cycle: Cycle) -> list[Purchase]:
    """``count`` purchases of one unit of rice by ``household`` in ``cycle``, each by the real
    checkout at one terminal; rice is priced 450,000 (base) and 720,000 rial unless it has prices."""
    rice = BasketItem.objects.get(code="rice")
    if store_selectors.price_at(item_id=rice.pk, kind=PriceKind.BASE, at=timezone.now()) is None:
        set_prices("rice", RICE_BASE, RICE_CURRENT)
    terminal = make_terminal()
    return [
        checkout_purchase(household, lines={"rice": 1}, terminal=terminal, at=moment_in(cycle))
        for _ in range(count)
    ]
