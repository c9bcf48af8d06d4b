"""Households with a history for portal tests: charged this month, purchases, objections."""

from django.db import transaction
from django.utils import timezone

from households.models import Household
from kalabarg.lib.persian import jalali_month_key
from settlements.models import Cycle
from stores.models import BasketItem, Purchase, PurchaseLine
from tests.settlements.factories import buy, charge
from tests.stores.factories import make_terminal


def this_month() -> Cycle:
    """This month's cycle, charged for every household that exists now."""
    return charge(jalali_month_key(timezone.localdate()))


def with_purchases(household: Household, *, count: int, cycle: Cycle) -> list[Purchase]:
    """``count`` purchases of rice by ``household`` this cycle, each with one line."""
    terminal = make_terminal()
    rice = BasketItem.objects.get(code="rice")
    made = []
    for _ in range(count):
        with transaction.atomic():  # the wallet is locked (FOR UPDATE) as in the checkout
            purchase = buy(household, cycle=cycle, base=450_000, current=720_000, terminal=terminal)
        PurchaseLine.objects.create(
            purchase=purchase,
            item=rice,
            quantity=1,
            unit_base_price_rial=450_000,
            unit_current_price_rial=720_000,
            base_amount_rial=450_000,
            current_amount_rial=720_000,
        )
        made.append(purchase)
    return made
