"""The triggers that write the trail: pghistory's events, with the old values of an update.

pghistory's own events keep one snapshot per change (the row after an insert or update, before
a delete) and work out "from what" by comparing with the object's previous snapshot. The big
registry tables are loaded in bulk without a snapshot per inserted row (see ``Inserted``), so an
object's first recorded update may have no snapshot before it: each update event therefore keeps,
beside the new row, the old values of the fields that changed (``pgh_previous``, JSON, written by
the trigger from the old rows). Only the event model's fields are ever copied: a column left
out of the event model (a card's or a terminal key's hash) never reaches the trail.

The triggers are statement-level: one ``INSERT … SELECT`` per statement over its transition
tables, whatever number of rows it changed (measured in docs/decisions.md, "The audit trail").
"""

from typing import Any

import pghistory
import pgtrigger
from django.db import models
from pghistory.trigger import Event as _PghistoryEventTrigger

# Set to 'on' for a whole session by a bulk load (the registry and card imports, the data
# generators; see kalabarg.audit.context): their inserts into the big registry tables are not
# copied into the trail, one event per inserted row would double what the load writes. Their
# updates and deletes are recorded as any other.
BULK_LOAD_SETTING = "kalabarg.bulk_load"
NOT_IN_BULK_LOAD = pgtrigger.Condition(
    f"COALESCE(current_setting('{BULK_LOAD_SETTING}', true), '') <> 'on'"
)

# The context pghistory sets per statement (pghistory.context) or kalabarg.audit sets per
# session (a management command): copied onto each event row, so the trail is searched by
# officer without a join.
_CONTEXT_METADATA = "NULLIF(current_setting('pghistory.context_metadata', true), '')::jsonb"
_CONTEXT_ID = "NULLIF(current_setting('pghistory.context_id', true), '')::uuid"


def diff_fields(event_model: Any) -> list[models.Field]:
    """The tracked fields whose changes the trail shows: every copied field except the
    automatic moments (``auto_now``/``auto_now_add``), which change on every save."""
    tracked = {field.name for field in event_model.pgh_tracked_model._meta.fields}
    return [
        field
        for field in event_model._meta.fields
        if field.name in tracked
        and not field.name.startswith("pgh_")
        and field.concrete
        and not getattr(field, "auto_now", False)
        and not getattr(field, "auto_now_add", False)
    ]


class AuditEventTrigger(_PghistoryEventTrigger):
    """An AFTER trigger that inserts the event rows, with the context copied from the session
    settings and, for an update, the old values of the changed fields.

    Row level: one ``INSERT … VALUES`` per changed row. Statement level: one ``INSERT … SELECT``
    over the statement's transition tables (``new_values``/``old_values``), however many rows
    the statement changed (the condition becomes its ``WHERE``)."""

    def get_func(self, model: Any) -> pgtrigger.Func:
        event_model: Any = self.event_model
        statement = self.level == pgtrigger.Statement
        rows = (
            {"NEW": "new_values", "OLD": "old_values"}
            if statement
            else {"NEW": "NEW", "OLD": "OLD"}
        )
        row = rows[self.row]
        tracked = {field.name for field in event_model.pgh_tracked_model._meta.fields}
        # Trigger source built from the models' own table and column names, never from input.
        values = {
            field.column: f'{row}."{field.column}"'
            for field in event_model._meta.fields
            if field.concrete
            and field.name in tracked
            and not field.name.startswith("pgh_")
            and not isinstance(field, models.AutoField)
        }
        values["pgh_created_at"] = "NOW()"
        values["pgh_label"] = f"'{self.label}'"
        values["pgh_obj_id"] = f'{row}."{event_model.pgh_tracked_model._meta.pk.column}"'
        values["pgh_context"] = _CONTEXT_METADATA
        values["pgh_context_id"] = _CONTEXT_ID
        if self.operation == pgtrigger.Update:
            keys = ", ".join(f"'{field.column}'" for field in diff_fields(event_model))
            values["pgh_previous"] = (
                "(SELECT jsonb_object_agg(o.key, o.value)"  # noqa: S608 - model column names
                f" FROM jsonb_each(to_jsonb({rows['OLD']})) o"
                f" JOIN jsonb_each(to_jsonb({rows['NEW']})) n ON n.key = o.key"
                f" WHERE o.key = ANY (ARRAY[{keys}]) AND o.value IS DISTINCT FROM n.value)"
            )
        columns = ", ".join(f'"{column}"' for column in values)
        into = f'INSERT INTO "{event_model._meta.db_table}" ({columns})'
        if not statement:
            return pgtrigger.Func(f"{into} VALUES ({', '.join(values.values())}); RETURN NULL;")
        # pgtrigger fills in the transition tables, filtered by the condition.
        sources: dict[Any, str] = {
            pgtrigger.Insert: "{cond_new_values}",
            pgtrigger.Update: "{cond_joined_values}",
            pgtrigger.Delete: "{cond_old_values}",
        }
        source = sources[self.operation]
        insert = f"{into} SELECT {', '.join(values.values())} FROM {source}"  # noqa: S608
        if self.operation == pgtrigger.Update:
            # Planned afresh each time (EXECUTE): PL/pgSQL would keep the plan made for the first
            # statement, often of one row, whose nested loop over the old and new rows is
            # quadratic for a chunk of thousands; planned with the real row counts it hashes.
            return pgtrigger.Func(f"EXECUTE $audit$ {insert} $audit$; RETURN NULL;")
        return pgtrigger.Func(f"{insert}; RETURN NULL;")


class _TrailEvent(pghistory.RowEvent):
    """pghistory's tracker of a row change, writing through ``AuditEventTrigger``."""

    def __init__(self, *, condition: Any = None, level: Any = pgtrigger.Statement) -> None:
        super().__init__(condition=condition, trigger_name=f"audit_{self.label}", level=level)

    def add_event_trigger(self, event_model: Any) -> None:
        pgtrigger.register(
            AuditEventTrigger(
                event_model=event_model,
                label=self.label,
                name=self.trigger_name,
                row=self.row,
                operation=self.operation,
                condition=self.condition,
                level=self.level,
            )
        )(event_model.pgh_tracked_model)


class Inserted(_TrailEvent):
    """A new row (its values). ``Inserted(condition=NOT_IN_BULK_LOAD)`` on the big tables."""

    label = "insert"
    row = "NEW"
    operation = pgtrigger.Insert


class Updated(_TrailEvent):
    """An update that changed a tracked field (not merely a save, nor an ``updated_at``)."""

    label = "update"
    row = "NEW"
    operation = pgtrigger.Update

    def __init__(self, *, level: Any = pgtrigger.Statement) -> None:
        super().__init__(condition=pgtrigger.AnyChange(exclude_auto=True), level=level)


class Deleted(_TrailEvent):
    """A deleted row (its last values)."""

    label = "delete"
    row = "OLD"
    operation = pgtrigger.Delete
