"""``manage.py officer_totp USERNAME``: enrol an officer's authenticator app (TOTP).

Prints the otpauth:// URL and the same as a QR code drawn in the terminal, for the officer to scan
with Google Authenticator, FreeOTP or any TOTP app. Any device they had is replaced (a lost phone
stops working at once). Run it where the officer can see the screen, not into a shared log."""

import io
from typing import Any

import qrcode
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from kalabarg.lib.officer_auth import enrol_totp_device


class Command(BaseCommand):
    help = "Enrol (or replace) an officer's TOTP authenticator and print its otpauth:// URL and QR code."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", help="the officer's username (a staff user)")
        parser.add_argument(
            "--no-qr",
            action="store_true",
            help="print the otpauth:// URL only, without the QR code",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user_model = get_user_model()
        username = options["username"]
        try:
            user = user_model._default_manager.get_by_natural_key(username)
        except user_model.DoesNotExist as exc:
            raise CommandError(f"no user named {username!r}") from exc
        if not (user.is_active and getattr(user, "is_staff", False)):
            raise CommandError(f"{username!r} is not an active officer (is_staff): refusing")

        device = enrol_totp_device(user=user)
        url = device.config_url
        self.stdout.write(f"TOTP device enrolled for {username}; any earlier device is removed.")
        self.stdout.write("Scan the QR code (or add the URL) in the officer's authenticator app:")
        self.stdout.write(url)
        if not options["no_qr"]:
            self.stdout.write(terminal_qr(url))


def terminal_qr(data: str) -> str:
    """The QR code as text (two modules per character cell), readable by a phone off a terminal."""
    code = qrcode.QRCode(border=2)
    code.add_data(data)
    out = io.StringIO()
    code.print_ascii(out=out, invert=True)
    return out.getvalue()
