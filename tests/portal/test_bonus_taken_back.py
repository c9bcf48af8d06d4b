"""Issue 13 §2 as the household sees it: the dashboard and ``/api/v1/me/`` say the bonus came only
while it is in force: not after a reversal took it back, and again once it is earned again."""

import pytest

from settlements.services.bonus import grant_bonus_if_earned
from tests.households.factories import make_household
from tests.portal.conftest import api_client, signed_in_client
from tests.portal.factories import this_month
from tests.settlements.factories import buy, reverse

pytestmark = pytest.mark.django_db

CREDIT, BONUS = 2_000_000, 1_200_000  # decile 1, one member
CREDITED = "اعتبار مضاعف این ماه به حساب شما آمد"


def test_cross_reverse_cross_reverse_cross_on_the_dashboard_and_the_app():
    household = make_household(decile=1)
    head = household.members.get(is_head=True)
    cycle = this_month()
    seen = []

    def look() -> None:
        me = api_client(head).get("/api/v1/me/").json()
        page = signed_in_client(head).get("/me/").content.decode()
        seen.append((me["bonus"]["granted"], CREDITED in page, me["balance_rial"]))

    for step in range(3):
        purchase = buy(household, cycle=cycle, base=1_000_000, current=1_000_000 + CREDIT)
        grant_bonus_if_earned(household_id=household.pk, cycle=cycle)  # the instant task
        look()
        if step < 2:
            reverse(purchase)
            look()

    assert seen == [
        (True, True, BONUS),
        (False, False, CREDIT),
        (True, True, BONUS),
        (False, False, CREDIT),
        (True, True, BONUS),
    ]
