"""The household app API: SMS login to a bearer token, me, purchases, objections, logout."""

import pytest
from rest_framework.test import APIClient

from tests.households.factories import make_household
from tests.portal.conftest import api_client
from tests.portal.factories import this_month, with_purchases

pytestmark = pytest.mark.django_db


def test_the_app_logs_in_with_the_sms_code_and_gets_a_working_bearer_token(sms_outbox):
    head = make_household().members.get(is_head=True)
    client = APIClient()

    sent = client.post(
        "/api/v1/auth/otp/",
        {"national_code": head.national_code, "mobile": head.mobile},
        format="json",
    )
    token = client.post(
        "/api/v1/auth/token/",
        {"national_code": head.national_code, "code": sms_outbox.login_code(head.mobile)},
        format="json",
    )

    assert sent.status_code == 202 and sent.json()["resend_after_seconds"] == 60
    assert token.status_code == 200 and token.json()["token_type"] == "Bearer"
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.json()['token']}")
    assert client.get("/api/v1/me/").status_code == 200


def test_a_wrong_code_is_refused_with_one_code_for_every_reason(sms_outbox):
    head = make_household().members.get(is_head=True)
    client = APIClient()
    client.post(
        "/api/v1/auth/otp/",
        {"national_code": head.national_code, "mobile": head.mobile},
        format="json",
    )

    response = client.post(
        "/api/v1/auth/token/",
        {"national_code": head.national_code, "code": "12345x"},
        format="json",
    )
    wrong = client.post(
        "/api/v1/auth/token/", {"national_code": head.national_code, "code": "000000"}
        if sms_outbox.login_code(head.mobile) != "000000" else {"national_code": head.national_code, "code": "111111"},
        format="json",
    )  # fmt: skip

    assert (response.status_code, response.json()["code"]) == (400, "code_format")
    assert (wrong.status_code, wrong.json()["code"]) == (400, "login_code_invalid")


def test_a_resend_within_a_minute_is_429_with_retry_after():
    head = make_household().members.get(is_head=True)
    client = APIClient()
    data = {"national_code": head.national_code, "mobile": head.mobile}
    client.post("/api/v1/auth/otp/", data, format="json")

    response = client.post("/api/v1/auth/otp/", data, format="json")

    assert (response.status_code, response.json()["code"]) == (429, "resend_too_soon")
    assert 0 < int(response["Retry-After"]) <= 60


def test_logout_revokes_the_token():
    client = api_client(make_household().members.get(is_head=True))

    assert client.post("/api/v1/auth/logout/").status_code == 204

    response = client.get("/api/v1/me/")
    assert (response.status_code, response.json()["code"]) == (401, "token_invalid")


def test_me_has_the_decile_eligibility_balance_and_bonus_progress():
    household = make_household(members=1, decile=4)
    cycle = this_month()
    with_purchases(household, count=1, cycle=cycle)

    body = api_client(household.members.get(is_head=True)).get("/api/v1/me/").json()

    assert body["decile"]["decile"] == 4
    assert body["eligibility"]["covered"] is True and body["eligibility"]["phase"]
    assert body["balance_rial"] == 2 * 2_000_000 - 270_000
    assert body["bonus"] == {
        "cycle": cycle.key, "spent_rial": 270_000, "threshold_rial": 4_000_000,
        "remaining_rial": 3_730_000, "bonus_rial": 2_400_000, "percent": 6, "granted": False,
    }  # fmt: skip
    assert len(body["household"]["members"]) == 2
    assert all("*" in m["national_code_masked"] for m in body["household"]["members"])


def test_purchases_are_paginated_newest_first_without_a_count():
    household = make_household()
    made = with_purchases(household, count=3, cycle=this_month())
    client = api_client(household.members.get(is_head=True))

    first = client.get("/api/v1/me/purchases/", {"page_size": 2}).json()
    second = client.get(first["next"]).json()
    detail = client.get(f"/api/v1/me/purchases/{made[0].pk}/").json()

    assert [p["id"] for p in first["results"] + second["results"]] == [p.pk for p in made[::-1]]
    assert "count" not in first and second["next"] is None
    assert detail["lines"][0]["unit_base_price_rial"] == 450_000
    assert (detail["cash_rial"], detail["credit_rial"], detail["compensation_rial"]) == (
        450_000, 270_000, 0,
    )  # fmt: skip


def test_objections_are_filed_and_listed():
    client = api_client(make_household().members.get(is_head=True))

    created = client.post(
        "/api/v1/me/objections/",
        {"category": "household_changed", "description": "فرزندم به دنیا آمد"},
        format="json",
    )
    bad = client.post("/api/v1/me/objections/", {"category": "x", "description": ""}, format="json")
    listed = client.get("/api/v1/me/objections/").json()

    assert created.status_code == 201 and created.json()["status"] == "open"
    assert bad.status_code == 400 and bad.json()["code"] == "validation_error"
    assert [o["id"] for o in listed["results"]] == [created.json()["id"]]
