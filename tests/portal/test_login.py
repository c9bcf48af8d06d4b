"""The SMS login: what it reveals (nothing), and the code's expiry, single use, tries and limits."""

import datetime as dt

import pytest
from django.conf import settings
from django.utils import timezone

from households.models import LoginCode, Person, Relation
from kalabarg.portal import login as login_service
from tests.households.factories import (
    PersonFactory,
    make_household,
    next_mobile,
    next_national_code,
)

pytestmark = pytest.mark.django_db

LOGIN, CODE = "/login/", "/login/code/"


def head_of(household) -> Person:
    return household.members.get(is_head=True)


def request_code(client, person: Person, mobile: str | None = None):
    return client.post(
        LOGIN, {"national_code": person.national_code, "mobile": mobile or person.mobile}
    )


def test_a_head_logs_in_with_national_code_mobile_and_the_sms_code(client, sms_outbox):
    head = head_of(make_household())

    response = request_code(client, head)
    assert response.status_code == 302 and response["Location"] == CODE
    code = sms_outbox.login_code(head.mobile)
    response = client.post(CODE, {"code": code})

    assert response.status_code == 302 and response["Location"] == "/me/"
    assert client.get("/me/").status_code == 200


def test_persian_digits_are_accepted_in_every_field(client, sms_outbox):
    from kalabarg.lib.persian import to_persian_digits

    head = head_of(make_household())
    client.post(
        LOGIN,
        {
            "national_code": to_persian_digits(head.national_code),
            "mobile": to_persian_digits(head.mobile),
        },
    )

    response = client.post(CODE, {"code": to_persian_digits(sms_outbox.login_code(head.mobile))})

    assert response["Location"] == "/me/"


def test_the_answer_is_the_same_for_an_unknown_code_a_wrong_mobile_and_a_match(client, sms_outbox):
    head = head_of(make_household())
    unknown = {"national_code": next_national_code(), "mobile": next_mobile()}
    wrong_mobile = {"national_code": head.national_code, "mobile": next_mobile()}
    match = {"national_code": head.national_code, "mobile": head.mobile}

    answers = []
    for data in (unknown, wrong_mobile, match):
        response = client.post(LOGIN, data)
        page = client.get(response["Location"])
        answers.append((response.status_code, response["Location"], page.status_code))
        text = page.content.decode()
        assert login_service.CODE_SENT_MESSAGE in text

    assert answers[0] == answers[1] == answers[2]
    assert [sms.mobile for sms in sms_outbox] == [head.mobile]


def test_the_api_answer_is_the_same_whether_or_not_the_national_code_exists(sms_outbox):
    from rest_framework.test import APIClient

    head = head_of(make_household())
    client = APIClient()
    bodies = []
    for data in (
        {"national_code": next_national_code(), "mobile": head.mobile},
        {"national_code": head.national_code, "mobile": next_mobile()},
        {"national_code": head.national_code, "mobile": head.mobile},
    ):
        response = client.post("/api/v1/auth/otp/", data, format="json")
        bodies.append((response.status_code, response.json()))

    assert bodies[0] == bodies[1] == bodies[2]
    assert bodies[0][0] == 202


def test_a_malformed_national_code_is_an_error_next_to_the_field_and_keeps_what_was_typed(client):
    response = client.post(LOGIN, {"national_code": "12345", "mobile": "0912"})

    page = response.content.decode()
    assert response.status_code == 400
    assert 'id="id_national_code-error"' in page and 'aria-invalid="true"' in page
    assert 'value="12345"' in page


def test_the_code_is_stored_only_as_a_keyed_hash(client, sms_outbox):
    head = head_of(make_household())
    request_code(client, head)

    code = sms_outbox.login_code(head.mobile)
    record = LoginCode.objects.get()

    assert code not in record.code_hash and len(record.code_hash) == 64


def test_the_code_expires_after_two_minutes(client, sms_outbox):
    head = head_of(make_household())
    request_code(client, head)
    code = sms_outbox.login_code(head.mobile)
    LoginCode.objects.update(
        created_at=timezone.now() - dt.timedelta(minutes=2, seconds=1),
        expires_at=timezone.now() - dt.timedelta(seconds=1),
    )

    response = client.post(CODE, {"code": code})

    assert response.status_code == 400
    assert login_service.CODE_INVALID_MESSAGE in response.content.decode()


def test_the_code_works_only_once(client, sms_outbox):
    head = head_of(make_household())
    request_code(client, head)
    code = sms_outbox.login_code(head.mobile)

    person = login_service.verify_login_code(
        national_code=head.national_code, code=code, ip="1.1.1.1"
    )
    assert person == head
    with pytest.raises(login_service.LoginRefused) as refused:
        login_service.verify_login_code(national_code=head.national_code, code=code, ip="1.1.1.1")

    assert refused.value.code == "login_code_invalid"


def test_a_wrong_code_is_refused_and_five_wrong_tries_kill_the_code(client, sms_outbox):
    head = head_of(make_household())
    request_code(client, head)
    code = sms_outbox.login_code(head.mobile)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"

    for _ in range(5):
        response = client.post(CODE, {"code": wrong})
        assert response.status_code == 400
    response = client.post(CODE, {"code": code})

    assert response.status_code == 400
    assert LoginCode.objects.get().attempts == 5
    assert "portal_person_id" not in client.session


def test_a_killed_code_and_an_unknown_national_code_get_the_same_refusal(sms_outbox):
    head = head_of(make_household())
    login_service.request_login_code(national_code=head.national_code, mobile=head.mobile, ip="a")
    LoginCode.objects.update(attempts=5)

    refusals = []
    for national_code in (head.national_code, next_national_code()):
        with pytest.raises(login_service.LoginRefused) as refused:
            login_service.verify_login_code(national_code=national_code, code="123456", ip="b")
        refusals.append((refused.value.code, refused.value.message, refused.value.retry_after))

    assert refusals[0] == refusals[1]


def test_a_new_code_waits_sixty_seconds_and_then_replaces_the_old_one(sms_outbox, monkeypatch):
    head = head_of(make_household())
    login_service.request_login_code(national_code=head.national_code, mobile=head.mobile, ip="a")
    first = sms_outbox.login_code(head.mobile)

    with pytest.raises(login_service.LoginRefused) as refused:
        login_service.request_login_code(
            national_code=head.national_code, mobile=head.mobile, ip="a"
        )
    assert refused.value.code == "resend_too_soon"
    assert 0 < refused.value.retry_after <= 60

    from kalabarg.lib import ratelimit

    ratelimit.clear_hold("otp-resend", f"{head.national_code}:{head.mobile}")  # a minute later
    login_service.request_login_code(national_code=head.national_code, mobile=head.mobile, ip="a")
    second = sms_outbox.login_code(head.mobile)

    assert len(sms_outbox) == 2
    if first != second:
        with pytest.raises(login_service.LoginRefused):
            login_service.verify_login_code(national_code=head.national_code, code=first, ip="a")
    assert (
        login_service.verify_login_code(national_code=head.national_code, code=second, ip="a")
        == head
    )


def test_code_requests_are_limited_per_national_code_and_mobile_whether_or_not_it_exists(
    sms_outbox,
):
    from kalabarg.lib import ratelimit

    for national_code in (head_of(make_household()).national_code, next_national_code()):
        limit = login_service.REQUESTS_PER_PAIR.limit
        for attempt in range(limit):
            ratelimit.clear_hold("otp-resend", f"{national_code}:09120000000")
            login_service.request_login_code(
                national_code=national_code, mobile="09120000000", ip=f"10.0.0.{attempt}"
            )
        ratelimit.clear_hold("otp-resend", f"{national_code}:09120000000")

        with pytest.raises(login_service.LoginRefused) as refused:
            login_service.request_login_code(
                national_code=national_code, mobile="09120000000", ip="10.0.1.1"
            )

        assert refused.value.code == "too_many_requests"


def test_code_requests_are_limited_per_ip_address(client):
    limit = login_service.REQUESTS_PER_IP.limit
    for _ in range(limit):
        response = client.post(
            LOGIN, {"national_code": next_national_code(), "mobile": next_mobile()}
        )
        assert response.status_code == 302

    response = client.post(LOGIN, {"national_code": next_national_code(), "mobile": next_mobile()})

    assert response.status_code == 429


def test_code_tries_are_limited_per_national_code_across_codes(sms_outbox):
    from kalabarg.lib import ratelimit

    head = head_of(make_household())
    limit = login_service.VERIFICATIONS_PER_NATIONAL_CODE.limit
    for attempt in range(limit):
        if attempt % 5 == 0:  # a code dies after five wrong tries: the person asks for a new one
            ratelimit.clear_hold("otp-resend", f"{head.national_code}:{head.mobile}")
            login_service.request_login_code(
                national_code=head.national_code, mobile=head.mobile, ip=f"10.2.0.{attempt}"
            )
        wrong = "000000" if sms_outbox.login_code(head.mobile) != "000000" else "111111"
        with pytest.raises(login_service.LoginRefused) as refused:
            login_service.verify_login_code(
                national_code=head.national_code, code=wrong, ip=f"10.1.0.{attempt}"
            )
        assert refused.value.code == "login_code_invalid"
    ratelimit.clear_hold("otp-resend", f"{head.national_code}:{head.mobile}")
    login_service.request_login_code(
        national_code=head.national_code, mobile=head.mobile, ip="10.2.1.1"
    )

    with pytest.raises(login_service.LoginRefused) as refused:
        login_service.verify_login_code(
            national_code=head.national_code, code=sms_outbox.login_code(head.mobile), ip="x"
        )

    assert refused.value.code == "too_many_requests"


def test_wrong_mobiles_and_guesses_without_a_code_do_not_lock_the_person_out(sms_outbox):
    head = head_of(make_household())
    for attempt in range(50):
        login_service.request_login_code(
            national_code=head.national_code, mobile=next_mobile(), ip=f"10.3.{attempt}.1"
        )
        with pytest.raises(login_service.LoginRefused) as refused:
            login_service.verify_login_code(
                national_code=head.national_code, code="123456", ip=f"10.4.{attempt}.1"
            )
        assert refused.value.code == "login_code_invalid"
    assert len(sms_outbox) == 0

    login_service.request_login_code(
        national_code=head.national_code, mobile=head.mobile, ip="10.5.0.1"
    )
    person = login_service.verify_login_code(
        national_code=head.national_code, code=sms_outbox.login_code(head.mobile), ip="10.5.0.1"
    )

    assert person == head


def test_an_adult_member_with_a_mobile_may_log_in_but_a_child_may_not(sms_outbox):
    household = make_household()
    spouse = PersonFactory(
        household=household, first_name="رضا", relation=Relation.SPOUSE,
        birth_date=dt.date(1980, 1, 1), mobile=next_mobile(),
    )  # fmt: skip
    teen = PersonFactory(
        household=household, first_name="سارا", relation=Relation.CHILD,
        birth_date=timezone.localdate() - dt.timedelta(days=17 * 365), mobile=next_mobile(),
    )  # fmt: skip

    for person in (spouse, teen):
        login_service.request_login_code(
            national_code=person.national_code, mobile=person.mobile, ip="a"
        )

    assert [sms.mobile for sms in sms_outbox] == [spouse.mobile]


def test_logout_is_a_post_and_ends_the_session(client, sms_outbox):
    head = head_of(make_household())
    request_code(client, head)
    client.post(CODE, {"code": sms_outbox.login_code(head.mobile)})

    assert client.get("/logout/").status_code == 405
    response = client.post("/logout/")

    assert response.status_code == 302
    assert client.get("/me/")["Location"].startswith("/login/")


def test_login_rotates_the_session_key(client, sms_outbox):
    head = head_of(make_household())
    request_code(client, head)
    before = client.session.session_key

    client.post(CODE, {"code": sms_outbox.login_code(head.mobile)})

    assert client.session.session_key != before


def test_a_next_address_on_another_host_is_ignored(client, sms_outbox):
    head = head_of(make_household())
    client.post(
        f"{LOGIN}?next=https://evil.example/",
        {"national_code": head.national_code, "mobile": head.mobile},
    )

    response = client.post(CODE, {"code": sms_outbox.login_code(head.mobile)})

    assert response["Location"] == "/me/"


def test_session_cookies_are_http_only_same_site_and_secure_outside_debug():
    assert settings.SESSION_COOKIE_HTTPONLY is True
    assert settings.SESSION_COOKIE_SAMESITE == "Lax"
    assert settings.SESSION_COOKIE_SECURE is (not settings.DEBUG)
    assert settings.SESSION_SAVE_EVERY_REQUEST and settings.SESSION_COOKIE_AGE == 15 * 60


def _post_login_from(client, *, peer: str, forwarded_for: str):
    return client.post(
        LOGIN,
        {"national_code": next_national_code(), "mobile": next_mobile()},
        REMOTE_ADDR=peer,
        HTTP_X_FORWARDED_FOR=forwarded_for,
    )


def test_a_spoofed_forwarded_for_from_an_untrusted_peer_does_not_escape_the_ip_limit(
    client, settings
):
    settings.TRUSTED_PROXIES = ["10.0.0.1"]
    limit = login_service.REQUESTS_PER_IP.limit
    for attempt in range(limit):
        response = _post_login_from(client, peer="203.0.113.9", forwarded_for=f"1.2.3.{attempt}")
        assert response.status_code == 302

    response = _post_login_from(client, peer="203.0.113.9", forwarded_for="1.2.4.1")

    assert response.status_code == 429


def test_two_clients_behind_the_trusted_proxy_have_separate_ip_limits(client, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.1"]
    limit = login_service.REQUESTS_PER_IP.limit
    for _ in range(limit):
        response = _post_login_from(client, peer="10.0.0.1", forwarded_for="198.51.100.1")
        assert response.status_code == 302
    refused = _post_login_from(client, peer="10.0.0.1", forwarded_for="198.51.100.1")

    other = _post_login_from(client, peer="10.0.0.1", forwarded_for="198.51.100.2")

    assert (refused.status_code, other.status_code) == (429, 302)


def test_the_app_api_counts_the_client_behind_the_trusted_proxy(settings):
    from rest_framework.test import APIClient

    settings.TRUSTED_PROXIES = ["10.0.0.1"]
    api = APIClient()
    limit = login_service.REQUESTS_PER_IP.limit

    def ask(client_address: str) -> int:
        return api.post(
            "/api/v1/auth/otp/",
            {"national_code": next_national_code(), "mobile": next_mobile()},
            format="json",
            REMOTE_ADDR="10.0.0.1",
            HTTP_X_FORWARDED_FOR=client_address,
        ).status_code

    statuses = [ask("198.51.100.1") for _ in range(limit + 1)]

    assert statuses[-2:] == [202, 429] and ask("198.51.100.2") == 202
