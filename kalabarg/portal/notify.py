"""The SMS the portal sends, through the notifications service (officer-edited templates, no
links, one message per dedupe key, sent by the ``sms`` queue after the caller commits)."""

from django.utils import timezone

from households.models import Objection, ObjectionStatus, Person
from households.otp import LOGIN_CODE_TTL
from households.selectors import decile_on
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


def send_objection_decided(*, objection: Objection) -> None:
    """The officer's decision on a decile objection, to the member who filed it, after commit."""
    if objection.status == ObjectionStatus.ACCEPTED and objection.new_decile:
        decision, decile = "پذیرفته شد", objection.new_decile
    else:
        decision = "رد شد"
        decile = (
            decile_on(household_id=objection.household_id, on_date=timezone.localdate())
            or objection.decile_at_filing
            or 0
        )
    send_personal_sms(
        person=objection.filed_by,
        kind="objection_decided",
        context={"decision": decision, "decile": decile},
        dedupe_key=f"objection:{objection.pk}:decided",
    )
