"""Phases and their decile bands: the rules of the programme, as data officers edit.

A phase's rules are edited here until money moves under it; from then on the phase and its
bands are read-only and cannot be deleted (``rules.phase_has_moved_money``): a change of rules
is a new phase from a date.

Four-eyes: saving a new phase, or a change of a phase and its bands, records one request
(``settlements.approvals.PHASE``: the phase's fields and every band) after the forms' own checks;
``rules.save_phase`` writes it when a second officer approves. The phase list shows the requests
waiting (the draft phases), and a phase's page the one about it. Deleting a phase nothing refers
to yet is a request as well. Expiring an ended phase's unspent
credit is a request too (``settlements.approvals.RUN_START``).
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
from django.urls import path, reverse

from approvals import services as approval_services
from approvals.models import ChangeRequest, RequestStatus
from approvals.proposing import pending_notice, propose
from kalabarg.lib import admin_display as show
from kalabarg.lib.admin_fields import DecileField, JalaliDateField, RialField
from kalabarg.lib.admin_reason import reason_field
from kalabarg.lib.persian import normalize_text, to_persian_digits
from settlements.admin.runs import can_run, confirm_run, propose_run, refusal
from settlements.admin.what_if import what_if_payload, what_if_view
from settlements.approvals import PHASE, band_rows, deletion_payload, phase_payload
from settlements.models import Phase, PhaseBand, RunKind, UnspentPolicy
from settlements.services import rules

# The phase list shows at most this many requests waiting (new phases and changes).
MAX_PENDING_SHOWN = 50

PHASE_LOCKED_NOTICE = rules.PHASE_PINNED


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
    reason = reason_field(
        label="دلیل یا مستند این تغییر",
        required_message="دلیل یا مستند این تغییر (مانند شماره مصوبه) را بنویسید",
        help_text="با نام شما در درخواست ثبت می‌شود؛ تغییر پس از تأیید کارشناس دیگری اعمال می‌شود.",
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
        if self.instance.pk:
            waiting = approval_services.pending_for(target=self.instance, kind=PHASE)
            if waiting is not None:
                self.add_error(
                    None,
                    ValidationError(
                        f"تغییر دیگری از این مرحله (درخواست شماره {to_persian_digits(waiting.pk)}) "
                        "در انتظار تأیید است؛ نخست آن تأیید یا رد شود",
                        code="change_already_pending",
                    ),
                )
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
    actions = ["expire_phase"]
    editable_fields = [
        "name",
        "starts_on",
        "ends_on",
        "basis",
        "unspent_policy",
        "min_distinct_items",
        "reason",
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

    def has_run_permission(self, request: HttpRequest) -> bool:
        return can_run(request)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        waiting = (
            ChangeRequest.objects.filter(kind=PHASE, status=RequestStatus.PENDING)
            .select_related("maker")
            .order_by("made_at", "id")[:MAX_PENDING_SHOWN]
        )
        context = {
            **(extra_context or {}),
            "what_if_url": reverse("admin:settlements_phase_what_if"),
            "pending_phase_requests": list(waiting),
            "phase_requests_url": reverse("admin:approvals_changerequest_changelist")
            + f"?kind={PHASE}&status__exact={RequestStatus.PENDING}",
        }
        return super().changelist_view(request, context)

    def get_urls(self) -> list[Any]:
        what_if = path(
            "what-if/",
            self.admin_site.admin_view(lambda request: what_if_view(self, request)),
            name="settlements_phase_what_if",
        )
        return [what_if, *super().get_urls()]

    # --- Four-eyes: the validated forms become a request; nothing is written here --------------

    def save_model(self, request: HttpRequest, obj: Phase, form: Any, change: bool) -> None:
        return None  # ``save_related`` records the request: it sees the bands too

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        for formset in formsets:  # nothing saved: the admin's change message lists no rows
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        phase = Phase.objects.get(pk=form.instance.pk) if change else None
        changed = [field for field in form.changed_data if field != "reason"]
        if phase is not None and not (
            changed or any(formset.has_changed() for formset in formsets)
        ):
            self.message_user(request, "تغییری وارد نشده بود؛ درخواستی ثبت نشد.", messages.INFO)
            return
        bands = [
            inline.cleaned_data
            for formset in formsets
            for inline in formset.forms
            if inline.cleaned_data and not inline.cleaned_data.get("DELETE")
        ]
        data = form.cleaned_data
        name = data["name"]
        # The what-if of the rule as asked is recorded with the request: the approver sees the
        # figures the maker saw (settlements.approvals._describe_phase), not a later recount.
        projected = what_if_payload(bands=band_rows(bands), basis=data["basis"])
        propose(
            request,
            kind=PHASE,
            summary=f"تغییر مرحله «{phase.name}»" if phase else f"مرحله تازه «{name}»",
            payload=phase_payload(phase=phase, fields=data, bands=bands, projection=projected),
            target=phase,
            reason=data["reason"],
        )

    def log_addition(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        return None  # the request is the record; the approval writes the phase's history

    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        return None  # the phase form's: the request is the record, as for a new phase

    def response_add(
        self, request: HttpRequest, obj: Phase, post_url_continue: str | None = None
    ) -> HttpResponse:
        # The phase list shows the new phase's request among the phases waiting for approval.
        return HttpResponseRedirect(reverse("admin:settlements_phase_changelist"))

    def response_change(self, request: HttpRequest, obj: Phase) -> HttpResponse:
        # The phase's page says that a change of it waits for approval, with a link to it.
        return HttpResponseRedirect(reverse("admin:settlements_phase_change", args=[obj.pk]))

    @admin.action(
        description="درخواست ابطال اعتبار خرج‌نشده این مرحله (با تأیید کارشناس دیگر)",
        permissions=["run"],
    )
    def expire_phase(self, request: HttpRequest, queryset: QuerySet[Phase]) -> HttpResponse | None:
        chosen = list(queryset[:2])
        if len(chosen) != 1:
            self.message_user(
                request,
                "برای ابطال دقیقاً یک مرحله را انتخاب کنید؛ درخواستی ثبت نشد.",
                messages.ERROR,
            )
            return None
        phase = chosen[0]
        refused = refusal(kind=RunKind.EXPIRY, cycle=None, phase=phase)
        if refused:
            self.message_user(request, f"{refused} درخواستی ثبت نشد.", messages.ERROR)
            return None

        def proceed(reason: str) -> None:
            propose_run(request, kind=RunKind.EXPIRY, cycle=None, phase=phase, reason=reason)

        return confirm_run(
            self,
            request,
            objects=[phase],
            action="expire_phase",
            title="درخواست ابطال اعتبار خرج‌نشده مرحله",
            intro=(
                f"اعتبار خرج‌نشده‌ای که در مرحله «{phase.name}» داده شده "
                f"({UnspentPolicy.EXPIRE.label}) از کیف خانوارها به صندوق طرح بازمی‌گردد؛ "
                "اعتبار مرحله‌های بعد دست نمی‌خورد. پس از تأیید کارشناس دیگری اجرا می‌شود. "
                "دلیل را بنویسید:"
            ),
            proceed=proceed,
        )

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
            "what_if_url": (
                reverse("admin:settlements_phase_what_if") + f"?phase={phase.pk}" if phase else ""
            ),
            "phase_locked": locked,
            "locked_notice": PHASE_LOCKED_NOTICE,
            "pending_notice": pending_notice(phase, kind=PHASE) if phase is not None else "",
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
        if (
            phase is not None
            and request.method == "POST"
            and self.has_delete_permission(request, phase)
        ):
            # Four-eyes: the confirmation records a request; the phase goes on its approval.
            propose(
                request,
                kind=PHASE,
                summary=f"حذف مرحله «{phase.name}»",
                payload=deletion_payload(phase=phase),
                target=phase,
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
