"""Deciding a decile objection and telling the household, in one transaction (SMS on commit).

An officer's action, so it lives in the back office (which composes the registry and the SMS
service); the decision itself — the decile rules, the history row, the refusal of a closed
cycle and the late charge — is ``households.objections`` and the signals it sends."""

import datetime as dt

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from households import objections
from households.models import Objection, ObjectionStatus
from households.selectors import decile_on
from notifications.services.personal import send_personal_sms


@transaction.atomic
def accept_objection(
    *,
    objection: Objection,
    new_decile: int,
    effective_from: dt.date,
    reason: str,
    decided_by: User | None,
) -> Objection:
    """Accept: the new decile goes to the history from ``effective_from``; the filer gets an SMS.

    A date in a closed cycle is refused by the money core (``settlements.receivers``); the credit
    of an open cycle the decision newly covers is charged once it commits."""
    decided = objections.accept_objection(
        objection=objection,
        new_decile=new_decile,
        effective_from=effective_from,
        reason=reason,
        decided_by=decided_by,
    )
    send_objection_decided(objection=decided)
    return decided


@transaction.atomic
def reject_objection(*, objection: Objection, reason: str, decided_by: User | None) -> Objection:
    """Reject with a reason; the filer gets an SMS and reads the reason on the portal."""
    decided = objections.reject_objection(objection=objection, reason=reason, decided_by=decided_by)
    send_objection_decided(objection=decided)
    return decided


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
