"""The objection queue: open objections oldest first by default, filtered by province, category
and age without counting them all; the decision page shows the household beside the form, and
accepting there still applies the decile through the decision service."""

import datetime as dt

import jdatetime
import pytest
from django.urls import reverse
from django.utils import timezone

from households.models import DecileAssignment, DecileSource, Objection, ObjectionStatus
from households.objections import file_objection
from households.selectors import decile_on
from kalabarg.backoffice import objections as decisions
from kalabarg.lib.identifiers import mask_national_code
from kalabarg.lib.persian import to_persian_digits
from settlements.selectors import wallet_balance
from tests.backoffice.factories import officer_with
from tests.households.factories import make_household
from tests.settlements.factories import CREDIT, buy, charge, this_month

pytestmark = pytest.mark.django_db

QUEUE = "admin:households_objection_changelist"


def objection_of(
    *, days_ago: int, category: str = "job_loss", province: str = "تهران", decile: int = 6
) -> Objection:
    household = make_household(decile=decile, province_name=province)
    objection = file_objection(
        person=household.members.get(is_head=True), category=category, description="بازبینی کنید"
    )
    Objection.objects.filter(pk=objection.pk).update(
        created_at=timezone.now() - dt.timedelta(days=days_ago)
    )
    objection.refresh_from_db()
    return objection


def queued(admin_client, **params: str) -> list[int]:  # type: ignore[no-untyped-def]
    response = admin_client.get(reverse(QUEUE), params)
    assert response.status_code == 200
    return [objection.pk for objection in response.context["cl"].result_list]


def test_the_queue_lists_open_objections_oldest_first(admin_client):
    recent = objection_of(days_ago=1)
    oldest = objection_of(days_ago=40)
    middle = objection_of(days_ago=10)
    decided = objection_of(days_ago=50)
    decisions.reject_objection(objection=decided, reason="درست است", decided_by=None)

    assert queued(admin_client) == [oldest.pk, middle.pk, recent.pk]


def test_decided_objections_are_listed_on_request_newest_filed_first(admin_client):
    decided = objection_of(days_ago=50)
    decisions.reject_objection(objection=decided, reason="درست است", decided_by=None)
    open_one = objection_of(days_ago=1)

    assert queued(admin_client, status="rejected") == [decided.pk]
    assert queued(admin_client, status="all") == [open_one.pk, decided.pk]


def test_a_search_lists_the_households_objections_whatever_their_status(admin_client):
    decided = objection_of(days_ago=50)
    decisions.reject_objection(objection=decided, reason="درست است", decided_by=None)
    objection_of(days_ago=3)
    code = decided.household.members.get(is_head=True).national_code

    assert queued(admin_client, q=code) == [decided.pk]


def test_the_queue_filters_by_province(admin_client):
    tehran = objection_of(days_ago=2)
    fars = objection_of(days_ago=3, province="فارس")

    assert queued(admin_client, province=str(fars.household.province_id)) == [fars.pk]
    assert queued(admin_client, province=str(tehran.household.province_id)) == [tehran.pk]


def test_the_queue_filters_by_category(admin_client):
    objection_of(days_ago=2, category="job_loss")
    illness = objection_of(days_ago=3, category="illness")

    assert queued(admin_client, category__exact="illness") == [illness.pk]


def test_the_queue_filters_by_how_long_objections_have_waited(admin_client):
    fresh = objection_of(days_ago=2)
    weeks = objection_of(days_ago=12)
    stale = objection_of(days_ago=45)

    assert queued(admin_client, age="lt7") == [fresh.pk]
    assert queued(admin_client, age="7to30") == [weeks.pk]
    assert queued(admin_client, age="gt30") == [stale.pk]


def test_the_queue_never_offers_facet_counts(admin_client):
    objection_of(days_ago=2)

    response = admin_client.get(reverse(QUEUE))

    assert "_facets" not in response.content.decode()
    assert response.context["cl"].show_full_result_count is False


def test_the_decision_page_shows_the_household_beside_the_form(admin_client):
    objection = objection_of(days_ago=5, decile=1)
    household = objection.household
    head = household.members.get(is_head=True)
    cycle = charge(this_month())
    purchase = buy(household, cycle=cycle, base=1_000_000, current=1_500_000)

    response = admin_client.get(reverse("admin:households_objection_change", args=[objection.pk]))

    content = response.content.decode()
    assert response.status_code == 200
    assert 'name="decision"' in content  # the form
    assert mask_national_code(head.national_code) in content  # members, masked
    assert "بارگذاری از سامانه رفاه" in content  # the decile history
    assert "۱٬۵۰۰٬۰۰۰ ریال" in content  # the wallet after the purchase's 500,000 of credit
    assert reverse("admin:stores_purchase_change", args=[purchase.pk]) in content
    assert reverse("backoffice:household", args=[household.pk]) in content  # the full page


def test_an_officer_who_may_not_view_households_decides_without_the_household_panel(client):
    objection = objection_of(days_ago=5)
    client.force_login(officer_with("households.view_objection", "households.change_objection"))

    response = client.get(reverse("admin:households_objection_change", args=[objection.pk]))

    assert response.status_code == 200
    assert 'name="decision"' in response.content.decode()
    assert "اعضای خانوار" not in response.content.decode()


def test_accepting_from_the_queue_applies_the_decile_and_charges_the_newly_covered_household(
    admin_client, admin_user, django_capture_on_commit_callbacks
):
    # Given a decile-9 household (not covered), this month charged, with an open objection
    objection = objection_of(days_ago=0, decile=9)
    household = objection.household
    charge(this_month())
    assert wallet_balance(household_id=household.pk) == 0
    today = timezone.localdate()
    typed = to_persian_digits(jdatetime.date.fromgregorian(date=today).strftime("%Y/%m/%d"))

    # When an officer accepts it from the queue's decision page with decile 2 from today
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:households_objection_change", args=[objection.pk]),
            {"decision": "accept", "decided_decile": "۲", "decided_from": typed,
             "reason": "مدارک بیکاری دیده شد"},
        )  # fmt: skip

    # Then the decision service wrote the decile and the money core charged the credit
    assert response.status_code == 302
    objection.refresh_from_db()
    assert (objection.status, objection.new_decile, objection.decided_by) == (
        ObjectionStatus.ACCEPTED, 2, admin_user,
    )  # fmt: skip
    row = DecileAssignment.objects.get(pk=objection.decile_assignment_id)
    assert (row.source, row.decile, row.effective_from) == (DecileSource.OBJECTION, 2, today)
    assert decile_on(household_id=household.pk, on_date=today) == 2
    assert wallet_balance(household_id=household.pk) == CREDIT
