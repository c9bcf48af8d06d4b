"""Helpers for the audit trail's tests: an object's event rows, and admin pages as a browser
posts them (the same shapes as the apps' own admin tests build)."""

from typing import Any

from django.db import models

from households.models import Household
from kalabarg.audit.selectors import event_model_for
from settlements.models import Phase
from stores.models import BasketItem


def events_of(obj: models.Model, label: str | None = None, *, pk: int | None = None) -> list[Any]:
    """The object's event rows, oldest first (optionally only insert, update or delete; ``pk``
    for a deleted object, whose instance has lost it)."""
    event_model = event_model_for(type(obj))
    assert event_model is not None, f"{type(obj).__name__} is not audited"
    events = event_model.objects.filter(pgh_obj_id=pk or obj.pk).order_by("pgh_id")  # type: ignore[attr-defined]
    if label:
        events = events.filter(pgh_label=label)
    return list(events)


def last_update(obj: models.Model, column: str | None = None) -> Any:
    """The object's latest update event (that changed ``column``, if named)."""
    updates = [
        event
        for event in events_of(obj, "update")
        if column is None or column in (event.pgh_previous or {})
    ]
    assert updates, f"no update event for {obj!r} changing {column or 'anything'}"
    return updates[-1]


def household_post(household: Household, **decile_row: str) -> dict[str, str]:
    """The household page: its fields, members and deciles as they are, one new decile row."""
    existing = list(household.deciles.all())
    members = list(household.members.all())
    data = {
        "province": str(household.province_id),
        "city": str(household.city_id),
        "purchase_sms": "on" if household.purchase_sms else "",
        "members-TOTAL_FORMS": str(len(members)),
        "members-INITIAL_FORMS": str(len(members)),
        "members-MIN_NUM_FORMS": "0",
        "members-MAX_NUM_FORMS": "1000",
        "deciles-TOTAL_FORMS": str(len(existing) + 1),
        "deciles-INITIAL_FORMS": str(len(existing)),
        "deciles-MIN_NUM_FORMS": "0",
        "deciles-MAX_NUM_FORMS": "1000",
    }
    for index, person in enumerate(members):
        data[f"members-{index}-id"] = str(person.pk)
        data[f"members-{index}-household"] = str(household.pk)
    for index, assignment in enumerate(existing):
        data[f"deciles-{index}-id"] = str(assignment.pk)
        data[f"deciles-{index}-household"] = str(household.pk)
    new = len(existing)
    data[f"deciles-{new}-household"] = str(household.pk)
    for key, value in decile_row.items():
        data[f"deciles-{new}-{key}"] = value
    return data


def item_post(item: BasketItem, **fields: str) -> dict[str, str]:
    """The basket item page with no new price row; ``fields`` override the item's fields."""
    existing = list(item.prices.order_by("kind", "-effective_from"))
    data = {
        "name": item.name,
        "unit": item.unit,
        "group": item.group,
        "is_active": "on" if item.is_active else "",
        "display_order": str(item.display_order),
        "prices-TOTAL_FORMS": str(len(existing)),
        "prices-INITIAL_FORMS": str(len(existing)),
        "prices-MIN_NUM_FORMS": "0",
        "prices-MAX_NUM_FORMS": "1000",
        **fields,
    }
    for index, price in enumerate(existing):
        data[f"prices-{index}-id"] = str(price.pk)
        data[f"prices-{index}-item"] = str(item.pk)
    return data


def phase_post(
    phase: Phase, *, band_changes: dict[int, dict[str, str]], **fields: str
) -> dict[str, str]:
    """The phase page with its bands as they are, ``band_changes`` by band index overriding."""
    bands = list(phase.bands.order_by("min_decile"))
    data = {
        "name": phase.name,
        "starts_on": phase.starts_on.isoformat(),
        "ends_on": phase.ends_on.isoformat() if phase.ends_on else "",
        "basis": phase.basis,
        "unspent_policy": phase.unspent_policy,
        "min_distinct_items": str(phase.min_distinct_items),
        "bands-TOTAL_FORMS": str(len(bands)),
        "bands-INITIAL_FORMS": str(len(bands)),
        "bands-MIN_NUM_FORMS": "0",
        "bands-MAX_NUM_FORMS": "1000",
        **fields,
    }
    for index, band in enumerate(bands):
        row = {
            "id": str(band.pk),
            "phase": str(phase.pk),
            "min_decile": str(band.min_decile),
            "max_decile": str(band.max_decile),
            "credit_per_cycle_rial": str(band.credit_per_cycle_rial),
            "bonus_threshold_rial": str(band.bonus_threshold_rial),
            "bonus_amount_rial": str(band.bonus_amount_rial),
            "cash_subsidy_rial": str(band.cash_subsidy_rial),
            **band_changes.get(index, {}),
        }
        for key, value in row.items():
            data[f"bands-{index}-{key}"] = value
    return data


def approve_in_admin(kind: str) -> str:
    """Approve the one waiting request of ``kind`` on its admin page, as a second officer signed
    in (four-eyes: the change is written by the approval's request); returns their username."""
    from django.urls import reverse

    from approvals.models import ChangeRequest, RequestStatus
    from tests.approvals.factories import checker
    from tests.conftest import OfficerClient

    change = ChangeRequest.objects.get(kind=kind, status=RequestStatus.PENDING)
    client = OfficerClient()
    client.force_login(checker("second-officer"))
    response = client.post(reverse("admin:approvals_changerequest_approve", args=[change.pk]))
    change.refresh_from_db()
    assert change.status == RequestStatus.APPROVED, response
    return "second-officer"
