"""The store settlements list's filters and search: none of them counts rows (facets stay off),
and each reads an index of ``settlements_storesettlement`` in the list's order (newest first).

- a store, a run or a payout file chosen by a link (``?store__id__exact=N``: a store's history);
- the date the settlement was made (Jalali from/to, over ``store_settlement_recent_idx``);
- the search box: a reference (``KB000000000123``), a Sheba, a licence number or a store's name.
"""

import datetime as dt
import re
from typing import Any

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from kalabarg.lib.admin_fields import JalaliDateField
from kalabarg.lib.identifiers import IdentifierError, normalize_sheba
from kalabarg.lib.persian import (
    format_jalali_date,
    latin_number,
    normalize_text,
    to_latin_digits,
    to_persian_digits,
)
from settlements.models import PayoutBatch, SettlementRun
from settlements.models.payouts import REFERENCE_PREFIX
from stores.models import Store

# A store name that matches more stores than this is refused as too vague (say so, list nothing).
STORE_NAME_MATCHES = 200
RECENT_BATCHES = 10

_REFERENCE = re.compile(rf"{REFERENCE_PREFIX}\s*([0-9]{{1,12}})", re.IGNORECASE)


class ChosenRowFilter(admin.SimpleListFilter):
    """A filter set by a link from another page (a store, a run, a payout file): it shows the
    chosen row and a way back to every row, and offers nothing to pick when none is chosen."""

    model: type[Model]
    all_label = "همه"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        chosen = latin_number(self.value() or "")
        if chosen is None:
            return []
        row = self.model._default_manager.filter(pk=chosen).first()
        return [(str(chosen), self.label(row) if row is not None else to_persian_digits(chosen))]

    def label(self, row: Any) -> str:
        return str(row)

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() is None:
            return queryset
        chosen = latin_number(self.value() or "")
        if chosen is None:
            return queryset.none()
        return queryset.filter(**{str(self.parameter_name): chosen})

    def choices(self, changelist: Any) -> Any:
        yield {
            "selected": self.value() is None,
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": self.all_label,
        }
        for lookup, title in self.lookup_choices:
            yield {
                "selected": True,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }


class StoreFilter(ChosenRowFilter):
    """A store's settlement history (the link on the store's page)."""

    title = "فروشگاه"
    parameter_name = "store__id__exact"
    model = Store
    all_label = "همه فروشگاه‌ها"


class RunFilter(ChosenRowFilter):
    title = "اجرای تسویه"
    parameter_name = "run__id__exact"
    model = SettlementRun
    all_label = "همه اجراها"

    def label(self, row: Any) -> str:
        return f"تا {format_jalali_date(row.cutoff)}، ساعت {to_persian_digits(timezone.localtime(row.cutoff).strftime('%H:%M'))}"


class PayoutBatchFilter(ChosenRowFilter):
    """The payout file: the latest few to pick from, or the one a file's page links to."""

    title = "فایل پرداخت"
    parameter_name = "payout_batch__id__exact"
    model = PayoutBatch
    all_label = "همه"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        recent = list(PayoutBatch.objects.order_by("-created_at", "-id")[:RECENT_BATCHES])
        chosen = latin_number(self.value() or "")
        if chosen is not None and chosen not in {batch.pk for batch in recent}:
            recent += list(PayoutBatch.objects.filter(pk=chosen))
        return [(str(batch.pk), batch.file_name) for batch in recent]

    def choices(self, changelist: Any) -> Any:
        yield {
            "selected": self.value() is None,
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": self.all_label,
        }
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


class MadeOnFilter(admin.ListFilter):
    """The day the settlement was made (Tehran), from and to (both included), typed in Jalali.

    The nightly run settles up to midnight and runs at 02:30, so a night's settlements are made
    on their cut-off's day. A date that cannot be read is said next to its box and the list
    shows nothing (never everything)."""

    title = "تاریخ تسویه"
    template = "admin/settlements/storesettlement/date_filter.html"
    parameters = ("from", "to")
    labels = {"from": "از تاریخ", "to": "تا تاریخ (با خودش)"}

    def __init__(
        self, request: HttpRequest, params: dict[str, Any], model: Any, model_admin: Any
    ) -> None:
        super().__init__(request, params, model, model_admin)
        self.values: dict[str, str] = {}
        self.errors: dict[str, str] = {}
        self.bounds: dict[str, dt.datetime] = {}
        for name in self.parameters:
            if name not in params:
                continue
            raw = params.pop(name)
            value = (raw[-1] if isinstance(raw, list) else raw).strip()
            self.used_parameters[name] = value
            if not value:
                continue
            self.values[name] = value
            try:
                day = JalaliDateField().clean(value)
            except ValidationError as exc:
                self.errors[name] = exc.messages[0]
                continue
            self.bounds[name] = _day_start(day if name == "from" else day + dt.timedelta(days=1))

    def has_output(self) -> bool:
        return True

    def expected_parameters(self) -> list[str | None]:
        return list(self.parameters)

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.errors:
            return queryset.none()
        if "from" in self.bounds:
            queryset = queryset.filter(created_at__gte=self.bounds["from"])
        if "to" in self.bounds:
            queryset = queryset.filter(created_at__lt=self.bounds["to"])
        return queryset

    def choices(self, changelist: Any) -> Any:
        yield {
            "fields": [
                {
                    "name": name,
                    "label": label,
                    "value": self.values.get(name, ""),
                    "error": self.errors.get(name, ""),
                }
                for name, label in self.labels.items()
            ],
            "hidden": [
                (key, value)
                for key, value in changelist.params.items()
                if key not in self.parameters and key != "p"
            ],
            "clear_url": changelist.get_query_string(remove=[*self.parameters, "p"]),
            "active": bool(self.values),
        }


def settlement_search(term: str) -> tuple[Q | None, str]:
    """What an officer typed into the search box, as a condition on indexed columns, and what
    to tell them when it cannot be one (then nothing is listed).

    ``KB000000000123`` (or ``kb123``) is a settlement's reference; a Sheba (``IR…``, spaces
    allowed) the account it was paid to, of a store that holds it now (a Sheba a store has left
    is found by the settlement's reference); anything else a store's licence number or a
    fragment of its name (at most ``STORE_NAME_MATCHES`` stores)."""
    term = normalize_text(to_latin_digits(term)).strip()
    if not term:
        return None, ""
    reference = _REFERENCE.fullmatch(term.replace(" ", ""))
    if reference is not None:
        return Q(pk=int(reference.group(1))), ""
    compact = re.sub(r"[\s\-]", "", term)
    if compact.upper().startswith("IR") or (compact.isdigit() and len(compact) == 24):
        try:
            sheba = normalize_sheba(compact)
        except IdentifierError as exc:
            return Q(pk__in=[]), exc.message
        # Through the stores that hold the Sheba now (indexed) and each one's history index:
        # an index of the settlements' Sheba cost a fifth of the export (docs/decisions.md).
        holders = list(
            Store.objects.filter(sheba=sheba).values_list("pk", flat=True)[: STORE_NAME_MATCHES + 1]
        )
        return Q(store_id__in=holders, sheba=sheba), ""
    store_ids = list(
        Store.objects.filter(Q(licence_number=term) | Q(name__icontains=term))
        .order_by("pk")
        .values_list("pk", flat=True)[: STORE_NAME_MATCHES + 1]
    )
    if len(store_ids) > STORE_NAME_MATCHES:
        return Q(pk__in=[]), (
            f"بیش از {to_persian_digits(STORE_NAME_MATCHES)} فروشگاه با این نام هست؛ نام کامل‌تر، "
            "شماره پروانه یا شناسه پرداخت (KB…) را بنویسید"
        )
    return Q(store_id__in=store_ids), ""
