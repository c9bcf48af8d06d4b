"""Deciding a decile objection and telling the household, in one transaction (SMS on commit)."""

import datetime as dt

from django.contrib.auth.models import User
from django.db import transaction

from households import objections
from households.models import Objection
from kalabarg.lib.errors import field_error
from kalabarg.portal import notify
from settlements.models import CycleStatus
from settlements.services import rules


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

    A closed cycle's money is settled, so a decision may not reach back into one."""
    cycle = rules.cycle_on(day=effective_from)
    if cycle is not None and cycle.status == CycleStatus.CLOSED:
        raise field_error(
            field="new_decile_from",
            message="دوره این تاریخ بسته شده است؛ دهک تازه را از دوره جاری به بعد اعمال کنید",
            code="decision_in_closed_cycle",
        )
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
