"""The dashboard: the answer first, money in toman with Persian digits, and a fixed query count."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from households.objections import file_objection
from tests.households.factories import DecileAssignmentFactory, make_household
from tests.portal.conftest import signed_in_client
from tests.portal.factories import this_month, with_purchases

pytestmark = pytest.mark.django_db


def test_the_first_line_is_the_decile_and_whether_the_household_is_covered():
    household = make_household(members=1, decile=3)
    this_month()

    page = signed_in_client(household.members.get(is_head=True)).get("/me/").content.decode()

    assert "دهک شما: ۳ — مشمول طرح کالابرگ هستید" in page
    assert "۳۰ درصد کم‌درآمدترین" in page


def test_an_uncovered_decile_says_so_and_points_to_the_objection():
    household = make_household(decile=8)
    this_month()

    page = signed_in_client(household.members.get(is_head=True)).get("/me/").content.decode()

    assert "دهک شما: ۸ — در این مرحله مشمول طرح کالابرگ نیستید" in page
    assert 'href="/me/objections/"' in page


def test_balance_and_bonus_progress_in_toman_with_a_bar_and_a_sentence():
    household = make_household(members=1, decile=2)  # two people: 400,000 toman credit
    cycle = this_month()
    with_purchases(household, count=1, cycle=cycle)  # 27,000 toman of credit spent

    page = signed_in_client(household.members.get(is_head=True)).get("/me/").content.decode()

    assert "۳۷۳٬۰۰۰ تومان" in page  # 400,000 − 27,000
    assert '<progress class="progress-track" max="100" value="6"' in page
    assert 'با <span class="amount">۳۷۳٬۰۰۰ تومان</span> خرید دیگر' in page
    assert "۲۴۰٬۰۰۰ تومان</span> اعتبار مضاعف می‌گیرید" in page


def test_the_dashboard_runs_the_same_few_queries_for_a_short_and_a_long_history():
    short, long = make_household(), make_household(members=3)
    cycle = this_month()
    with_purchases(long, count=40, cycle=cycle)
    head = long.members.get(is_head=True)
    for day in range(1, 12):
        DecileAssignmentFactory(
            household=long, decile=(day % 5) + 1, effective_from=cycle.starts_on.replace(day=day),
            reason="آزمایش",
        )  # fmt: skip
    file_objection(person=head, category="income_fell", description="درآمد کم شد")

    counts = []
    for household in (short, long):
        client = signed_in_client(household.members.get(is_head=True))
        client.get("/me/")  # warm the session
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/me/")
        assert response.status_code == 200
        counts.append(len(queries))

    assert counts[0] == counts[1]
    assert counts[1] <= 14, counts
