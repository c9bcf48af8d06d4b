"""Officers' admin login: a TOTP code after the password (django-otp), and its enrolment command."""

import io
import os
import subprocess
import sys
from base64 import b32decode
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from django.core.management import CommandError, call_command
from django.http import HttpRequest
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.lib.factories import (
    OFFICER_PASSWORD,
    admin_login,
    make_officer,
    totp_token,
    wrong_token,
)

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def test_with_totp_required_a_password_alone_is_refused_and_the_page_asks_for_the_code(client):
    make_officer()

    response = admin_login(client, username="clerk")

    assert response.status_code == 200
    page = response.content.decode()
    assert "رمز یک‌بارمصرف را از برنامهٔ احراز هویت بنویسید" in page
    assert 'name="otp_token"' in page
    assert client.get("/admin/").status_code == 302


def test_the_password_and_the_current_code_let_the_officer_in(client):
    _, device = make_officer()

    response = admin_login(client, username="clerk", token=totp_token(device))

    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_a_wrong_code_is_refused(client):
    _, device = make_officer()

    response = admin_login(client, username="clerk", token=wrong_token(device))

    assert response.status_code == 200
    assert "رمز یک‌بارمصرف درست نیست" in response.content.decode()
    assert client.get("/admin/").status_code == 302


def test_an_officer_logged_in_by_password_only_is_sent_back_for_the_code():
    make_officer()
    browser = Client()  # the stock client: its force_login knows nothing of TOTP
    assert browser.login(request=HttpRequest(), username="clerk", password=OFFICER_PASSWORD)

    index = browser.get("/admin/")
    login_page = browser.get(index["Location"]).content.decode()

    assert index.status_code == 302 and index["Location"].startswith("/admin/login/")
    assert 'name="otp_token"' in login_page
    assert "گذرواژه و رمز یک‌بارمصرف را بنویسید" in login_page


def test_an_officer_without_a_device_is_told_how_to_get_one(client):
    make_officer(with_device=False)

    response = admin_login(client, username="clerk", token="123456")

    assert "برای شما هنوز برنامهٔ احراز هویت ثبت نشده است" in response.content.decode()
    assert client.get("/admin/").status_code == 302


def test_with_totp_off_the_password_is_enough_and_the_login_page_says_so(client, settings):
    settings.OFFICER_TOTP_REQUIRED = False
    make_officer(with_device=False)

    login_page = client.get("/admin/login/").content.decode()
    response = admin_login(client, username="clerk")

    assert 'id="officer-totp-off"' in login_page and 'name="otp_token"' not in login_page
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


@pytest.mark.parametrize(
    ("environment", "required"),
    [
        ({}, "True"),
        ({"DEBUG": "1"}, "False"),
        ({"DEBUG": "1", "OFFICER_TOTP_REQUIRED": "1"}, "True"),
    ],
)
def test_totp_is_required_unless_debug_or_told_otherwise(environment, required):
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "OFFICER_TOTP_REQUIRED"}}
    code = "import django; django.setup(); from django.conf import settings as s; print(s.OFFICER_TOTP_REQUIRED)"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "kalabarg.settings", **environment},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == required


def test_officer_totp_enrols_a_device_whose_code_opens_the_admin(client):
    user, old = make_officer()
    out = io.StringIO()

    call_command("officer_totp", "clerk", stdout=out)

    printed = out.getvalue()
    url = next(line for line in printed.splitlines() if line.startswith("otpauth://totp/"))
    assert "█" in printed or "▀" in printed  # the QR code, drawn in the terminal
    device = TOTPDevice.objects.get(user=user)
    assert old is not None and device.pk != old.pk  # the earlier phone no longer works
    secret = parse_qs(urlparse(url).query)["secret"][0]
    assert b32decode(secret + "=" * (-len(secret) % 8)) == device.bin_key
    response = admin_login(client, username="clerk", token=totp_token(device))
    assert response.status_code == 302 and response["Location"] == "/admin/"


def test_officer_totp_refuses_someone_who_is_not_an_officer(django_user_model):
    django_user_model.objects.create_user("citizen", password=OFFICER_PASSWORD)

    with pytest.raises(CommandError, match="not an active officer"):
        call_command("officer_totp", "citizen", stdout=io.StringIO())
    with pytest.raises(CommandError, match="no user named"):
        call_command("officer_totp", "nobody", stdout=io.StringIO())
    assert not TOTPDevice.objects.exists()


def test_the_admin_lists_the_officers_totp_devices(admin_client):
    make_officer()

    listing = admin_client.get(reverse("admin:otp_totp_totpdevice_changelist"))

    assert listing.status_code == 200 and "clerk" in listing.content.decode()


def test_officer_totp_no_qr_prints_the_url_only():
    make_officer(with_device=False)
    out = io.StringIO()

    call_command("officer_totp", "clerk", "--no-qr", stdout=out)

    assert "otpauth://totp/Kalabarg%3Aclerk?secret=" in out.getvalue()
    assert "█" not in out.getvalue() and "▀" not in out.getvalue()
