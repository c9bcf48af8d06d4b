"""Deciding a decile objection and telling the household, in one transaction (SMS on commit)."""

import datetime as dt

from django.contrib.auth.models import User
from django.db import transaction

from households import objections
from households.models import Objection
from kalabarg.portal import notify


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
    notify.send_objection_decided(objection=decided)
    return decided


@transaction.atomic
def reject_objection(*, objection: Objection, reason: str, decided_by: User | None) -> Objection:
    """Reject with a reason; the filer gets an SMS and reads the reason on the portal."""
    decided = objections.reject_objection(objection=objection, reason=reason, decided_by=decided_by)
    notify.send_objection_decided(objection=decided)
    return decided
