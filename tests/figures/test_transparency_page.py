"""The public transparency page (/transparency/): the programme's figures by province, by decile
and both for the last closed cycles, with no cell about fewer than 10 households and none that the
totals give away; no login, nothing personal, served from the cache.

The summary rows are written directly; the expected figures are worked out by hand below. A cell
is judged by the smallest count of households it publishes (covered, charged, buying, holding a
bonus); here every shown cell has at least 10 of each, and Isfahan's fewer than 10 of all.

    covered households   decile 2   decile 3   total
    Isfahan (04)                4          3       7   ← fewer than 10
    Tehran (08)                40         30      70   ← withheld: else 187 − 110 − 70 = 7
    Fars (17)                  50         60     110
    total                      94         93     187

Tehran also has 100 households of decile 7 (not covered): they are not on the public page.
"""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from households.models import Province
from kalabarg.figures import views
from kalabarg.figures.models import CycleFigure
from settlements.models import CycleStatus
from tests.figures.factories import a_cycle, completed_refresh, figure, store_figure, top_store
from tests.households.factories import HouseholdFactory
from tests.stores.factories import make_store

pytestmark = pytest.mark.django_db

URL = "/transparency/"
TEHRAN, ISFAHAN, FARS = "تهران", "اصفهان", "فارس"


def a_closed_cycle_with_a_small_province(key: str = "1402-06") -> None:
    cycle = a_cycle(key, status=CycleStatus.CLOSED)
    for province_name, decile, households, participating, spent, bonuses, compensation in (
        (ISFAHAN, 2, 4, 2, 1_111_111, 1, 222_222),
        (ISFAHAN, 3, 3, 1, 777_777, 0, 111_111),
        (TEHRAN, 2, 40, 16, 33_000_000, 10, 4_000_000),
        (TEHRAN, 3, 30, 12, 27_000_000, 10, 3_000_000),
        (FARS, 2, 50, 20, 40_000_000, 10, 6_000_000),
        (FARS, 3, 60, 30, 50_000_000, 12, 7_000_000),
    ):
        figure(
            cycle, province_name=province_name, decile=decile, households=households,
            charged=households, credit_issued_rial=households * 6_000_000,
            participating=participating, credit_spent_rial=spent, bonuses=bonuses,
            bonus_rial=bonuses * 12_000_000, compensation_rial=compensation,
        )  # fmt: skip
    figure(cycle, province_name=TEHRAN, decile=7, covered=False, households=100,
           participating=5, credit_spent_rial=9_999_999)  # fmt: skip
    store_figure(cycle, province_name=TEHRAN, connected=5, selling=4, paid_out=4,
                 paid_out_rial=70_000_000)  # fmt: skip
    store_figure(cycle, province_name=FARS, connected=3, selling=1)
    top_store(cycle, rank=1, store=make_store(name="فروشگاه بزرگ آزادی"), purchases=9,
              basket_rial=9_000_000, owed_rial=3_000_000)  # fmt: skip


def code(name: str) -> str:
    return Province.objects.get(name=name).code


def csv_of(client, table: str, **params: str) -> list[str]:  # type: ignore[no-untyped-def]
    response = client.get(URL, {"format": "csv", "table": table, **params})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return response.content.decode("utf-8").splitlines()


def row_of(page: str, label: str, table: str) -> str:
    """The HTML of the row headed ``label`` in the table captioned ``table``."""
    section = page.split(f'<caption id="{table}-caption">', 1)[1].split("</table>", 1)[0]
    match = re.search(rf"<tr[^>]*><th scope=\"row\"[^>]*>{label}</th>.*?</tr>", section)
    assert match, f"no row {label} in {table}"
    return match.group(0)


def test_a_province_under_ten_reads_fewer_than_ten_a_second_is_withheld_and_the_total_stays(
    client,
):
    a_closed_cycle_with_a_small_province()
    completed_refresh()

    page = client.get(URL).content.decode()

    isfahan, tehran = row_of(page, ISFAHAN, "provinces"), row_of(page, TEHRAN, "provinces")
    assert "کمتر از ۱۰" in isfahan and "۷" not in isfahan
    assert "محرمانه" in tehran and "۷۰" not in tehran and "کمتر از ۱۰" not in tehran
    assert ">۱۱۰<" in row_of(page, FARS, "provinces")
    assert ">۱۸۷<" in row_of(page, "جمع", "provinces")


def test_the_province_csv_hides_every_figure_of_a_hidden_province_and_says_why(client):
    a_closed_cycle_with_a_small_province()
    completed_refresh()

    lines = csv_of(client, "provinces")

    assert lines == [
        "province_code,province,households,charged_households,participation_percent,"
        "credit_issued_rial,credit_spent_rial,bonuses,bonus_rial,compensation_rial,status",
        f"{code(ISFAHAN)},اصفهان,,,,,,,,,fewer_than_10",
        f"{code(TEHRAN)},تهران,,,,,,,,,withheld",
        # 50 of 110 bought: 45.45 % → 45.5.
        f"{code(FARS)},فارس,110,110,45.5,660000000,90000000,22,264000000,13000000,shown",
        # Covered households only (Tehran's decile 7 is not the programme's): 81 of 187, 43.3 %.
        "total,جمع,187,187,43.3,1122000000,151888888,43,516000000,20333333,shown",
    ]


def test_the_decile_csv_shows_both_deciles_they_count_more_than_ten(client):
    a_closed_cycle_with_a_small_province()
    completed_refresh()

    lines = csv_of(client, "deciles")

    assert lines[1:] == [
        # 38 of 94: 40.43 % → 40.4; 43 of 93: 46.24 % → 46.2.
        "2,94,94,40.4,564000000,74111111,21,252000000,10222222,shown",
        "3,93,93,46.2,558000000,77777777,22,264000000,10111111,shown",
        "total,187,187,43.3,1122000000,151888888,43,516000000,20333333,shown",
    ]


def test_the_province_by_decile_csv_hides_the_small_cells_and_their_complements(client):
    a_closed_cycle_with_a_small_province()
    completed_refresh()

    lines = csv_of(client, "province_deciles")

    isfahan, tehran, fars = code(ISFAHAN), code(TEHRAN), code(FARS)
    assert lines == [
        "province_code,province,decile,households,status",
        f"{isfahan},اصفهان,2,,fewer_than_10",
        f"{isfahan},اصفهان,3,,fewer_than_10",
        f"{isfahan},اصفهان,total,,fewer_than_10",
        f"{tehran},تهران,2,,withheld",  # else 94 − 50 − 40 = 4
        f"{tehran},تهران,3,,withheld",
        f"{tehran},تهران,total,,withheld",
        f"{fars},فارس,2,50,shown",
        f"{fars},فارس,3,60,shown",
        f"{fars},فارس,total,110,shown",
        "total,جمع,2,94,shown",
        "total,جمع,3,93,shown",
        "total,جمع,total,187,shown",
    ]


def test_no_figure_of_a_hidden_province_is_anywhere_on_the_page(client):
    a_closed_cycle_with_a_small_province()
    completed_refresh()

    page = client.get(URL).content.decode()

    # Tehran's and Isfahan's households, participation, credit issued and spent, as cells show them.
    for hidden in (
        "۷۰", "۴۰٫۰٪", "۴۲٬۰۰۰٬۰۰۰ تومان", "۶٬۰۰۰٬۰۰۰ تومان",
        "۷", "۴۲٫۹٪", "۴٬۲۰۰٬۰۰۰ تومان", "۱۸۸٬۸۸۸٫۸ تومان",
    ):  # fmt: skip
        assert f">{hidden}<" not in page, hidden


def test_the_page_needs_no_login_and_names_no_store_household_or_person(client):
    household = HouseholdFactory()
    head = household.members.get(is_head=True)
    a_closed_cycle_with_a_small_province()
    completed_refresh()

    response = client.get(URL)

    page = response.content.decode()
    assert response.status_code == 200
    for personal in (
        "فروشگاه بزرگ آزادی",
        household.registry_code,
        head.national_code,
        head.mobile,
        head.full_name,
    ):
        assert personal not in page
    assert ">۸<" in row_of(page, "جمع", "stores")  # connected stores: a count per province
    assert "style=" not in page and "<script>" not in page  # the CSP allows neither


def test_the_second_request_is_served_from_the_cache_without_a_query(
    client, django_assert_num_queries
):
    a_closed_cycle_with_a_small_province()
    completed_refresh()
    first = client.get(URL)

    with django_assert_num_queries(0):
        second = client.get(URL)

    assert second.content == first.content


def test_anonymous_readers_get_a_page_shared_caches_may_keep_and_no_cookie(client):
    a_closed_cycle_with_a_small_province()
    completed_refresh()

    response = client.get(URL)

    assert response["Cache-Control"] == "public, max-age=300"
    assert not response.cookies  # no CSRF or session cookie: the page is the same for everyone


def test_a_reader_with_cookies_gets_a_page_only_their_browser_keeps(client):
    a_closed_cycle_with_a_small_province()
    completed_refresh()
    client.cookies["sessionid"] = "someone"

    response = client.get(URL)

    assert response["Cache-Control"] == "private, max-age=300"


def test_the_page_offers_the_last_three_closed_cycles_newest_first(client):
    for key in ("1402-06", "1402-07", "1402-08", "1402-09"):
        a_closed_cycle_with_a_small_province(key)
    open_cycle = a_cycle("1402-10", status=CycleStatus.OPEN)
    figure(open_cycle, decile=2, households=500)
    completed_refresh()

    page = client.get(URL)

    offered = [key for key, _, _ in views._public_index(views._last_refresh_id())["cycles"]]
    assert offered == ["1402-09", "1402-08", "1402-07"]
    assert 'value="1402-09" selected' in page.content.decode()
    assert client.get(URL, {"cycle": "1402-07"}).status_code == 200
    assert client.get(URL, {"cycle": "1402-06"}).status_code == 404  # fourth from last
    assert client.get(URL, {"cycle": "1402-10"}).status_code == 404  # still open


def test_a_new_refresh_shows_its_figures_once_the_last_refresh_is_asked_again(client):
    a_closed_cycle_with_a_small_province()
    completed_refresh()
    client.get(URL)
    CycleFigure.objects.filter(province__name=FARS, decile=2).update(households=51)
    completed_refresh()

    before = client.get(URL).content.decode()
    views.cache.delete(views.LAST_REFRESH_KEY)  # what a minute does
    after = client.get(URL).content.decode()

    assert ">۱۱۰<" in row_of(before, FARS, "provinces")
    assert ">۱۱۱<" in row_of(after, FARS, "provinces")


def test_without_a_closed_cycle_the_page_says_so(client):
    open_cycle = a_cycle("1402-06", status=CycleStatus.OPEN)
    figure(open_cycle, decile=2, households=500)
    completed_refresh()

    response = client.get(URL)

    assert response.status_code == 200
    assert "هنوز آمار هیچ دوره پایان‌یافته‌ای منتشر نشده است" in response.content.decode()


def _provinces(key: str, count: int) -> None:
    cycle = a_cycle(key, status=CycleStatus.CLOSED)
    CycleFigure.objects.bulk_create(
        CycleFigure(cycle=cycle, province=province, decile=decile, covered=decile <= 5,
                    households=100 + decile, charged=100)
        for province in Province.objects.order_by("code")[:count]
        for decile in range(0, 11)
    )  # fmt: skip


def test_building_the_page_makes_as_many_queries_for_31_provinces_as_for_one(client):
    _provinces("1402-06", 1)
    _provinces("1402-07", 31)
    completed_refresh()

    views.cache.clear()
    with CaptureQueriesContext(connection) as one:
        client.get(URL, {"cycle": "1402-06"})
    views.cache.clear()
    with CaptureQueriesContext(connection) as all_of_them:
        client.get(URL, {"cycle": "1402-07"})

    assert len(all_of_them) == len(one) <= 8


def test_a_cell_with_enough_households_but_fewer_than_ten_holding_a_bonus_is_suppressed(client):
    # Given Fars's decile-3 cell of 60 households of whom only 6 hold a bonus
    a_closed_cycle_with_a_small_province()
    CycleFigure.objects.filter(province__name=FARS, decile=3).update(bonuses=6)
    completed_refresh()

    lines = csv_of(client, "province_deciles")

    # Then that cell reads fewer than 10, and a second cell of its row and column is withheld
    assert f"{code(FARS)},فارس,3,,fewer_than_10" in lines
    assert f"{code(FARS)},فارس,2,,withheld" in lines
