"""One event table per audited model (django-pghistory), filled by database triggers.

Each event row is a snapshot of the object's tracked fields after an insert or update (before a
delete), when (``pgh_created_at``), what happened (``pgh_label``: insert, update, delete), the
context that made it (``pgh_context``: the officer and URL, the command or the task; empty for
raw SQL) and, for an update, the old values of the fields that changed (``pgh_previous``).

The tables live in this app, so the domain apps' models and migrations know nothing of them;
the triggers on the domain tables are installed after ``migrate`` (``kalabarg.audit.apps``).
Secrets never enter the trail: the columns listed in ``SECRET_FIELDS`` are not copied.
"""

from typing import Any

import pghistory
import pghistory.models
from django.db import models
from django.db.models import F
from django.db.models.fields.json import KeyTextTransform

from households.models import BankCard, DecileAssignment, Household, Objection, Person
from kalabarg.audit.triggers import NOT_IN_BULK_LOAD, Deleted, Inserted, Updated
from notifications.models import SmsTemplate
from settlements.models import Phase, PhaseBand
from stores.models import BasketItem, ItemPrice, Store, Terminal

# Never copied into the trail (the tracked model's own column stays where it is).
SECRET_FIELDS: dict[type[models.Model], list[str]] = {
    BankCard: ["card_hash"],
    Terminal: ["api_key_hash"],
}
# Millions of rows, loaded by set-based imports: their bulk inserts are not copied (see triggers).
BULK_LOADED = (Household, Person, BankCard, DecileAssignment)


class AuditEvent(pghistory.models.Event):
    """What every event table has beyond pghistory's columns: a 64-bit id (a trail outlives
    2 billion changes) and the old values of an update's changed fields."""

    pgh_id = models.BigAutoField(primary_key=True)
    pgh_previous = models.JSONField("مقدارهای پیشین", null=True, blank=True, editable=False)

    class Meta:
        abstract = True


def _event_base(tracked: type[models.Model], short: str, *, indexes: list[Any] = ()) -> Any:  # type: ignore[assignment]
    """The abstract event model of ``tracked``: its fields, the three triggers, the indexes the
    history page (by object) and the auditor's search (by moment, by officer) read."""
    inserted = Inserted(condition=NOT_IN_BULK_LOAD) if tracked in BULK_LOADED else Inserted()
    return pghistory.create_event_model(
        tracked,
        inserted,
        Updated(),
        Deleted(),
        exclude=SECRET_FIELDS.get(tracked, []),
        app_label="audit",
        obj_field=pghistory.ObjForeignKey(related_name="+", related_query_name="+", db_index=True),
        context_field=pghistory.ContextJSONField(),
        append_only=True,
        base_model=AuditEvent,
        meta={
            "verbose_name": f"سابقه {tracked._meta.verbose_name}",
            "verbose_name_plural": f"سابقه {tracked._meta.verbose_name}",
            # Read through the trail page (permission audit.view_trail), never edited.
            "default_permissions": (),
            "indexes": [
                models.Index(F("pgh_created_at").desc(), name=f"audit_{short}_when_idx"),
                models.Index(
                    KeyTextTransform("username", "pgh_context"),
                    F("pgh_created_at").desc(),
                    name=f"audit_{short}_officer_idx",
                ),
                *indexes,
            ],
        },
    )


class HouseholdEvent(_event_base(Household, "household")):  # type: ignore[misc]
    """The trail of Household rows (the event table pghistory writes through the triggers)."""


class PersonEvent(_event_base(Person, "person")):  # type: ignore[misc]
    """The trail of Person rows (the event table pghistory writes through the triggers)."""


class BankCardEvent(_event_base(BankCard, "bankcard")):  # type: ignore[misc]
    """The trail of BankCard rows (the event table pghistory writes through the triggers)."""


# A household's history page shows its deciles' events (they have no page of their own).
_DecileAssignmentBase = _event_base(
    DecileAssignment,
    "decile",
    indexes=[models.Index(fields=["household"], name="audit_decile_household_idx")],
)


class DecileAssignmentEvent(_DecileAssignmentBase):  # type: ignore[misc,valid-type]
    """The trail of DecileAssignment rows (the event table pghistory writes through the triggers)."""


class ObjectionEvent(_event_base(Objection, "objection")):  # type: ignore[misc]
    """The trail of Objection rows (the event table pghistory writes through the triggers)."""


class BasketItemEvent(_event_base(BasketItem, "basketitem")):  # type: ignore[misc]
    """The trail of BasketItem rows (the event table pghistory writes through the triggers)."""


class ItemPriceEvent(_event_base(ItemPrice, "itemprice")):  # type: ignore[misc]
    """The trail of ItemPrice rows (the event table pghistory writes through the triggers)."""


class StoreEvent(_event_base(Store, "store")):  # type: ignore[misc]
    """The trail of Store rows (the event table pghistory writes through the triggers)."""


class TerminalEvent(_event_base(Terminal, "terminal")):  # type: ignore[misc]
    """The trail of Terminal rows (the event table pghistory writes through the triggers)."""


class PhaseEvent(_event_base(Phase, "phase")):  # type: ignore[misc]
    """The trail of Phase rows (the event table pghistory writes through the triggers)."""


# A phase's history page shows its bands' events (they are edited inline).
_PhaseBandBase = _event_base(
    PhaseBand,
    "phaseband",
    indexes=[models.Index(fields=["phase"], name="audit_phaseband_phase_idx")],
)


class PhaseBandEvent(_PhaseBandBase):  # type: ignore[misc,valid-type]
    """The trail of PhaseBand rows (the event table pghistory writes through the triggers)."""


class SmsTemplateEvent(_event_base(SmsTemplate, "smstemplate")):  # type: ignore[misc]
    """The trail of SmsTemplate rows (the event table pghistory writes through the triggers)."""


# Every event model, in the order the auditor's model filter lists them.
EVENT_MODELS: tuple[type[models.Model], ...] = (
    HouseholdEvent,
    PersonEvent,
    BankCardEvent,
    DecileAssignmentEvent,
    ObjectionEvent,
    BasketItemEvent,
    ItemPriceEvent,
    StoreEvent,
    TerminalEvent,
    PhaseEvent,
    PhaseBandEvent,
    SmsTemplateEvent,
)


class Trail(models.Model):
    """No table: the auditor's search page in the admin, and its permission ``audit.view_trail``
    (the roles give it to auditors and supervisors)."""

    class Meta:
        managed = False
        db_table = "audit_trail_page"
        default_permissions = ("view",)
        verbose_name = "سابقه تغییرات"
        verbose_name_plural = "سابقه تغییرات"

    def __str__(self) -> str:
        return "سابقه تغییرات"
