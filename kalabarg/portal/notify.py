"""The SMS the portal sends, through the notifications service (officer-edited templates, no
links, one message per dedupe key, sent by the ``sms`` queue after the caller commits)."""

from households.models import Person
from households.otp import LOGIN_CODE_TTL
from notifications.services.personal import send_personal_sms


def send_login_code(*, person: Person, code: str, login_code_id: int) -> None:
    """The 6-digit login code, to the person's registered mobile, after commit. The outbox keeps
    the message with the code masked; the code itself waits in the cache only as long as it is
    valid (``notifications.services.personal.SECRET_PLACEHOLDERS``)."""
    send_personal_sms(
        person=person,
        kind="login_code",
        context={"code": code, "minutes": 2},
        dedupe_key=f"login:{person.pk}:{login_code_id}",
        secret_ttl_seconds=int(LOGIN_CODE_TTL.total_seconds()),
    )
