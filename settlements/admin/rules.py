"""Phases and their decile bands: the rules of the programme, as data officers edit.

A phase's rules are edited here until money moves under it; from then on the phase and its
bands are read-only and cannot be deleted (``rules.phase_has_moved_money``): a change of rules
is a new phase from a date.
"""

import datetime as dt
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from kalabarg.lib import admin_display as show
from kalabarg.lib.admin_fields import DecileField, JalaliDateField, RialField
from kalabarg.lib.persian import normalize_text, to_persian_digits
from settlements.models import Phase, PhaseBand
from settlements.services import rules

PHASE_LOCKED_NOTICE = (
    "پس از جابه‌جایی پول با قواعد این مرحله، تغییر آن ممکن نیست؛ مرحله تازه‌ای از تاریخ دیگری بسازید"
)


def _phase_locked(request: HttpRequest, phase: Phase | None) -> bool:
    """``rules.phase_has_moved_money``, asked once per request per phase."""
    if phase is None or phase.pk is None:
        return False
    cache: dict[int, bool] = request.__dict__.setdefault("_kalabarg_phase_locks", {})
    if phase.pk not in cache:
        cache[phase.pk] = rules.phase_has_moved_money(phase=phase)
    return cache[phase.pk]


class PhaseForm(forms.ModelForm):
    starts_on = JalaliDateField(
        label="از تاریخ", error_messages={"required": "تاریخ آغاز مرحله را وارد کنید"}
    )
    ends_on = JalaliDateField(
        label="تا تاریخ",
        required=False,
        help_text="تاریخ شمسی، مانند ۱۴۰۲/۰۶/۳۱؛ خالی بگذارید تا مرحله تا آغاز مرحله بعد ادامه یابد.",
    )

    class Meta:
        model = Phase
        fields = ["name", "starts_on", "ends_on", "basis", "unspent_policy", "min_distinct_items"]

    def clean_name(self) -> str:
        name = normalize_text(self.cleaned_data.get("name") or "")
        if not name:
            raise ValidationError("نام مرحله را وارد کنید", code="name_required")
        return name

    def clean_starts_on(self) -> dt.date:
        starts_on = self.cleaned_data["starts_on"]
        other = Phase.objects.filter(starts_on=starts_on).exclude(pk=self.instance.pk).first()
        if other is not None:
            raise ValidationError(
                f"مرحله «{other.name}» از همین تاریخ آغاز می‌شود؛ تاریخ دیگری برگزینید",
                code="phase_start_taken",
            )
        return starts_on

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        starts_on, ends_on = cleaned.get("starts_on"), cleaned.get("ends_on")
        if starts_on is not None and ends_on is not None and ends_on < starts_on:
            self.add_error(
                "ends_on",
                ValidationError(
                    "پایان مرحله نباید پیش از آغاز آن باشد", code="phase_ends_before_start"
                ),
            )
        return cleaned


class PhaseBandForm(forms.ModelForm):
    min_decile = DecileField(label="از دهک")
    max_decile = DecileField(label="تا دهک")
    credit_per_cycle_rial = RialField(label="اعتبار کالابرگ در هر دوره (ریال)")
    bonus_threshold_rial = RialField(
        label="آستانه اعتبار مضاعف (ریال)",
        minimum=1,
        below_minimum="آستانه اعتبار مضاعف باید بیشتر از صفر باشد",
    )
    bonus_amount_rial = RialField(label="اعتبار مضاعف (ریال)")
    cash_subsidy_rial = RialField(
        label="یارانه نقدی نمایشی (ریال)", required=False, empty_value=0, initial=0
    )

    class Meta:
        model = PhaseBand
        fields = [
            "min_decile",
            "max_decile",
            "credit_per_cycle_rial",
            "bonus_threshold_rial",
            "bonus_amount_rial",
            "cash_subsidy_rial",
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        low, high = cleaned.get("min_decile"), cleaned.get("max_decile")
        if low is not None and high is not None and low > high:
            self.add_error(
                "max_decile",
                ValidationError(
                    "«تا دهک» نباید از «از دهک» کوچک‌تر باشد", code="band_deciles_reversed"
                ),
            )
        return cleaned


class PhaseBandFormSet(BaseInlineFormSet):
    """The bands of one phase must not share a decile: the rule for a household must be one band."""

    def clean(self) -> None:
        super().clean()
        taken: list[tuple[int, int]] = []
        for form in self.forms:
            data = getattr(form, "cleaned_data", None) or {}
            if data.get("DELETE"):
                continue
            low, high = data.get("min_decile"), data.get("max_decile")
            if low is None or high is None or low > high:
                continue  # empty extra row, or its own error is already shown
            clash = next(((a, b) for a, b in taken if low <= b and a <= high), None)
            if clash is not None:
                form.add_error(
                    "min_decile",
                    ValidationError(
                        f"این بازه با بازه دهک {to_persian_digits(clash[0])} تا "
                        f"{to_persian_digits(clash[1])} هم‌پوشانی دارد؛ هر دهک فقط در یک بازه باشد",
                        code="band_overlap",
                    ),
                )
                continue
            taken.append((low, high))


class PhaseBandInline(admin.TabularInline):
    """A phase's amounts per decile band; read-only once money moved under the phase."""

    model = PhaseBand
    form = PhaseBandForm
    formset = PhaseBandFormSet
    extra = 0
    verbose_name = "بازه دهک"
    verbose_name_plural = "بازه‌های دهک (مبالغ به ازای هر عضو یا هر خانوار، بنا به مبنای مرحله)"
    editable_fields = (
        "min_decile",
        "max_decile",
        "credit_per_cycle_rial",
        "bonus_threshold_rial",
        "bonus_amount_rial",
        "cash_subsidy_rial",
    )
    shown_fields = (
        "min_decile_display",
        "max_decile_display",
        "credit_display",
        "threshold_display",
        "bonus_display",
        "cash_display",
    )

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.shown_fields if _phase_locked(request, obj) else self.editable_fields

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.shown_fields if _phase_locked(request, obj) else ()

    def get_extra(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> int:
        return 1 if obj is None else 0

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return not _phase_locked(request, obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return not _phase_locked(request, obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return not _phase_locked(request, obj) and super().has_delete_permission(request, obj)

    @admin.display(description="از دهک")
    def min_decile_display(self, band: PhaseBand) -> str:
        return to_persian_digits(band.min_decile)

    @admin.display(description="تا دهک")
    def max_decile_display(self, band: PhaseBand) -> str:
        return to_persian_digits(band.max_decile)

    @admin.display(description="اعتبار کالابرگ در هر دوره")
    def credit_display(self, band: PhaseBand) -> str:
        return show.rial(band.credit_per_cycle_rial)

    @admin.display(description="آستانه اعتبار مضاعف")
    def threshold_display(self, band: PhaseBand) -> str:
        return show.rial(band.bonus_threshold_rial)

    @admin.display(description="اعتبار مضاعف")
    def bonus_display(self, band: PhaseBand) -> str:
        return show.rial(band.bonus_amount_rial)

    @admin.display(description="یارانه نقدی نمایشی")
    def cash_display(self, band: PhaseBand) -> str:
        return show.rial(band.cash_subsidy_rial)


@admin.register(Phase)
class PhaseAdmin(admin.ModelAdmin):
    empty_value_display = "—"
    form = PhaseForm
    list_display = [
        "name",
        "starts_on_display",
        "ends_on_display",
        "basis",
        "unspent_policy",
        "deciles_display",
    ]
    inlines = [PhaseBandInline]
    editable_fields = [
        "name",
        "starts_on",
        "ends_on",
        "basis",
        "unspent_policy",
        "min_distinct_items",
    ]
    shown_fields = [
        "name",
        "starts_on_display",
        "ends_on_display",
        "basis",
        "unspent_policy",
        "min_distinct_items_display",
        "created_at_display",
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Phase]:
        return super().get_queryset(request).prefetch_related("bands")

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.shown_fields if _phase_locked(request, obj) else self.editable_fields

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.shown_fields if _phase_locked(request, obj) else []

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # a pinned phase must never go in a bulk delete
        return actions

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return not _phase_locked(request, obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return not _phase_locked(request, obj) and super().has_delete_permission(request, obj)

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        phase = self.get_object(request, unquote(object_id)) if object_id else None
        locked = _phase_locked(request, phase)
        if locked and request.method == "POST":
            # Not a 403: an officer who opened the page before money moved gets told why.
            self.message_user(request, PHASE_LOCKED_NOTICE + "؛ چیزی ذخیره نشد.", messages.ERROR)
            return HttpResponseRedirect(request.path)
        context = {
            **(extra_context or {}),
            "phase_locked": locked,
            "locked_notice": PHASE_LOCKED_NOTICE,
        }
        return super().changeform_view(request, object_id, form_url, context)

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        phase = self.get_object(request, unquote(object_id))
        if phase is not None and _phase_locked(request, phase):
            self.message_user(
                request, PHASE_LOCKED_NOTICE + "؛ این مرحله حذف نمی‌شود.", messages.ERROR
            )
            return HttpResponseRedirect(reverse("admin:settlements_phase_change", args=[phase.pk]))
        return super().delete_view(request, object_id, extra_context)

    @admin.display(description="از تاریخ", ordering="starts_on")
    def starts_on_display(self, phase: Phase) -> str:
        return show.day(phase.starts_on)

    @admin.display(description="تا تاریخ", ordering="ends_on")
    def ends_on_display(self, phase: Phase) -> str:
        return show.day(phase.ends_on, empty="تا آغاز مرحله بعد")

    @admin.display(description="دهک‌های مشمول")
    def deciles_display(self, phase: Phase) -> str:
        bands = sorted(phase.bands.all(), key=lambda band: band.min_decile)
        if not bands:
            return "هیچ دهکی"
        return "، ".join(
            to_persian_digits(f"{band.min_decile} تا {band.max_decile}") for band in bands
        )

    @admin.display(description="حداقل تعداد اقلام متفاوت در هر خرید")
    def min_distinct_items_display(self, phase: Phase) -> str:
        return to_persian_digits(phase.min_distinct_items)

    @admin.display(description="ثبت")
    def created_at_display(self, phase: Phase) -> str:
        return show.when(phase.created_at)
