"""A new registered mobile ends the person's portal sessions and app tokens (the old phone's),
whether an officer changes it (once a second officer approves it) or the registry import does."""

import io

import pytest
from django.urls import reverse

from approvals.models import ChangeRequest
from households import approvals as four_eyes
from households import services
from households.importer import import_households
from households.models import AccessToken, Person
from kalabarg.lib.persian import to_persian_digits
from kalabarg.portal import login as login_service
from tests.households.factories import (
    HEADER,
    decide_in_admin,
    make_household,
    next_mobile,
    pending_request,
    row,
)
from tests.portal.conftest import api_client, signed_in_client

pytestmark = pytest.mark.django_db


def _head() -> Person:
    return make_household().members.get(is_head=True)


def _signed_in_everywhere(person: Person):  # type: ignore[no-untyped-def]
    web, app = signed_in_client(person), api_client(person)
    assert web.get("/me/").status_code == 200
    assert app.get("/api/v1/me/").status_code == 200
    return web, app


def _signed_out(web, app) -> bool:  # type: ignore[no-untyped-def]
    page = web.get("/me/")
    return (
        page.status_code == 302
        and page["Location"].startswith("/login/")
        and app.get("/api/v1/me/").status_code == 401
    )


def _officer_saves(admin_client, person: Person, *, mobile: str):  # type: ignore[no-untyped-def]
    return admin_client.post(
        reverse("admin:households_person_change", args=[person.pk]),
        {
            "first_name": person.first_name,
            "last_name": person.last_name,
            "birth_date": "1980-01-01",
            "gender": "F",
            "mobile": mobile,
            "cards-TOTAL_FORMS": "0",
            "cards-INITIAL_FORMS": "0",
            "cards-MIN_NUM_FORMS": "0",
            "cards-MAX_NUM_FORMS": "1000",
        },
    )


def test_an_officer_changing_a_mobile_signs_the_person_out_of_the_portal_and_the_app(
    admin_client,
):
    head, other = _head(), _head()
    web, app = _signed_in_everywhere(head)
    other_web, other_app = _signed_in_everywhere(other)

    response = _officer_saves(admin_client, head, mobile=next_mobile())
    assert response.status_code == 302
    assert web.get("/me/").status_code == 200  # a request: nothing changes before approval

    decide_in_admin(pending_request(four_eyes.MOBILE))

    assert _signed_out(web, app)
    assert not AccessToken.objects.filter(person=head, revoked_at__isnull=True).exists()
    assert other_web.get("/me/").status_code == 200
    assert other_app.get("/api/v1/me/").status_code == 200


def test_an_officer_saving_the_same_mobile_keeps_the_person_signed_in(admin_client):
    head = _head()
    web, app = _signed_in_everywhere(head)

    response = _officer_saves(admin_client, head, mobile=to_persian_digits(head.mobile))

    assert response.status_code == 302
    assert not ChangeRequest.objects.exists()  # the same number: nothing to approve
    assert web.get("/me/").status_code == 200
    assert app.get("/api/v1/me/").status_code == 200


def test_a_session_opened_by_the_real_login_ends_when_the_mobile_changes(client, sms_outbox):
    head = _head()
    client.post("/login/", {"national_code": head.national_code, "mobile": head.mobile})
    client.post("/login/code/", {"code": sms_outbox.login_code(head.mobile)})
    assert client.get("/me/").status_code == 200

    services.change_mobile(person=head, mobile=next_mobile())

    assert client.get("/me/")["Location"].startswith("/login/")


def test_a_code_sent_to_the_old_mobile_stops_working_when_the_mobile_changes(sms_outbox):
    head = _head()
    login_service.request_login_code(
        national_code=head.national_code, mobile=head.mobile, ip="198.51.100.1"
    )
    code = sms_outbox.login_code(head.mobile)

    services.change_mobile(person=head, mobile=next_mobile())

    with pytest.raises(login_service.LoginRefused) as refused:
        login_service.verify_login_code(
            national_code=head.national_code, code=code, ip="198.51.100.1"
        )
    assert refused.value.code == "login_code_invalid"


def _import(*lines: str) -> None:
    result = import_households(stream=io.StringIO("\n".join([HEADER, *lines]) + "\n"))
    assert result.errors == []


def test_a_registry_import_with_a_new_mobile_signs_the_person_out(settings):
    changed = {"household_id": "HM1", "national_code": "0084575948", "mobile": next_mobile()}
    kept = {"household_id": "HM2", "national_code": "0013542419", "mobile": next_mobile()}
    _import(row(**changed), row(**kept))
    head = Person.objects.get(national_code=changed["national_code"])
    other = Person.objects.get(national_code=kept["national_code"])
    web, app = _signed_in_everywhere(head)
    other_web, other_app = _signed_in_everywhere(other)

    _import(row(**{**changed, "mobile": next_mobile()}), row(**kept))

    assert _signed_out(web, app)
    assert other_web.get("/me/").status_code == 200
    assert other_app.get("/api/v1/me/").status_code == 200
