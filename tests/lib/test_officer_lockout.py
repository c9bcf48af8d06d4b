"""Officers' admin login: django-axes locks a username from one address after five failures."""

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from tests.lib.factories import admin_login, make_officer, totp_token, wrong_token

pytestmark = pytest.mark.django_db


def fail_five_times(client: Client, username: str = "clerk", ip: str = "10.0.0.1") -> None:
    for _ in range(5):
        response = admin_login(client, username=username, password="not-the-password", ip=ip)
        assert response.status_code in {200, 429}


def test_five_wrong_passwords_lock_out_even_the_right_password_and_code(client):
    _, device = make_officer()
    fail_five_times(client)

    response = admin_login(client, username="clerk", token=totp_token(device))

    assert response.status_code == 429
    page = response.content.decode()
    assert 'id="officer-locked-out"' in page
    assert "پس از ۵ تلاش ناموفق" in page and "تا ۶۰ دقیقه بسته است" in page
    assert "manage.py axes_reset_username" in page
    assert client.get("/admin/").status_code == 302  # not logged in


def test_four_wrong_passwords_still_let_the_right_password_in(client):
    _, device = make_officer()
    for _ in range(4):
        assert admin_login(client, username="clerk", password="nope").status_code == 200

    response = admin_login(client, username="clerk", token=totp_token(device))

    assert response.status_code == 302 and response["Location"] == "/admin/"


def test_a_lockout_leaves_other_officers_and_other_addresses_alone(client):
    _, clerk_phone = make_officer()
    _, auditor_phone = make_officer(username="auditor")
    fail_five_times(client, ip="10.0.0.1")

    other_officer = admin_login(
        Client(), username="auditor", token=totp_token(auditor_phone), ip="10.0.0.1"
    )
    # The lock is on the pair (username, address): one address cannot lock every officer out.
    from_elsewhere = admin_login(
        Client(), username="clerk", token=totp_token(clerk_phone), ip="10.0.0.2"
    )

    assert other_officer.status_code == 302
    assert from_elsewhere.status_code == 302


def test_wrong_totp_codes_after_the_right_password_count_towards_the_lockout(client, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # django-otp's own back-off would hide the count
    _, device = make_officer()
    for _ in range(5):
        response = admin_login(client, username="clerk", token=wrong_token(device))
        assert response.status_code in {200, 429}
    assert AccessAttempt.objects.get(username="clerk").failures_since_start == 5

    response = admin_login(client, username="clerk", token=totp_token(device))

    assert response.status_code == 429


def test_axes_reset_username_unlocks_the_officer(client):
    _, device = make_officer()
    fail_five_times(client)
    assert admin_login(client, username="clerk", token=totp_token(device)).status_code == 429

    call_command("axes_reset_username", "clerk")

    response = admin_login(client, username="clerk", token=totp_token(device))
    assert response.status_code == 302 and response["Location"] == "/admin/"


def test_an_officer_unlocks_another_in_the_admin(client, admin_client):
    _, device = make_officer()
    fail_five_times(client)
    attempt = AccessAttempt.objects.get(username="clerk")

    listing = admin_client.get(reverse("admin:axes_accessattempt_changelist"))
    assert listing.status_code == 200 and "clerk" in listing.content.decode()
    deleted = admin_client.post(
        reverse("admin:axes_accessattempt_delete", args=[attempt.pk]), {"post": "yes"}
    )
    assert deleted.status_code == 302

    response = admin_login(client, username="clerk", token=totp_token(device))
    assert response.status_code == 302 and response["Location"] == "/admin/"


def test_behind_the_trusted_proxy_the_lockout_counts_the_client_not_the_proxy(settings):
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    _, device = make_officer()
    attacker = Client(HTTP_X_FORWARDED_FOR="203.0.113.9")
    for _ in range(5):
        admin_login(attacker, username="clerk", password="nope", ip="127.0.0.1")

    # The officer's own browser reaches the same proxy from another address
    own = admin_login(
        Client(HTTP_X_FORWARDED_FOR="198.51.100.7"),
        username="clerk",
        token=totp_token(device),
        ip="127.0.0.1",
    )
    again = admin_login(attacker, username="clerk", token=totp_token(device), ip="127.0.0.1")

    assert own.status_code == 302
    assert again.status_code == 429
