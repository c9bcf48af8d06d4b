import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from households import services
from households.models import AccessToken, PaymentCode, Person, Relation
from tests.households.factories import PersonFactory, make_household

pytestmark = pytest.mark.django_db

URL = "/api/v1/me/payment-codes/"


def signed_in(person: Person) -> APIClient:
    key, _ = services.issue_access_token(person=person)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def test_a_head_creates_an_eight_digit_code_valid_ten_minutes_stored_only_hashed():
    head = make_household().members.get()

    response = signed_in(head).post(URL)

    body = response.json()
    assert response.status_code == 201
    assert len(body["payment_code"]) == 8 and body["payment_code"].isdigit()
    assert body["valid_seconds"] == 600
    record = PaymentCode.objects.get()
    assert record.code_hash != body["payment_code"] and body["payment_code"] not in record.code_hash
    assert abs(record.expires_at - record.created_at - dt.timedelta(minutes=10)) < dt.timedelta(
        seconds=1
    )


def test_a_member_who_is_not_the_head_cannot_create_a_code():
    household = make_household()
    spouse = PersonFactory(
        household=household, first_name="رضا", relation=Relation.SPOUSE, birth_date=None
    )

    response = signed_in(spouse).post(URL)

    assert (response.status_code, response.json()["code"]) == (403, "not_head")


def test_at_most_three_live_codes_at_a_time():
    client = signed_in(make_household().members.get())
    for _ in range(3):
        assert client.post(URL).status_code == 201

    response = client.post(URL)

    assert (response.status_code, response.json()["code"]) == (403, "too_many_payment_codes")


def test_no_token_or_a_bad_token_is_401():
    assert APIClient().post(URL).status_code == 401
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer nonsense")
    response = client.post(URL)
    assert (response.status_code, response.json()["code"]) == (401, "token_invalid")


def test_an_expired_or_revoked_token_no_longer_works():
    head = make_household().members.get()
    key, token = services.issue_access_token(person=head)
    AccessToken.objects.filter(pk=token.pk).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    other_key, _ = services.issue_access_token(person=head)
    services.revoke_access_token(key=other_key)

    assert services.person_for_access_token(key=key) is None
    assert services.person_for_access_token(key=other_key) is None
