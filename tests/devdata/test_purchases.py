import pytest

from devdata.purchases import generate_purchases
from stores.models import Purchase
from tests.households.factories import make_household
from tests.stores.factories import make_store

pytestmark = pytest.mark.django_db


def test_generated_purchases_satisfy_every_check_and_some_households_buy_much_more():
    households = [make_household() for _ in range(20)]
    for _ in range(3):
        make_store()

    result = generate_purchases(purchases=2_000, seed=5, terminals=3, chunk_size=700)

    assert result.purchases == Purchase.objects.count() == 2_000
    counts = sorted(
        (Purchase.objects.filter(household=h).count() for h in households), reverse=True
    )
    assert counts[0] > 5 * counts[len(counts) // 2]
    for purchase in Purchase.objects.all()[:50]:
        assert purchase.cash_rial == purchase.base_total_rial
        assert purchase.credit_rial + purchase.compensation_rial == (
            purchase.current_total_rial - purchase.base_total_rial
        )
        assert purchase.payer.household_id == purchase.household_id
