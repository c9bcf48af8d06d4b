"""The officers' admin login: a TOTP code after the password, and the client address for lockouts.

Officers (staff users) log in to the admin with a password and, when ``OFFICER_TOTP_REQUIRED``
is on (the default unless DEBUG), a six-digit code from an authenticator app (django-otp's TOTP
device, enrolled with ``manage.py officer_totp USERNAME``). django-axes counts failed logins and
locks a username from one address after ``AXES_FAILURE_LIMIT`` failures; a wrong TOTP code
counts as a failure too, so a stolen password does not buy unlimited guesses at the code.
"""

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.admin import AdminSite
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.signals import user_login_failed
from django.db import transaction
from django.http import HttpRequest
from django_otp import devices_for_user
from django_otp.forms import OTPAuthenticationFormMixin
from django_otp.models import Device
from django_otp.plugins.otp_totp.models import TOTPDevice

from kalabarg.lib.client_address import client_address

LOGIN_TEMPLATE = "admin/officer_login.html"


def client_ip(request: HttpRequest) -> str | None:
    """The address axes locks a username from: the client behind a trusted proxy
    (``kalabarg.lib.client_address``, ``TRUSTED_PROXIES``), as every per-IP limit counts it."""
    address = client_address(meta=request.META)
    return None if address == "unknown" else address  # axes stores it in an IP address field


def totp_required() -> bool:
    """Read per request, so a test (or an override) can switch it without rebuilding the site."""
    return bool(settings.OFFICER_TOTP_REQUIRED)


class OfficerLoginForm(OTPAuthenticationFormMixin, AdminAuthenticationForm):
    """Username, password and the TOTP code, in one step (the password alone when
    ``OFFICER_TOTP_REQUIRED`` is off; the template then leaves the code out).

    django-otp asks the user to pick a device first; an officer has one authenticator app, so
    the form picks their only confirmed device itself and asks for a choice only when there are
    several."""

    otp_device = forms.CharField(label="دستگاه", required=False, widget=forms.Select)
    otp_token = forms.CharField(
        label="رمز یک‌بارمصرف",
        required=False,
        max_length=8,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "dir": "ltr"}
        ),
        help_text="شش رقم برنامهٔ احراز هویت (مانند Google Authenticator) روی تلفن شما",
    )
    # django-otp's "send me a challenge" button; TOTP has none, but the mixin reads the field.
    otp_challenge = forms.CharField(required=False)

    otp_error_messages = {
        **OTPAuthenticationFormMixin.otp_error_messages,
        "token_required": "رمز یک‌بارمصرف را از برنامهٔ احراز هویت بنویسید",
        "invalid_token": "رمز یک‌بارمصرف درست نیست یا زمانش گذشته است؛ رمز تازه را بنویسید",
        "device_required": "دستگاه احراز هویت را انتخاب کنید",
        "verification_not_allowed": "بررسی رمز یک‌بارمصرف موقتاً بسته است؛ کمی بعد دوباره بکوشید",
        "n_failed_attempts": (
            "پس از %(failure_count)d رمز نادرست، بررسی رمز یک‌بارمصرف موقتاً بسته است؛"
            " کمی بعد دوباره بکوشید"
        ),
        "not_interactive": "این دستگاه رمز نمی‌فرستد؛ رمز را از برنامهٔ احراز هویت بخوانید",
    }
    no_device_message = (
        "برای شما هنوز برنامهٔ احراز هویت ثبت نشده است؛ از مدیر سامانه بخواهید"
        " آن را ثبت کند (manage.py officer_totp)"
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if totp_required():
            self.clean_otp(self.get_user())
        return cleaned

    def _chosen_device(self, user: AbstractBaseUser) -> Device | None:
        chosen: Device | None = super()._chosen_device(user)
        if chosen is not None:
            return chosen
        devices = list(devices_for_user(user, confirmed=True, for_verify=True))
        if not devices:
            raise forms.ValidationError(self.no_device_message, code="no_device")
        return devices[0] if len(devices) == 1 else None

    def _verify_token(
        self, user: AbstractBaseUser, token: str, device: Device | None = None
    ) -> Device:
        try:
            verified: Device = super()._verify_token(user, token, device)
        except forms.ValidationError as error:
            if error.code == "invalid_token":
                # Counted by axes like a wrong password (same username, same address).
                user_login_failed.send(
                    sender=type(self),
                    credentials={"username": user.get_username()},
                    request=self.request,
                )
            raise
        return verified


class OfficerAdminSite(AdminSite):
    """The admin site: with ``OFFICER_TOTP_REQUIRED`` an officer who has not confirmed a TOTP code
    in this session is treated as not staff (django-otp's OTPAdminSite, switchable)."""

    login_template = LOGIN_TEMPLATE
    login_form = OfficerLoginForm

    def has_permission(self, request: HttpRequest) -> bool:
        if not super().has_permission(request):
            return False
        return not totp_required() or request.user.is_verified()  # type: ignore[union-attr]

    def each_context(self, request: HttpRequest) -> dict[str, Any]:
        return {**super().each_context(request), "officer_totp_required": totp_required()}


@transaction.atomic
def enrol_totp_device(*, user: AbstractBaseUser, name: str = "authenticator") -> TOTPDevice:
    """A new confirmed TOTP device for the officer, replacing any they had (a lost phone must stop
    working the moment a new one is enrolled)."""
    TOTPDevice.objects.filter(user=user).delete()
    return TOTPDevice.objects.create(user=user, name=name, confirmed=True)
