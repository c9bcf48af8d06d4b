"""The SMS the portal sends: one small function per message, so the gateway is one call away.

Interim: until the SMS service (issue 6) is merged, the messages are written to the log after
commit (the console SMS of the embedded default). Switching is one call per function.
"""

import logging

from django.db import transaction

from households.models import Objection, ObjectionStatus, Person
from kalabarg.lib.persian import format_jalali_date, to_persian_digits

logger = logging.getLogger("kalabarg.sms")


def _send(person: Person, body: str, kind: str) -> None:
    mobile = person.mobile
    transaction.on_commit(lambda: logger.info("SMS to %s: %s", mobile, body))


def send_login_code(*, person: Person, code: str, login_code_id: int) -> None:
    """The 6-digit login code, to the person's registered mobile, after commit."""
    _send(
        person,
        f"کالابرگ\nکد ورود شما: {to_persian_digits(code)}\n"
        "این کد را به هیچ‌کس ندهید. اعتبار: ۲ دقیقه",
        "login_code",
    )


def send_objection_decided(*, objection: Objection) -> None:
    """The officer's decision on a decile objection, to the member who filed it, after commit."""
    if objection.status == ObjectionStatus.ACCEPTED and objection.new_decile_from:
        body = (
            f"کالابرگ\nدرخواست بازبینی دهک شما پذیرفته شد. دهک تازه: "
            f"{to_persian_digits(objection.new_decile)} از {format_jalali_date(objection.new_decile_from)}"
        )
    else:
        body = "کالابرگ\nدرخواست بازبینی دهک شما رد شد. دلیل را در درگاه کالابرگ ببینید."
    _send(objection.filed_by, body, "objection_decided")
