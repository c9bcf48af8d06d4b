"""The programme dashboard and the transparency page in Debian's Chromium at 360 px: a screenshot
of each (under pytest's temporary directory, nothing kept in the repository), no sideways
scrolling, and an axe-core check with no serious or critical violation.

The figures are summary rows written directly, for all 31 provinces, with a few small cells so
that the public page suppresses some; the stores have long names (the charts cut them).
"""

import pytest
from django.conf import settings
from django.core.cache import cache

from households.models import Province
from kalabarg.figures.models import CycleFigure, StoreFigure, TopStore
from settlements.models import CycleStatus
from tests.conftest import OfficerClient
from tests.e2e.conftest import check_page
from tests.figures.factories import a_cycle, completed_refresh, officer_in
from tests.stores.factories import make_store

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def _a_programme_of_31_provinces() -> None:
    # The pages' cache is keyed by the refresh's id, which a new test database gives out again.
    cache.clear()
    cycle = a_cycle("1402-06", status=CycleStatus.CLOSED)
    rows = []
    for index, province in enumerate(Province.objects.order_by("code")):
        for decile in range(1, 8):
            households = 3 if (index, decile) in {(4, 2), (9, 5)} else 200 + 37 * index + decile
            charged = households if decile <= 5 else 0
            rows.append(
                CycleFigure(
                    cycle=cycle,
                    province=province,
                    decile=decile,
                    covered=decile <= 5,
                    households=households,
                    members=households * 3,
                    charged=charged,
                    credit_issued_rial=charged * 6_000_000,
                    participating=charged * (40 + decile) // 100,
                    purchases=charged,
                    basket_rial=charged * 2_500_000,
                    credit_spent_rial=charged * 900_000,
                    compensation_rial=charged * 100_000,
                    bonuses=charged // 7,
                    bonus_rial=(charged // 7) * 1_200_000,
                    sms_sent=charged,
                    sms_failed=index % 3,
                )
            )
        StoreFigure.objects.create(
            cycle=cycle, province=province, connected=20 + index, selling=15, paid_out=12,
            paid_out_rial=12 * 40_000_000,
        )  # fmt: skip
    CycleFigure.objects.bulk_create(rows)
    for rank in range(1, 6):
        store = make_store(
            name=f"فروشگاه زنجیره‌ای بزرگ شماره {rank} شعبه مرکزی", province_name="تهران"
        )
        TopStore.objects.create(
            cycle=cycle, rank=rank, store=store, purchases=900 - rank, basket_rial=(900 - rank) * 2_500_000,
            owed_rial=(900 - rank) * 1_000_000,
        )  # fmt: skip
    completed_refresh(cycles=[cycle.key])


def test_the_transparency_page_reads_well_at_360_px_without_login(
    live_server, browser_page, tmp_path
):
    _a_programme_of_31_provinces()
    page = browser_page

    page.goto(live_server.url + "/transparency/")

    assert "آمار طرح کالابرگ" in page.locator("h1").inner_text()
    assert page.get_by_text("کمتر از ۱۰").count() >= 1
    assert page.locator("svg[role=img] title").count() == 3
    page.locator("details.figures-details > summary").click()  # the province × decile table
    check_page(page, "transparency", directory=tmp_path)


def test_the_programme_dashboard_reads_well_at_360_px(
    live_server, browser_context, browser_page, tmp_path
):
    _a_programme_of_31_provinces()
    officer = OfficerClient()
    officer.force_login(officer_in("finance_officer"))
    browser_context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": officer.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    page = browser_page

    page.goto(live_server.url + "/admin/programme/")

    assert page.get_by_role("button", name="به‌روزرسانی آمار هم‌اکنون").count() == 1
    assert page.locator("svg[role=img] title").count() == 4
    check_page(page, "programme", directory=tmp_path)
