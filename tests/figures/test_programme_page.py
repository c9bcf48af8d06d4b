"""The officers' programme dashboard (/admin/programme/): a cycle's figures by decile, by province
and by store, each table also as CSV; who may see it and who may refresh; its reads stay few.

The summary rows are written directly with known values; every expected figure below is worked
out by hand from them."""

import datetime as dt

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from households.models import Province
from kalabarg.figures.models import CycleFigure, FiguresRefresh, RefreshStatus
from kalabarg.figures.refresh import refresh_figures
from notifications.models import MessageStatus
from settlements.models import CycleStatus
from settlements.services import bonus
from tests.figures.factories import (
    a_cycle,
    completed_refresh,
    figure,
    officer_in,
    store_figure,
    top_store,
)
from tests.households.factories import HouseholdFactory
from tests.notifications.factories import SmsMessageFactory
from tests.settlements.factories import buy, charge, moment_in, reverse
from tests.stores.factories import make_store

pytestmark = pytest.mark.django_db

URL = "/admin/programme/"
TEHRAN, ISFAHAN = "تهران", "اصفهان"


def a_cycle_of_figures(key: str = "1402-06") -> None:
    """Tehran: 40 households of decile 2 (covered) and 60 of decile 7 (not covered, 3 of them
    spending credit carried over); Isfahan: 25 of decile 2. Two provinces' stores, two top stores."""
    cycle = a_cycle(key)
    figure(
        cycle, province_name=TEHRAN, decile=2, households=40, members=120, charged=38,
        credit_issued_rial=228_000_000, participating=19, purchases=50, basket_rial=100_000_000,
        credit_spent_rial=30_000_000, compensation_rial=5_000_000, bonuses=4,
        bonus_rial=48_000_000, sms_sent=45, sms_failed=2,
    )  # fmt: skip
    figure(
        cycle, province_name=TEHRAN, decile=7, covered=False, households=60, members=150,
        participating=3, purchases=3, basket_rial=3_000_001, credit_spent_rial=1_000_000,
        sms_sent=1,
    )  # fmt: skip
    figure(
        cycle, province_name=ISFAHAN, decile=2, households=25, members=70, charged=25,
        credit_issued_rial=150_000_000, participating=10, purchases=20, basket_rial=40_000_000,
        credit_spent_rial=12_000_000, compensation_rial=2_000_000, bonuses=1,
        bonus_rial=12_000_000, sms_sent=25,
    )  # fmt: skip
    store_figure(cycle, province_name=TEHRAN, connected=5, selling=3, paid_out=2,
                 paid_out_rial=40_000_000)  # fmt: skip
    store_figure(cycle, province_name=ISFAHAN, connected=2, selling=0, paid_out=0)
    big = make_store(name="فروشگاه بزرگ آزادی", province_name=TEHRAN)
    small = make_store(name="بقالی امید", province_name=ISFAHAN)
    top_store(cycle, rank=1, store=big, purchases=40, basket_rial=90_000_001, owed_rial=30_000_000)
    top_store(cycle, rank=2, store=small, purchases=3, basket_rial=3_000_000, owed_rial=900_000)


def code(name: str) -> str:
    return Province.objects.get(name=name).code


@pytest.fixture
def finance(client):  # type: ignore[no-untyped-def]
    client.force_login(officer_in("finance_officer"))
    return client


def csv_of(client, table: str, **params: str) -> list[str]:  # type: ignore[no-untyped-def]
    response = client.get(URL, {"format": "csv", "table": table, **params})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return response.content.decode("utf-8").splitlines()


def test_the_decile_csv_gives_each_deciles_figures_and_the_total_in_whole_rials(finance):
    a_cycle_of_figures()
    completed_refresh()

    lines = csv_of(finance, "deciles")

    assert lines == [
        "decile,covered,households,eligible_households,charged_households,"
        "participating_households,participation_percent,credit_issued_rial,credit_spent_rial,"
        "bonuses,bonus_rial,compensation_rial,purchases,basket_rial,average_basket_rial,"
        "sms_sent,sms_failed",
        # 29 of 63 charged bought: 46.03 % → 46.0; 140,000,000 over 70 purchases.
        "2,true,65,65,63,29,46.0,378000000,42000000,5,60000000,7000000,70,140000000,2000000,70,2",
        # Nobody charged: no participation; 3,000,001 over 3 purchases rounds to 1,000,000.
        "7,false,60,0,0,3,,0,1000000,0,0,0,3,3000001,1000000,1,0",
        # 32 of 63: 50.79 % → 50.8; 143,000,001 over 73 purchases: 1,958,904.1 → 1,958,904.
        "total,,125,65,63,32,50.8,378000000,43000000,5,60000000,7000000,73,143000001,1958904,71,2",
    ]


def test_the_province_csv_gives_each_provinces_figures_in_the_registrys_order(finance):
    a_cycle_of_figures()
    completed_refresh()

    lines = csv_of(finance, "provinces")

    assert lines[0].startswith("province_code,province,households,eligible_households,")
    assert lines[1:] == [
        # Isfahan (04) before Tehran (08): 10 of 25 charged bought, 40 %.
        f"{code(ISFAHAN)},اصفهان,25,25,25,10,40.0,150000000,12000000,1,12000000,2000000,20,"
        "40000000,2000000,25,0",
        # 22 of 38: 57.89 % → 57.9; 103,000,001 over 53 purchases: 1,943,396.2 → 1,943,396.
        f"{code(TEHRAN)},تهران,100,40,38,22,57.9,228000000,31000000,4,48000000,5000000,53,"
        "103000001,1943396,46,2",
        "total,جمع,125,65,63,32,50.8,378000000,43000000,5,60000000,7000000,73,143000001,1958904,71,2",
    ]


def test_the_store_csv_says_how_many_stores_that_sold_were_paid(finance):
    a_cycle_of_figures()
    completed_refresh()

    lines = csv_of(finance, "stores")

    assert lines == [
        "province_code,province,connected_stores,selling_stores,paid_out_stores,"
        "paying_out_percent,paid_out_rial",
        f"{code(ISFAHAN)},اصفهان,2,0,0,,0",  # nothing sold: no percentage
        f"{code(TEHRAN)},تهران,5,3,2,66.7,40000000",
        "total,جمع,7,3,2,66.7,40000000",
    ]


def test_the_top_store_csv_ranks_the_stores_by_basket_value(finance):
    a_cycle_of_figures()
    completed_refresh()

    lines = csv_of(finance, "top_stores")

    assert lines[0] == (
        "rank,store_id,store,province,city,purchases,basket_rial,average_basket_rial,owed_rial"
    )
    assert [line.split(",")[2:] for line in lines[1:]] == [
        ["فروشگاه بزرگ آزادی", "تهران", "تهران", "40", "90000001", "2250000", "30000000"],
        ["بقالی امید", "اصفهان", "اصفهان", "3", "3000000", "1000000", "900000"],
    ]


def test_the_dashboard_shows_the_figures_in_persian_digits_with_rials_and_a_chart_per_table(
    finance,
):
    a_cycle_of_figures()
    completed_refresh()

    page = finance.get(URL).content.decode()

    assert "۳۷۸٬۰۰۰٬۰۰۰ ریال" in page  # credit issued, in the headline and the totals
    assert "۴۶٫۰٪" in page and "۵۰٫۸٪" in page  # participation of decile 2 and of all
    assert "۲ از ۳ فروشگاه دارای فروش" in page  # stores paying out
    assert "۷۱ فرستاده، ۲ ناموفق" in page  # SMS
    assert page.count('role="img"') == 4 and page.count('<table class="figures-table"') == 4
    assert "نمودار مشارکت خانوارهای شارژشده به تفکیک دهک، شهریور ۱۴۰۲" in page
    assert "?cycle=1402-06&amp;format=csv&amp;table=deciles" in page
    assert "style=" not in page and "<script>" not in page  # the CSP allows neither


def test_the_dashboard_says_when_the_figures_were_refreshed_in_jalali_tehran_time(finance):
    a_cycle_of_figures()
    completed_refresh(
        at=dt.datetime(2023, 9, 25, 6, 30, tzinfo=dt.UTC), trigger="after:cycle_charge"
    )

    page = finance.get(URL).content.decode()

    # 06:30 UTC is 10:00 in Tehran, 3 Mehr 1402.
    assert "آمار در ۳ مهر ۱۴۰۲، ساعت ۱۰:۰۰ محاسبه شده است (پس از شارژ دوره)." in page


def test_the_cycle_picker_opens_an_older_cycle_and_the_newest_by_default(finance):
    a_cycle_of_figures("1402-06")
    newer = a_cycle("1402-07", status=CycleStatus.OPEN)
    figure(newer, province_name=TEHRAN, decile=2, households=41, charged=41)
    completed_refresh()

    newest = finance.get(URL)
    older = finance.get(URL, {"cycle": "1402-06"})

    assert newest.context["page"].cycle_key == "1402-07"
    assert older.context["page"].cycle_key == "1402-06"
    assert finance.get(URL, {"cycle": "1399-01"}).status_code == 404


def test_an_officer_without_the_figures_permission_is_refused(client):
    a_cycle_of_figures()
    client.force_login(officer_in("price_officer"))

    assert client.get(URL).status_code == 403
    assert client.get(URL, {"format": "csv", "table": "deciles"}).status_code == 403


def test_an_unknown_table_is_not_found(finance):
    a_cycle_of_figures()

    assert finance.get(URL, {"format": "csv", "table": "households"}).status_code == 404


def test_refresh_now_queues_the_refresh_task_for_finance(finance):
    a_cycle_of_figures()

    response = finance.post(URL)

    assert response.status_code == 302 and response["Location"] == URL
    refresh = FiguresRefresh.objects.get()
    assert (refresh.trigger, refresh.status) == ("officer", RefreshStatus.COMPLETED)  # eager


def test_refresh_now_is_refused_to_an_officer_who_may_only_look(client):
    client.force_login(officer_in("welfare_officer"))

    page = client.get(URL)
    refused = client.post(URL)

    assert page.status_code == 200 and "به‌روزرسانی آمار هم‌اکنون" not in page.content.decode()
    assert refused.status_code == 403
    assert not FiguresRefresh.objects.exists()


def test_refresh_now_waits_for_a_refresh_already_running(finance):
    FiguresRefresh.objects.create(trigger="beat", started_at=timezone.now())

    finance.post(URL)

    assert FiguresRefresh.objects.count() == 1


def _provinces_times_deciles(key: str, provinces: int) -> None:
    cycle = a_cycle(key)
    CycleFigure.objects.bulk_create(
        CycleFigure(cycle=cycle, province=province, decile=decile, covered=decile <= 5,
                    households=100 + decile, charged=50)
        for province in Province.objects.order_by("code")[:provinces]
        for decile in range(0, 11)
    )  # fmt: skip


def test_the_dashboard_makes_as_many_queries_for_31_provinces_as_for_one(finance):
    _provinces_times_deciles("1402-06", provinces=1)
    _provinces_times_deciles("1402-07", provinces=31)
    completed_refresh()
    finance.get(URL)  # the officer's session and permissions, the same for both

    cache.clear()
    with CaptureQueriesContext(connection) as one:
        finance.get(URL, {"cycle": "1402-06"})
    cache.clear()
    with CaptureQueriesContext(connection) as all_of_them:
        finance.get(URL, {"cycle": "1402-07"})

    assert len(all_of_them) == len(one)
    big_tables = ('"stores_purchase"', '"settlements_posting"', '"households_household"')
    assert not [q for q in all_of_them.captured_queries if any(t in q["sql"] for t in big_tables)]


def test_a_small_programme_run_through_the_real_services_reads_as_worked_out_by_hand(finance):
    # Given three households: Tehran decile 2 with a child (2 members: 4,000,000 rials), Isfahan
    # decile 4 alone (2,000,000) and Tehran decile 8 (not covered); the cycle charged by a run
    a = HouseholdFactory(decile=2, members=1)
    b = HouseholdFactory(decile=4, province__name=ISFAHAN)
    HouseholdFactory(decile=8)
    cycle = charge("1402-06")
    # a buys 5,000,000 of basket at a 1,000,000 base: 4,000,000 of credit, the threshold of a
    # 2-member household, so it earns the bonus (2,400,000); then 2,600,000 at a 100,000 base:
    # 2,400,000 of credit (all it has) and 100,000 of inflation compensation
    buy(a, cycle=cycle, base=1_000_000, current=5_000_000)
    bonus.grant_bonus_if_earned(household_id=a.pk, cycle=cycle)
    buy(a, cycle=cycle, base=100_000, current=2_600_000)
    # b buys 400,000 at a 100,000 base (300,000 of credit), and a second purchase, reversed
    buy(b, cycle=cycle, base=100_000, current=400_000)
    reverse(buy(b, cycle=cycle, base=100_000, current=250_000))
    # One SMS sent to a's head, one failed to b's, in the cycle; one sent today (another cycle)
    during = moment_in(cycle)
    SmsMessageFactory(person=a.members.get(is_head=True), next_attempt_at=during)
    SmsMessageFactory(person=b.members.get(is_head=True), next_attempt_at=during,
                      status=MessageStatus.FAILED)  # fmt: skip
    SmsMessageFactory(person=b.members.get(is_head=True))
    # When the figures are refreshed
    refresh_figures(trigger="test", cycles=[cycle])

    # Then the dashboard's CSV reads as worked out by hand
    assert csv_of(finance, "deciles", cycle="1402-06")[1:] == [
        "2,true,1,1,1,1,100.0,4000000,6400000,1,2400000,100000,2,7600000,3800000,1,0",
        "4,true,1,1,1,1,100.0,2000000,300000,0,0,0,1,400000,400000,0,1",
        "8,false,1,0,0,0,,0,0,0,0,0,0,0,,0,0",
        # 8,000,000 over 3 purchases: 2,666,666.7 → 2,666,667.
        "total,,3,2,2,2,100.0,6000000,6700000,1,2400000,100000,3,8000000,2666667,1,1",
    ]
