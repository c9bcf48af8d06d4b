import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from stores import selectors, services
from stores.models import BasketItem, ItemPrice, PriceKind, Purchase
from tests.households.factories import make_household
from tests.settlements.factories import checkout_purchase

pytestmark = pytest.mark.django_db

TEHRAN = dt.timezone(dt.timedelta(hours=3, minutes=30))
EXPECTED_CODES = [
    "raw_milk",
    "cheese",
    "yogurt",
    "chicken",
    "eggs",
    "frozen_meat",
    "rice",
    "legumes",
    "pasta",
    "sugar_cubes",
    "sugar",
]


def at(year: int, month: int, day: int, hour: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, tzinfo=TEHRAN)


def price(item: BasketItem, kind: str, rial: int, when: dt.datetime) -> ItemPrice:
    return services.set_price(
        item=item,
        kind=kind,
        price_rial=rial,
        effective_from=when,
        reason="نرخ مصوب",
        created_by=None,
    )


def buy(item: BasketItem, when: dt.datetime) -> Purchase:
    """One unit of ``item`` bought at ``when`` by the real checkout (a decile-3 household's card)."""
    return checkout_purchase(make_household(), lines={item.code: 1}, at=when)


def test_the_eleven_basket_items_of_the_source_exist_with_codes_units_and_groups():
    items = list(BasketItem.objects.order_by("display_order"))

    assert [item.code for item in items] == EXPECTED_CODES
    assert all(item.is_active and item.unit and item.group for item in items)
    assert BasketItem.objects.get(code="raw_milk").unit == "litre"
    assert BasketItem.objects.get(code="sugar_cubes").name == "قند"


def test_the_price_at_any_past_moment_is_the_row_in_force_then():
    rice = BasketItem.objects.get(code="rice")
    price(rice, PriceKind.BASE, 450_000, at(2022, 3, 21))
    price(rice, PriceKind.CURRENT, 600_000, at(2023, 1, 1))
    price(rice, PriceKind.CURRENT, 750_000, at(2023, 8, 23))

    assert selectors.price_at(item_id=rice.pk, kind=PriceKind.CURRENT, at=at(2022, 12, 31)) is None
    assert (
        selectors.price_at(
            item_id=rice.pk, kind=PriceKind.CURRENT, at=at(2023, 8, 22, 23)
        ).price_rial
        == 600_000
    )
    assert (
        selectors.price_at(item_id=rice.pk, kind=PriceKind.CURRENT, at=at(2023, 8, 23)).price_rial
        == 750_000
    )
    assert (
        selectors.price_at(item_id=rice.pk, kind=PriceKind.BASE, at=at(2030, 1, 1)).price_rial
        == 450_000
    )


def test_a_price_lookup_is_one_query(django_assert_num_queries):
    rice = BasketItem.objects.get(code="rice")
    price(rice, PriceKind.BASE, 450_000, at(2022, 3, 21))

    with django_assert_num_queries(1):
        selectors.price_at(item_id=rice.pk, kind=PriceKind.BASE, at=at(2024, 1, 1))


def test_the_basket_with_prices_is_one_query_for_all_items(django_assert_num_queries):
    for item in BasketItem.objects.all():
        price(item, PriceKind.BASE, 100_000, at(2022, 3, 21))
        price(item, PriceKind.CURRENT, 160_000, at(2023, 3, 21))

    with django_assert_num_queries(1):
        basket = selectors.basket_with_prices(at=at(2024, 1, 1))

    assert len(basket) == 11
    assert {(p.base_price_rial, p.current_price_rial) for p in basket} == {(100_000, 160_000)}


def test_a_retired_item_leaves_the_basket():
    BasketItem.objects.filter(code="pasta").update(is_active=False)

    codes = [priced.item.code for priced in selectors.basket_with_prices(at=timezone.now())]

    assert "pasta" not in codes and len(codes) == 10


@pytest.mark.parametrize(
    ("rial", "code"),
    [(0, "price_not_positive"), (-5, "price_not_positive"), (10**13, "price_too_large")],
)
def test_a_price_that_is_not_positive_or_absurd_is_refused(rial, code):
    rice = BasketItem.objects.get(code="rice")

    with pytest.raises(ValidationError) as error:
        price(rice, PriceKind.BASE, rial, at(2022, 3, 21))

    assert error.value.error_dict["price_rial"][0].code == code
    assert not ItemPrice.objects.exists()


def test_a_price_without_a_reason_is_refused():
    rice = BasketItem.objects.get(code="rice")

    with pytest.raises(ValidationError) as error:
        services.set_price(
            item=rice,
            kind=PriceKind.BASE,
            price_rial=1,
            effective_from=at(2022, 3, 21),
            reason=" ",
            created_by=None,
        )

    assert error.value.error_dict["reason"][0].code == "reason_required"


def test_a_second_price_for_the_same_moment_is_refused():
    rice = BasketItem.objects.get(code="rice")
    price(rice, PriceKind.BASE, 450_000, at(2022, 3, 21))

    with pytest.raises(ValidationError) as error:
        price(rice, PriceKind.BASE, 460_000, at(2022, 3, 21))

    assert error.value.error_dict["effective_from"][0].code == "price_moment_taken"


def test_a_price_from_before_a_recorded_purchase_is_refused_because_it_would_rewrite_history():
    rice = BasketItem.objects.get(code="rice")
    price(rice, PriceKind.BASE, 450_000, at(2022, 3, 21))  # the checkout needs both prices
    price(rice, PriceKind.CURRENT, 600_000, at(2023, 1, 1))
    buy(rice, at(2023, 6, 1))

    with pytest.raises(ValidationError) as error:
        price(rice, PriceKind.CURRENT, 700_000, at(2023, 5, 1))

    assert error.value.error_dict["effective_from"][0].code == "price_rewrites_used_price"
    assert (
        selectors.price_at(item_id=rice.pk, kind=PriceKind.CURRENT, at=at(2023, 6, 1)).price_rial
        == 600_000
    )


def test_a_price_from_after_the_last_purchase_is_accepted():
    rice = BasketItem.objects.get(code="rice")
    price(rice, PriceKind.BASE, 450_000, at(2022, 3, 21))  # the checkout needs both prices
    price(rice, PriceKind.CURRENT, 600_000, at(2023, 1, 1))
    buy(rice, at(2023, 6, 1))

    added = price(rice, PriceKind.CURRENT, 700_000, at(2023, 6, 1, 1))

    assert added.pk is not None


def test_the_database_refuses_a_non_positive_price_written_around_the_service():
    rice = BasketItem.objects.get(code="rice")

    with pytest.raises(IntegrityError), transaction.atomic():
        ItemPrice.objects.create(
            item=rice, kind=PriceKind.BASE, price_rial=0, effective_from=at(2022, 1, 1), reason="x"
        )


@pytest.mark.parametrize(
    ("typed", "rial"), [("۴۵۰٬۰۰۰", 450_000), ("450,000", 450_000), ("12", 12)]
)
def test_prices_typed_with_persian_digits_and_separators_are_read_as_rials(typed, rial):
    assert services.parse_price_rial(value=typed) == rial


@pytest.mark.parametrize("typed", ["12.5", "abc", ""])
def test_a_typed_price_that_is_not_whole_rials_is_refused(typed):
    with pytest.raises(ValidationError):
        services.parse_price_rial(value=typed)
