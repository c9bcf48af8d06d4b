"""The head turns the message after each purchase on or off on the household page (issue 13 §6)."""

import datetime as dt
import re

import pytest

from households.models import Household
from tests.households.factories import make_household, next_mobile
from tests.portal.conftest import api_client, signed_in_client

pytestmark = pytest.mark.django_db

URL = "/me/household/purchase-sms/"


@pytest.fixture
def household() -> Household:
    return make_household(decile=4, members=2)


def test_the_household_page_shows_the_choice_to_the_head_checked_as_it_stands(household):
    client = signed_in_client(household.members.get(is_head=True))
    page = client.get("/me/household/").content.decode()
    assert "پیامک پس از هر خرید" in page
    assert f'action="{URL}"' in page and "csrfmiddlewaretoken" in page
    assert re.search(r'<input[^>]*value="on"[^>]*checked', page)
    assert not re.search(r'<input[^>]*value="off"[^>]*checked', page)

    Household.objects.filter(pk=household.pk).update(purchase_sms=False)
    page = client.get("/me/household/").content.decode()
    assert re.search(r'<input[^>]*value="off"[^>]*checked', page)


def test_the_head_turns_it_off_and_on_and_is_told_so_in_persian(household):
    head = household.members.get(is_head=True)
    client = signed_in_client(head)

    response = client.post(URL, {"purchase_sms": "off"}, follow=True)
    household.refresh_from_db()
    assert household.purchase_sms is False
    assert response.redirect_chain == [("/me/household/", 302)]
    page = response.content.decode()
    assert "ذخیره شد: دیگر پس از خرید پیامک نمی‌فرستیم." in page
    assert 'role="status"' in page

    response = client.post(URL, {"purchase_sms": "on"}, follow=True)
    household.refresh_from_db()
    assert household.purchase_sms is True
    assert "ذخیره شد: پس از هر خرید" in response.content.decode()


def test_a_member_who_is_not_the_head_cannot_change_it(household):
    member = household.members.filter(is_head=False).first()
    member.birth_date, member.mobile = dt.date(1990, 1, 1), next_mobile()  # an adult who signs in
    member.save()
    client = signed_in_client(member)
    assert "فقط سرپرست خانوار می‌تواند" in client.get("/me/household/").content.decode()

    response = client.post(URL, {"purchase_sms": "off"}, follow=True)
    household.refresh_from_db()
    assert household.purchase_sms is True
    assert "فقط سرپرست خانوار می‌تواند پیامک خرید را روشن یا خاموش کند." in (
        response.content.decode()
    )


def test_a_bad_choice_is_refused_next_to_the_field_and_a_get_is_not_allowed(household):
    client = signed_in_client(household.members.get(is_head=True))
    response = client.post(URL, {"purchase_sms": "maybe"})
    assert response.status_code == 400
    assert "یکی از دو گزینه را انتخاب کنید" in response.content.decode()
    assert client.get(URL).status_code == 405
    household.refresh_from_db()
    assert household.purchase_sms is True


def test_the_change_needs_the_csrf_token_and_a_signed_in_household(household):
    from django.test import Client

    anonymous = Client().post(URL, {"purchase_sms": "off"})
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    strict = signed_in_client(household.members.get(is_head=True))
    strict.handler.enforce_csrf_checks = True
    assert strict.post(URL, {"purchase_sms": "off"}).status_code == 403
    household.refresh_from_db()
    assert household.purchase_sms is True


def test_the_choice_stands_once_in_the_page_body_and_the_title_stays_plain(household):
    client = signed_in_client(household.members.get(is_head=True))
    page = client.get("/me/household/").content.decode()
    title = re.search(r"<title>(.*?)</title>", page, re.S)
    assert title is not None and title.group(1).strip() == "خانوار — کالابرگ الکترونیک"
    assert page.count(f'action="{URL}"') == 1


def test_the_app_api_reads_and_changes_the_choice_for_the_head_only(household):
    head = household.members.get(is_head=True)
    member = household.members.filter(is_head=False).first()
    client = api_client(head)

    assert client.get("/api/v1/me/").json()["household"]["purchase_sms"] is True
    changed = client.patch("/api/v1/me/preferences/", {"purchase_sms": False}, format="json")
    assert (changed.status_code, changed.json()) == (200, {"purchase_sms": False})
    household.refresh_from_db()
    assert household.purchase_sms is False
    assert client.get("/api/v1/me/preferences/").json() == {"purchase_sms": False}

    refused = api_client(member).patch(
        "/api/v1/me/preferences/", {"purchase_sms": True}, format="json"
    )
    assert (refused.status_code, refused.json()["code"]) == (403, "not_head")
    bad = client.patch("/api/v1/me/preferences/", {"purchase_sms": "maybe"}, format="json")
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "purchase_sms"
    household.refresh_from_db()
    assert household.purchase_sms is False
