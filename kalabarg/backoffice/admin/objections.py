"""The objection queue: officers decide decile objections — accept (a new decile from a date) or
reject, with a reason — with the household's essential sections beside the form.

The list is the queue: open objections oldest first by default (``objection_open_idx``),
filtered by province, category and how long they have waited, never counted in full. Deciding
goes through ``kalabarg.backoffice.objections`` (the registry's decile rules, the money core's
refusal of a closed cycle and its late charge, and the household's SMS)."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.html import format_html

from households import selectors as household_selectors
from households.models import Household, Objection, ObjectionStatus
from kalabarg.backoffice import objections as decisions
from kalabarg.backoffice import selectors
from kalabarg.backoffice.admin.filters import (
    AgeFilter,
    ObjectionQueueStatusFilter,
    ProvinceFilter,
    queue_status,
)
from kalabarg.backoffice.household360 import DECISION_SECTIONS, household_sections, household_url
from kalabarg.lib import admin_display as show
from kalabarg.lib.admin_display import officer
from kalabarg.lib.admin_paging import CappedCountPaginator
from kalabarg.lib.admin_reason import reason_field
from kalabarg.lib.persian import JalaliDateError, parse_jalali_date, to_persian_digits


class ObjectionDecisionForm(forms.ModelForm):
    decision = forms.ChoiceField(
        label="تصمیم",
        choices=[("accept", "پذیرش: دهک تازه از یک تاریخ"), ("reject", "رد درخواست")],
        widget=forms.RadioSelect,
        error_messages={"required": "پذیرش یا رد را انتخاب کنید"},
    )
    decided_decile = forms.IntegerField(
        label="دهک تازه",
        required=False,
        min_value=1,
        max_value=10,
        help_text="فقط برای پذیرش؛ عددی از ۱ تا ۱۰",
        error_messages={
            "min_value": "دهک باید عددی از ۱ تا ۱۰ باشد",
            "max_value": "دهک باید عددی از ۱ تا ۱۰ باشد",
        },
    )
    decided_from = forms.CharField(
        label="از تاریخ",
        required=False,
        max_length=10,
        help_text="فقط برای پذیرش؛ تاریخ شمسی، مانند ۱۴۰۳/۰۶/۰۱",
    )
    reason = reason_field(
        label="دلیل تصمیم",
        required_message="دلیل تصمیم را بنویسید",
        help_text="خانوار این دلیل را در درگاه می‌بیند؛ با نام شما ثبت می‌شود.",
    )

    class Meta:
        model = Objection
        fields: list[str] = []

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("decision") == "accept":
            if not data.get("decided_decile"):
                self.add_error("decided_decile", "برای پذیرش، دهک تازه را بنویسید")
            raw = (data.get("decided_from") or "").strip()
            if not raw:
                self.add_error("decided_from", "برای پذیرش، تاریخ آغاز دهک تازه را بنویسید")
            else:
                try:
                    data["decided_from_date"] = parse_jalali_date(raw)
                except JalaliDateError as exc:
                    self.add_error("decided_from", str(exc))
        return data


@admin.register(Objection)
class ObjectionAdmin(admin.ModelAdmin):
    empty_value_display = "—"
    show_facets = admin.ShowFacets.NEVER  # facet counts are full counts
    list_display = [
        "number",
        "household_link",
        "filed_by",
        "province",
        "category",
        "status",
        "created_at_display",
        "waiting",
    ]
    list_filter = [ObjectionQueueStatusFilter, ProvinceFilter, "category", AgeFilter]
    list_select_related = ["household__province", "filed_by"]
    search_fields = ["household__registry_code"]  # shows the box; get_search_results decides
    search_help_text = "کد ملی یا شماره همراه هر یک از اعضا، یا شناسه خانوار"
    sortable_by = ()  # the queue's order is fixed (each list's own index)
    show_full_result_count = False
    paginator = CappedCountPaginator
    list_per_page = 50
    form = ObjectionDecisionForm
    change_form_template = "admin/backoffice/objection/change_form.html"
    readonly = [
        "household_link",
        "filed_by",
        "category",
        "description",
        "decile_at_filing",
        "current_decile",
        "status",
        "created_at",
        "decided_at",
        "decided_by",
        "decision_reason",
        "new_decile",
        "new_decile_from",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # households file objections on the portal

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_ordering(self, request: HttpRequest) -> list[str]:
        return selectors.objection_queue_ordering(
            open_only=queue_status(request) == ObjectionStatus.OPEN
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return self.readonly

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is not None and obj.status == ObjectionStatus.OPEN:
            return [
                *self.readonly[:7],
                "decision",
                "decided_decile",
                "decided_from",
                "reason",
            ]
        return self.readonly

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        if obj is None or obj.status != ObjectionStatus.OPEN:
            kwargs["form"] = forms.ModelForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Objection], search_term: str
    ) -> tuple[QuerySet[Objection], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        # Household ids first (members' and registry-code indexes), then the objections by their
        # household index: an OR across the join made PostgreSQL scan every objection.
        ids = set(household_selectors.household_ids_matching(term=term))
        ids.update(Household.objects.filter(registry_code=term).values_list("pk", flat=True))
        return queryset.filter(household_id__in=ids), False

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        """The decision form, with the household's members, decile history, wallet and recent
        purchases beside it (the full 360° page is a link away)."""
        context = dict(extra_context or {})
        objection = self.get_object(request, object_id)
        if objection is not None and request.user.has_perm("households.view_household"):
            household = selectors.household(household_id=objection.household_id)
            if household is not None:
                context["sections"] = household_sections(
                    household=household, sections=DECISION_SECTIONS
                )
        return super().change_view(request, object_id, form_url, extra_context=context)

    @admin.display(description="شماره", ordering="pk")
    def number(self, objection: Objection) -> str:
        return to_persian_digits(objection.pk)

    @admin.display(description="خانوار")
    def household_link(self, objection: Objection) -> str:
        return format_html(
            '<a href="{}">{}</a>',
            household_url(objection.household_id),
            objection.household.registry_code,
        )

    @admin.display(description="استان")
    def province(self, objection: Objection) -> str:
        return objection.household.province.name

    @admin.display(description="ثبت", ordering="created_at")
    def created_at_display(self, objection: Objection) -> str:
        return show.when(objection.created_at)

    @admin.display(description="در انتظار")
    def waiting(self, objection: Objection) -> str:
        if objection.status != ObjectionStatus.OPEN:
            return "—"
        days = (timezone.now() - objection.created_at).days
        return f"{to_persian_digits(days)} روز"

    @admin.display(description="دهک کنونی")
    def current_decile(self, objection: Objection) -> str:
        decile = household_selectors.decile_on(
            household_id=objection.household_id, on_date=timezone.localdate()
        )
        return to_persian_digits(decile) if decile else "—"

    def save_model(self, request: HttpRequest, obj: Objection, form: Any, change: bool) -> None:
        data = getattr(form, "cleaned_data", {})
        if obj.status != ObjectionStatus.OPEN or "decision" not in data:
            return
        try:
            if data["decision"] == "accept":
                decisions.accept_objection(
                    objection=obj,
                    new_decile=data["decided_decile"],
                    effective_from=data["decided_from_date"],
                    reason=data["reason"],
                    decided_by=officer(request),
                )
            else:
                decisions.reject_objection(
                    objection=obj,
                    reason=data["reason"],
                    decided_by=officer(request),
                )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            obj.refresh_from_db()

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        return None  # nothing related is edited here
