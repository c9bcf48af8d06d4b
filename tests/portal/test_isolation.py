"""Nobody sees what is not theirs: signed in as one household, every object of another is a 404."""

import pytest

from households.models import PaymentCode
from households.objections import file_objection
from tests.households.factories import make_household
from tests.portal.conftest import api_client, signed_in_client
from tests.portal.factories import this_month, with_purchases

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_households():
    mine, theirs = make_household(), make_household()
    cycle = this_month()
    my_purchase = with_purchases(mine, count=1, cycle=cycle)[0]
    their_purchase = with_purchases(theirs, count=1, cycle=cycle)[0]
    my_head, their_head = mine.members.get(is_head=True), theirs.members.get(is_head=True)
    their_objection = file_objection(person=their_head, category="other", description="توضیح آنها")
    my_objection = file_objection(person=my_head, category="job_loss", description="توضیح من")
    return {
        "me": my_head,
        "them": their_head,
        "my_purchase": my_purchase,
        "their_purchase": their_purchase,
        "my_objection": my_objection,
        "their_objection": their_objection,
    }


def test_another_households_purchase_and_objection_pages_are_404(two_households):
    client = signed_in_client(two_households["me"])

    assert client.get(f"/me/purchases/{two_households['my_purchase'].pk}/").status_code == 200
    assert client.get(f"/me/purchases/{two_households['their_purchase'].pk}/").status_code == 404
    assert client.get(f"/me/objections/{two_households['my_objection'].pk}/").status_code == 200
    assert client.get(f"/me/objections/{two_households['their_objection'].pk}/").status_code == 404


def test_query_parameters_naming_another_household_change_nothing(two_households):
    client = signed_in_client(two_households["me"])
    them = two_households["them"]
    foreign = {
        "household": them.household_id,
        "household_id": them.household_id,
        "person": them.pk,
        "person_id": them.pk,
        "national_code": them.national_code,
    }

    for url in ("/me/", "/me/household/", "/me/purchases/", "/me/objections/"):
        page = client.get(url, foreign).content.decode()
        assert them.masked_national_code not in page, url
        assert "توضیح آنها" not in page, url
        assert f"/me/purchases/{two_households['their_purchase'].pk}/" not in page, url
        assert f"/me/objections/{two_households['their_objection'].pk}/" not in page, url


def test_another_households_objects_through_the_api_are_404(two_households):
    client = api_client(two_households["me"])

    assert (
        client.get(f"/api/v1/me/purchases/{two_households['my_purchase'].pk}/").status_code == 200
    )
    for url in (
        f"/api/v1/me/purchases/{two_households['their_purchase'].pk}/",
        f"/api/v1/me/objections/{two_households['their_objection'].pk}/",
    ):
        response = client.get(url)
        assert (response.status_code, response.json()["code"]) == (404, "not_found"), url


def test_api_lists_and_me_ignore_parameters_naming_another_household(two_households):
    client = api_client(two_households["me"])
    them = two_households["them"]
    foreign = {"household": them.household_id, "household_id": them.household_id}

    purchases = client.get("/api/v1/me/purchases/", foreign).json()["results"]
    objections = client.get("/api/v1/me/objections/", foreign).json()["results"]
    me = client.get("/api/v1/me/", foreign).json()

    assert [p["id"] for p in purchases] == [two_households["my_purchase"].pk]
    assert [o["id"] for o in objections] == [two_households["my_objection"].pk]
    assert me["person"]["national_code_masked"] == two_households["me"].masked_national_code
    assert me["open_objection_id"] == two_households["my_objection"].pk


def test_a_payment_code_is_made_for_the_signed_in_household_only(two_households):
    signed_in_client(two_households["me"]).post(
        "/me/payment-code/", {"household": two_households["them"].household_id}
    )

    assert list(PaymentCode.objects.values_list("household_id", flat=True)) == [
        two_households["me"].household_id
    ]


def test_every_household_page_and_api_needs_a_sign_in(client, two_households):
    from rest_framework.test import APIClient

    for url in (
        "/me/",
        "/me/household/",
        "/me/purchases/",
        f"/me/purchases/{two_households['my_purchase'].pk}/",
        "/me/objections/",
        "/me/objections/new/",
        f"/me/objections/{two_households['my_objection'].pk}/",
        "/me/payment-code/",
    ):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/"), url
    api = APIClient()
    for url in (
        "/api/v1/me/",
        "/api/v1/me/purchases/",
        f"/api/v1/me/purchases/{two_households['my_purchase'].pk}/",
        "/api/v1/me/objections/",
        f"/api/v1/me/objections/{two_households['my_objection'].pk}/",
    ):
        assert api.get(url).status_code == 401, url
    assert api.post("/api/v1/me/payment-codes/").status_code == 401
    assert api.post("/api/v1/auth/logout/").status_code == 401


def test_signed_in_pages_are_not_cached(two_households):
    response = signed_in_client(two_households["me"]).get("/me/")

    assert "no-store" in response["Cache-Control"]
