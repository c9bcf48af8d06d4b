"""Typed inputs for the identifier tests (digits of other scripts, and the refusal they expect), and
officers with their TOTP devices for the admin login tests."""

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.http import HttpResponse
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from kalabarg.lib.identifiers import IdentifierError

PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
PERSIAN_LETTERS = re.compile(r"[\u0600-\u06FF]")


def raise_code(func: Callable[[str], object], value: str) -> IdentifierError:
    """The ``IdentifierError`` that ``func(value)`` raises (the test fails if it raises none)."""
    with pytest.raises(IdentifierError) as excinfo:
        func(value)
    return excinfo.value


# --- Officers' admin login (kalabarg/lib/officer_auth.py) -------------------------------------
OFFICER_PASSWORD = "amber-kettle-river-1403"


def make_officer(
    *, username: str = "clerk", with_device: bool = True, superuser: bool = False
) -> tuple[Any, TOTPDevice | None]:
    """A staff user with OFFICER_PASSWORD and, unless told otherwise, one confirmed TOTP device."""
    user_model = get_user_model()
    if superuser:
        user = user_model.objects.create_superuser(username, password=OFFICER_PASSWORD)
    else:
        user = user_model.objects.create_user(username, password=OFFICER_PASSWORD, is_staff=True)
    device = None
    if with_device:
        device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    return user, device


def totp_token(device: TOTPDevice, *, steps: int = 0) -> str:
    """The code the officer's authenticator app shows now (``steps`` time steps later)."""
    value = totp(
        device.bin_key,
        step=device.step,
        t0=device.t0,
        digits=device.digits,
        drift=device.drift + steps,
    )
    return f"{value:0{device.digits}d}"


def wrong_token(device: TOTPDevice) -> str:
    """A six-digit code that none of the accepted time steps produces."""
    accepted = {totp_token(device, steps=s) for s in (-1, 0, 1)}
    return next(code for code in ("000000", "111111", "222222", "333333") if code not in accepted)


def admin_login(
    client: Client,
    *,
    username: str,
    password: str = OFFICER_PASSWORD,
    token: str | None = None,
    ip: str = "10.0.0.1",
) -> HttpResponse:
    """Post the officers' login form as a browser at ``ip`` would."""
    data = {"username": username, "password": password, "next": "/admin/"}
    if token is not None:
        data["otp_token"] = token
    response: HttpResponse = client.post("/admin/login/?next=/admin/", data, REMOTE_ADDR=ip)
    return response
