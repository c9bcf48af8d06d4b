"""Reading the trail: one object's events (its admin history page) and the auditor's search
across every audited model. Each event comes back as a ``TrailEntry`` whose changes are already
put in words: the field's Persian name, the old value and the new value as officers read them."""

import datetime as dt
import decimal
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import admin
from django.db import models
from django.db.models.fields.json import KeyTextTransform
from django.urls import NoReverseMatch, reverse

from kalabarg.audit.models import (
    EVENT_MODELS,
    DecileAssignmentEvent,
    PhaseBandEvent,
)
from kalabarg.audit.triggers import diff_fields
from kalabarg.lib.admin_display import number, rial, when
from kalabarg.lib.persian import format_jalali_date, to_persian_digits

TEHRAN = ZoneInfo("Asia/Tehran")
LABELS = {"insert": "افزودن", "update": "ویرایش", "delete": "حذف"}
# How many events an object's history page shows (newest first); the search has the rest.
OBJECT_TRAIL_LIMIT = 100
# The search pages through at most this many events; past it, narrow the filters.
SEARCH_DEPTH_CAP = 10_000
# Events of a model with no admin page of its own are shown on its parent's page.
_CHILDREN: dict[type[models.Model], list[tuple[type[models.Model], str]]] = {}
_PARENT_FIELD: dict[Any, str] = {DecileAssignmentEvent: "household", PhaseBandEvent: "phase"}


def _children() -> dict[type[models.Model], list[tuple[type[models.Model], str]]]:
    if not _CHILDREN:
        for event_model, parent_field in _PARENT_FIELD.items():
            parent: Any = event_model._meta.get_field(parent_field).related_model
            _CHILDREN.setdefault(parent, []).append((event_model, parent_field))
    return _CHILDREN


@dataclass(frozen=True)
class Change:
    field: str
    old: str
    new: str


@dataclass
class TrailEntry:
    at: dt.datetime
    model: str
    label: str
    object_id: int
    object_url: str | None
    who: str
    where: str
    changes: list[Change] = field(default_factory=list)

    @property
    def when(self) -> str:
        return when(self.at)


def event_model_for(tracked: type[models.Model]) -> type[models.Model] | None:
    for event_model in EVENT_MODELS:
        if event_model.pgh_tracked_model is tracked:  # type: ignore[attr-defined]
            return event_model
    return None


def display_value(model_field: models.Field, value: Any) -> str:
    """A stored value as officers read it: choices by their label, moments and days in Jalali,
    money in rials, numbers in Persian digits; "—" for nothing."""
    if value is None or value == "":
        return "—"
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if isinstance(model_field, models.BooleanField):
        return "بله" if value else "خیر"
    if isinstance(model_field, models.DateTimeField):
        return when(value)
    if isinstance(model_field, models.DateField):
        return format_jalali_date(value)
    if isinstance(model_field, models.ForeignKey):
        return f"#{to_persian_digits(value)}"
    if isinstance(model_field, models.IntegerField):
        return rial(value) if model_field.name.endswith("_rial") else number(value)
    if isinstance(model_field, models.DecimalField):
        return to_persian_digits(value)
    return str(value)


def _stored(model_field: models.Field, raw: Any) -> Any:
    """A value of ``pgh_previous`` (JSON, written by the trigger) back in the field's type."""
    if raw is None:
        return None
    if isinstance(model_field, models.DecimalField):
        return decimal.Decimal(str(raw))
    return model_field.to_python(raw)


def _changes(event: Any) -> list[Change]:
    fields = [f for f in diff_fields(type(event)) if not f.primary_key and f.name != "id"]
    changes = []
    if event.pgh_label == "update":
        previous = event.pgh_previous or {}
        for model_field in fields:
            if model_field.column in previous:
                old = _stored(model_field, previous[model_field.column])
                new = getattr(event, model_field.attname)
                changes.append(
                    Change(
                        str(model_field.verbose_name),
                        display_value(model_field, old),
                        display_value(model_field, new),
                    )
                )
    else:
        for model_field in fields:
            value = display_value(model_field, getattr(event, model_field.attname))
            old, new = (value, "—") if event.pgh_label == "delete" else ("—", value)
            changes.append(Change(str(model_field.verbose_name), old, new))
    return changes


def _who(context: dict[str, Any] | None) -> str:
    context = context or {}
    if context.get("username"):
        return str(context["username"])
    if context.get("person"):
        return f"عضو خانوار (فرد #{to_persian_digits(context['person'])})"
    if context.get("command"):
        return f"دستور {context['command']} (کاربر سامانه {context.get('os_user', '?')})"
    if context.get("task"):
        return f"کار پس‌زمینه {context['task']}"
    if context.get("url"):
        return "بدون ورود"
    return "نامعلوم: تغییر مستقیم در پایگاه داده"


def _where(context: dict[str, Any] | None) -> str:
    context = context or {}
    parts = []
    if context.get("url"):
        parts.append(f"{context.get('method', '')} {context['url']}".strip())
    if context.get("command"):
        parts.append(f"manage.py {context['command']}")
    if context.get("task"):
        parts.append(f"task {context['task']}")
    if context.get("request_id"):
        parts.append(f"request {context['request_id']}")
    return " · ".join(parts) or "—"


def _object_url(event: Any) -> str | None:
    tracked = event.pgh_tracked_model
    target, pk = tracked, event.pgh_obj_id
    if not admin.site.is_registered(tracked) and type(event) in _PARENT_FIELD:
        parent_field = event._meta.get_field(_PARENT_FIELD[type(event)])
        target, pk = parent_field.related_model, getattr(event, parent_field.attname)
    opts = target._meta
    try:
        return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[pk])
    except NoReverseMatch:
        return None


def entry(event: Any) -> TrailEntry:
    """One event put in words."""
    return TrailEntry(
        at=event.pgh_created_at,
        model=str(event.pgh_tracked_model._meta.verbose_name),
        label=LABELS.get(event.pgh_label, event.pgh_label),
        object_id=event.pgh_obj_id,
        object_url=_object_url(event),
        who=_who(event.pgh_context),
        where=_where(event.pgh_context),
        changes=_changes(event),
    )


def _newest_first(events: list[Any]) -> list[Any]:
    return sorted(events, key=lambda e: (e.pgh_created_at, e.pgh_id), reverse=True)


def object_trail(obj: models.Model, *, limit: int = OBJECT_TRAIL_LIMIT) -> list[TrailEntry]:
    """The object's events, newest first (and its inline children's: a household's deciles, a
    phase's bands), at most ``limit``. Empty for a model that is not audited."""
    tracked = type(obj)._meta.concrete_model
    event_model = event_model_for(tracked)  # type: ignore[arg-type]
    if event_model is None:
        return []
    order = ("-pgh_created_at", "-pgh_id")
    events = list(event_model.objects.filter(pgh_obj_id=obj.pk).order_by(*order)[:limit])  # type: ignore[attr-defined]
    for child_model, parent_field in _children().get(tracked, []):  # type: ignore[arg-type]
        children = child_model.objects.filter(**{f"{parent_field}_id": obj.pk})  # type: ignore[attr-defined]
        events += list(children.order_by(*order)[:limit])
    return [entry(event) for event in _newest_first(events)[:limit]]


def model_choices() -> list[tuple[str, str]]:
    """The search's model filter: (tracked model label, its Persian name)."""
    return [
        (
            event_model.pgh_tracked_model._meta.label_lower,  # type: ignore[attr-defined]
            str(event_model.pgh_tracked_model._meta.verbose_name),  # type: ignore[attr-defined]
        )
        for event_model in EVENT_MODELS
    ]


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=TEHRAN)


@dataclass
class TrailPage:
    entries: list[TrailEntry]
    has_next: bool


def search_trail(
    *,
    username: str = "",
    model: str = "",
    object_id: int | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
    offset: int = 0,
    limit: int = 50,
) -> TrailPage:
    """Events of every audited model (or of ``model``, a tracked model's ``app.model`` label),
    newest first, filtered by officer (exact username), object and Tehran days ``since`` to
    ``until`` inclusive. Each table is read through its index by moment (or by officer and
    moment) for just the rows up to this page; nothing is counted."""
    offset = max(0, min(offset, SEARCH_DEPTH_CAP))
    depth = offset + limit + 1
    keys: list[tuple[dt.datetime, int, int]] = []
    for index, event_model in enumerate(EVENT_MODELS):
        tracked = event_model.pgh_tracked_model  # type: ignore[attr-defined]
        if model and tracked._meta.label_lower != model:
            continue
        events = event_model.objects.all()  # type: ignore[attr-defined]
        if username:
            events = events.alias(
                audit_username=KeyTextTransform("username", "pgh_context")
            ).filter(audit_username=username)
        if object_id is not None:
            events = events.filter(pgh_obj_id=object_id)
        if since:
            events = events.filter(pgh_created_at__gte=_day_start(since))
        if until:
            events = events.filter(pgh_created_at__lt=_day_start(until + dt.timedelta(days=1)))
        rows = events.order_by("-pgh_created_at", "-pgh_id").values_list(
            "pgh_created_at", "pgh_id"
        )[:depth]
        keys += [(at, index, pk) for at, pk in rows]
    keys.sort(key=lambda key: (key[0], key[2]), reverse=True)
    page = keys[offset : offset + limit]
    wanted: dict[int, list[int]] = {}
    for _, index, pk in page:
        wanted.setdefault(index, []).append(pk)
    events_by_key = {
        (index, event.pgh_id): event
        for index, pks in wanted.items()
        for event in EVENT_MODELS[index].objects.filter(pgh_id__in=pks)  # type: ignore[attr-defined]
    }
    return TrailPage(
        entries=[entry(events_by_key[(index, pk)]) for _, index, pk in page],
        has_next=len(keys) > offset + limit and offset + limit < SEARCH_DEPTH_CAP,
    )
