"""List filters of the back office's admin lists: the purchases' search form and the objection
queue's status, province and age. None of them counts rows (facets stay off)."""

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from households.models import ObjectionStatus, Province
from kalabarg.backoffice import selectors
from kalabarg.lib.admin_fields import JalaliDateField, typed_terminal_id
from kalabarg.lib.persian import latin_number, normalize_text, to_latin_digits, to_persian_digits

_CARD = re.compile(r"(?:([0-9]{6})\**)?([0-9]{4})")


@dataclass
class SearchField:
    name: str
    label: str
    value: str
    error: str = ""
    inputmode: str = "numeric"
    placeholder: str = ""
    help: str = ""


@dataclass
class PurchaseSearch:
    """What an officer typed into the purchases' search form, read and checked."""

    store_ids: list[int] | None = None
    terminal_pks: list[int] | None = None
    card_bin: str = ""
    card_last4: str = ""
    household_ids: list[int] | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


class PurchaseSearchFilter(admin.ListFilter):
    """One form in the list's sidebar: store (name or id), terminal id, card (last four, or BIN
    and last four), household id and a Jalali date range. Each criterion leads an index of
    ``stores_purchase`` (with the time), so any combination reads one index range; a value that
    cannot be read is said next to its box and the list shows nothing (never everything)."""

    title = "جستجوی خرید"
    template = "admin/backoffice/purchase_search_filter.html"
    parameters = ("store", "terminal", "card", "household", "from", "to")
    labels = {
        "store": ("فروشگاه", "نام یا شناسه فروشگاه", "text"),
        "terminal": ("پایانه", "شناسه ۸ رقمی پایانه", "numeric"),
        "card": ("کارت", "چهار رقم آخر، یا ۶۰۳۷۹۹-۱۲۳۴", "numeric"),
        "household": ("خانوار", "شناسه خانوار (عدد)", "numeric"),
        "from": ("از تاریخ", "۱۴۰۳/۰۶/۰۱", "numeric"),
        "to": ("تا تاریخ (با خودش)", "۱۴۰۳/۰۶/۳۱", "numeric"),
    }

    def __init__(
        self, request: HttpRequest, params: dict[str, Any], model: Any, model_admin: Any
    ) -> None:
        super().__init__(request, params, model, model_admin)
        self.values: dict[str, str] = {}
        for name in self.parameters:
            if name in params:
                raw = params.pop(name)
                value = (raw[-1] if isinstance(raw, list) else raw).strip()
                self.used_parameters[name] = value
                if value:
                    self.values[name] = value
        self.errors: dict[str, str] = {}
        self.search = self._read()

    def has_output(self) -> bool:
        return True

    def expected_parameters(self) -> list[str | None]:
        return list(self.parameters)

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.errors:
            return queryset.none()
        if not self.values:
            return queryset
        search = self.search
        return queryset.filter(
            selectors.purchases_condition(
                store_ids=search.store_ids,
                terminal_pks=search.terminal_pks,
                card_bin=search.card_bin,
                card_last4=search.card_last4,
                household_ids=search.household_ids,
                since=search.since,
                until=search.until,
            )
        )

    def choices(self, changelist: Any) -> Any:
        hidden = [
            (key, value)
            for key, value in changelist.params.items()
            if key not in self.parameters and key != "p"
        ]
        yield {
            "fields": [
                SearchField(
                    name=name,
                    label=label,
                    value=self.values.get(name, ""),
                    error=self.errors.get(name, ""),
                    inputmode=mode,
                    placeholder=placeholder,
                )
                for name, (label, placeholder, mode) in self.labels.items()
            ],
            "hidden": hidden,
            "clear_url": changelist.get_query_string(remove=[*self.parameters, "p"]),
            "active": bool(self.values),
        }

    def _read(self) -> PurchaseSearch:
        search = PurchaseSearch()
        values = self.values
        if store := values.get("store"):
            store_id = latin_number(store)
            if store_id is not None:
                search.store_ids = [store_id]
            else:
                ids = selectors.stores_named(text=normalize_text(store))
                if len(ids) > selectors.STORE_NAME_MATCHES:
                    self.errors["store"] = (
                        f"بیش از {to_persian_digits(selectors.STORE_NAME_MATCHES)} فروشگاه با این "
                        "نام هست؛ نام کامل‌تر یا شناسه فروشگاه را بنویسید"
                    )
                elif not ids:
                    self.errors["store"] = "فروشگاهی با این نام پیدا نشد"
                search.store_ids = ids
        if terminal := values.get("terminal"):
            terminal_id = typed_terminal_id(terminal)
            if terminal_id is None:
                self.errors["terminal"] = "شناسه پایانه باید ۸ رقم باشد"
            else:
                found = selectors.terminal_pk(terminal_id=terminal_id)
                if found is None:
                    self.errors["terminal"] = "پایانه‌ای با این شناسه ثبت نشده است"
                search.terminal_pks = [found] if found is not None else []
        if card := values.get("card"):
            compact = re.sub(r"[^0-9*]", "", to_latin_digits(card))
            match = _CARD.fullmatch(compact)
            if match is None:
                self.errors["card"] = (
                    "چهار رقم آخر کارت را بنویسید، یا شش رقم اول و چهار رقم آخر آن را"
                )
            else:
                search.card_bin, search.card_last4 = match.group(1) or "", match.group(2)
        if household := values.get("household"):
            household_id = latin_number(household)
            if household_id is None:
                self.errors["household"] = "شناسه خانوار عدد است"
            else:
                search.household_ids = [household_id]
        for name in ("from", "to"):
            if not (typed := values.get(name)):
                continue
            try:
                day = JalaliDateField().clean(typed)
            except ValidationError as exc:
                self.errors[name] = exc.messages[0]
                continue
            if name == "from":
                search.since = _day_start(day)
            else:
                search.until = _day_start(day + dt.timedelta(days=1))
        return search


class PurchaseStatusFilter(admin.SimpleListFilter):
    """Completed or reversed; the reversed are read through their own partial index."""

    title = "وضعیت"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("completed", "انجام‌شده"), ("reversed", "برگشت‌خورده")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() in {"completed", "reversed"}:
            return queryset.filter(status=self.value())
        return queryset


# --- The objection queue ------------------------------------------------------------------------

QUEUE_ALL = "all"


def queue_status(request: HttpRequest) -> str:
    """The queue's status: what the officer chose, else open objections — or every status when
    the officer searches for a household (its decided objections are what they look for)."""
    chosen = request.GET.get("status", "")
    if chosen in {*ObjectionStatus.values, QUEUE_ALL}:
        return chosen
    return QUEUE_ALL if request.GET.get("q", "").strip() else ObjectionStatus.OPEN


class ObjectionQueueStatusFilter(admin.SimpleListFilter):
    """Open objections by default (the queue); decided ones, or all, on request."""

    title = "وضعیت"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [*ObjectionStatus.choices, (QUEUE_ALL, "همه")]

    def value(self) -> str:
        return queue_status(self.request)

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        status = self.value()
        return queryset if status == QUEUE_ALL else queryset.filter(status=status)

    def choices(self, changelist: Any) -> Any:
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }


class ProvinceFilter(admin.SimpleListFilter):
    """The household's province (31 choices, read from the reference table)."""

    title = "استان"
    parameter_name = "province"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(str(pk), name) for pk, name in Province.objects.values_list("pk", "name")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        province_id = latin_number(self.value() or "")
        if province_id is None:
            return queryset
        return queryset.filter(selectors.in_province(province_id=province_id))


class AgeFilter(admin.SimpleListFilter):
    """How long the objection has waited: under a week, one to four weeks, longer."""

    title = "مدت انتظار"
    parameter_name = "age"
    RANGES = {
        "lt7": ("کمتر از ۷ روز", None, 7),
        "7to30": ("۷ تا ۳۰ روز", 7, 30),
        "gt30": ("بیش از ۳۰ روز", 30, None),
    }

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(key, label) for key, (label, _, _) in self.RANGES.items()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        chosen = self.RANGES.get(self.value() or "")
        if chosen is None:
            return queryset
        _, at_least, under = chosen
        now = timezone.now()
        condition = Q()
        if at_least is not None:
            condition &= Q(created_at__lte=now - dt.timedelta(days=at_least))
        if under is not None:
            condition &= Q(created_at__gt=now - dt.timedelta(days=under))
        return queryset.filter(condition)
