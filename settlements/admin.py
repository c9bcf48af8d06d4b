"""Officer admin of the money core: phases and their rules, cycles, batch runs and the ledger.

- A phase's rules are edited here until money moves under it; from then on the phase and its
  bands are read-only and cannot be deleted (``rules.phase_has_moved_money``): a change of rules
  is a new phase from a date.
- Runs (charge, bonus sweep) are started and resumed through ``settlements.services.runs``, after
  the officer gives a reason; their progress, counts and failures are shown on the run's page.
- The ledger (accounts, entries, postings, digests) is append-only and shown read-only: no money
  figure is typed or changed here, and every figure is shown in rials.
"""

import datetime as dt
import re
from typing import Any, cast

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.models import LogEntry
from django.contrib.admin.utils import unquote
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError
from django.db.models import Q, QuerySet, Sum
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from households.models import Household
from households.selectors import household_ids_matching
from kalabarg.lib.admin_paging import CappedCountPaginator
from kalabarg.lib.admin_readonly import ReadOnlyAdminMixin
from kalabarg.lib.admin_reason import confirm_with_reason
from kalabarg.lib.money import format_money, group_thousands
from kalabarg.lib.persian import (
    JALALI_MONTHS,
    JalaliDateError,
    format_jalali_date,
    format_jalali_datetime,
    jalali,
    normalize_text,
    parse_jalali_date,
    to_latin_digits,
    to_persian_digits,
)
from settlements import selectors, tasks
from settlements.models import (
    Account,
    AccountKind,
    BalanceRollup,
    CreditRun,
    Cycle,
    CycleStatus,
    JournalEntry,
    LedgerDigest,
    Phase,
    PhaseBand,
    Posting,
    RunChunk,
    RunKind,
    RunStatus,
)
from settlements.services import rules, runs
from settlements.services.ledger import SYSTEM_KINDS
from stores.models import Terminal

PHASE_LOCKED_NOTICE = (
    "پس از جابه‌جایی پول با قواعد این مرحله، تغییر آن ممکن نیست؛ مرحله تازه‌ای از تاریخ دیگری بسازید"
)
APPEND_ONLY_HELP = (
    "اسناد حسابداری فقط افزوده می‌شوند و هرگز ویرایش یا حذف نمی‌شوند. "
    "هر اصلاح، سند برگشتی تازه‌ای است با همان ردیف‌ها و مبالغ قرینه، که به سند اصلی اشاره می‌کند."
)
# The largest amount a band may name (far above any real figure, far below the bigint limit).
MAX_RIAL = 10**15
# A run's page lists at most this many unfinished or failed chunks.
MAX_CHUNKS_SHOWN = 200

TERMINAL_ID = re.compile(r"[0-9]{8}")


# --- Display helpers ------------------------------------------------------------------------------


def _officer(request: HttpRequest) -> User:
    """The admin only serves staff users, so the request's user is a real account."""
    return cast(User, request.user)


def _rial(amount: int | None) -> str:
    return "—" if amount is None else format_money(int(amount), unit="rial")


def _number(value: int | None) -> str:
    return "—" if value is None else to_persian_digits(group_thousands(int(value)))


def _when(value: dt.datetime | None) -> str:
    return format_jalali_datetime(value) if value else "—"


def _day(value: dt.date | None, *, empty: str = "—") -> str:
    """``۱ شهریور ۱۴۰۲ (2023-08-23)``: the Jalali date people read, and the stored Gregorian one."""
    if value is None:
        return empty
    return format_html(
        '{} <span class="quiet" dir="ltr">({})</span>', format_jalali_date(value), value.isoformat()
    )


def _month_name(cycle: Cycle) -> str:
    month = jalali(cycle.starts_on)
    return f"{JALALI_MONTHS[month.month - 1]} {to_persian_digits(month.year)}"


def _change_link(obj: Any, text: str) -> str:
    opts = obj._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, text)


def _only(error: ValidationError, field: str) -> ValidationError:
    """A service's ``{field: [...]}`` error as a plain error, for a form field."""
    if hasattr(error, "error_dict"):
        return ValidationError(error.error_dict.get(field) or error.messages)
    return error


def _owner(account: Account) -> str:
    if account.household_id is not None and account.household is not None:
        return account.household.registry_code
    if account.store_id is not None and account.store is not None:
        return account.store.name
    return "—"


# --- Form fields: Persian digits, thousands separators, Jalali dates ------------------------------


class RialInput(forms.TextInput):
    """Shows a stored amount as ``۲٬۰۰۰٬۰۰۰``; what the officer typed is shown back as typed."""

    def format_value(self, value: Any) -> str | None:
        if isinstance(value, int):
            return to_persian_digits(group_thousands(value))
        return super().format_value(value)


class RialField(forms.Field):
    """A whole number of rials, typed in any digits, with or without thousands separators."""

    widget = RialInput

    def __init__(
        self,
        *,
        minimum: int = 0,
        below_minimum: str = "مبلغ نمی‌تواند منفی باشد",
        empty_value: int | None = None,
        **kwargs: Any,
    ) -> None:
        self.minimum = minimum
        self.below_minimum = below_minimum
        self.empty_value = empty_value
        kwargs.setdefault("error_messages", {"required": "مبلغ را به ریال وارد کنید"})
        kwargs.setdefault(
            "widget", RialInput(attrs={"dir": "ltr", "inputmode": "numeric", "size": 12})
        )
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> int | None:
        if isinstance(value, int):
            return value
        text = to_latin_digits(str(value or "")).strip()
        for separator in (",", "٬", "،", " ", "\u200c", "_"):
            text = text.replace(separator, "")
        text = text.replace("−", "-")
        if not text:
            return self.empty_value
        if not re.fullmatch(r"-?[0-9]+", text):
            raise ValidationError(
                "مبلغ باید عدد صحیح ریال باشد (بدون اعشار و حروف)", code="amount_not_integer"
            )
        return int(text)

    def validate(self, value: Any) -> None:
        super().validate(value)
        if value is None:
            return
        if value < self.minimum:
            raise ValidationError(self.below_minimum, code="amount_below_minimum")
        if value > MAX_RIAL:
            raise ValidationError("این مبلغ بیش از اندازه بزرگ است", code="amount_too_large")


class DecileField(forms.Field):
    """A decile 1..10, typed in any digits."""

    widget = forms.TextInput

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("error_messages", {"required": "دهک را وارد کنید"})
        kwargs.setdefault(
            "widget", forms.TextInput(attrs={"dir": "ltr", "inputmode": "numeric", "size": 3})
        )
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> int | None:
        if isinstance(value, int):
            return value
        text = to_latin_digits(str(value or "")).strip()
        if not text:
            return None
        if not re.fullmatch(r"-?[0-9]+", text):
            raise ValidationError("دهک باید عددی از ۱ تا ۱۰ باشد", code="decile_not_integer")
        return int(text)

    def validate(self, value: Any) -> None:
        super().validate(value)
        if value is not None and not 1 <= value <= 10:
            raise ValidationError("دهک باید عددی از ۱ تا ۱۰ باشد", code="decile_out_of_range")


class JalaliDateInput(forms.TextInput):
    def format_value(self, value: Any) -> str | None:
        if isinstance(value, dt.date):
            return format_jalali_date(value, with_month_name=False)
        return super().format_value(value)


_DATE_PARTS = re.compile(r"([0-9]{4})[/\-]([0-9]{1,2})[/\-]([0-9]{1,2})")


class JalaliDateField(forms.DateField):
    """A Jalali date ``۱۴۰۲/۰۶/۰۱`` (any digits); a Gregorian ``2023-08-23`` is accepted too."""

    widget = JalaliDateInput

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "widget",
            JalaliDateInput(attrs={"dir": "ltr", "size": 12, "placeholder": "۱۴۰۲/۰۶/۰۱"}),
        )
        kwargs.setdefault("help_text", "تاریخ شمسی، مانند ۱۴۰۲/۰۶/۰۱")
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> dt.date | None:
        if value in self.empty_values:
            return None
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        text = to_latin_digits(str(value)).strip()
        match = _DATE_PARTS.fullmatch(text)
        if match is None:
            raise ValidationError("تاریخ را به شکل ۱۴۰۲/۰۶/۰۱ بنویسید", code="date_format")
        if int(match.group(1)) < 1700:
            try:
                return parse_jalali_date(text)
            except JalaliDateError as exc:
                raise ValidationError(str(exc), code="date_invalid") from exc
        try:
            return dt.date(*(int(part) for part in match.groups()))
        except ValueError as exc:
            raise ValidationError("چنین روزی در تقویم وجود ندارد", code="date_invalid") from exc


# --- Reason pages for actions that move money -----------------------------------------------------


def _reason_field() -> forms.CharField:
    return forms.CharField(
        label="دلیل",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        error_messages={"required": "دلیل این اجرا را بنویسید"},
        help_text="این دلیل با نام شما در سابقه اجرا ثبت می‌شود و در صفحه اجرا دیده می‌شود.",
    )


def _confirm_with_reason(
    modeladmin: admin.ModelAdmin, request: HttpRequest, **kwargs: Any
) -> HttpResponse | None:
    return confirm_with_reason(
        modeladmin,
        request,
        required_message="دلیل این اجرا را بنویسید",
        help_text="این دلیل با نام شما در سابقه اجرا ثبت می‌شود و در صفحه اجرا دیده می‌شود.",
        **kwargs,
    )


NOT_STARTED = "این ماه هنوز آغاز نشده است؛ اعتبار هر دوره از نخستین روز همان ماه شارژ می‌شود."
CLOSED = "این دوره بسته شده است و دوباره شارژ نمی‌شود."


def _refusal(kind: str, cycle: Cycle | None) -> str | None:
    """Why a charge of ``cycle`` must not start now, or None.

    A charge before the month starts would hand out next month's credit early; a charge of a
    closed cycle would reopen it next to the current one (``finish_run_if_complete`` opens it).
    """
    if kind != RunKind.CYCLE_CHARGE or cycle is None:
        return None
    if cycle.starts_on > timezone.localdate():
        return NOT_STARTED
    if cycle.status == CycleStatus.CLOSED:
        return CLOSED
    return None


def _start_run(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    *,
    kind: str,
    cycle: Cycle | None,
    phase: Phase | None,
    reason: str,
) -> CreditRun | None:
    """Start (or resume) a run through the service; record who and why; report how it went.

    With a broker the chunks go to the workers on commit; in eager mode (the embedded demo,
    no broker) they run here, one transaction each.
    """
    eager = bool(settings.CELERY_TASK_ALWAYS_EAGER)
    resumed = CreditRun.objects.filter(
        kind=kind, cycle=cycle, phase=phase, status__in=[RunStatus.PENDING, RunStatus.RUNNING]
    ).exists()
    try:
        run = runs.start_run(
            kind=kind,
            cycle=cycle,
            phase=phase,
            started_by=_officer(request),
            enqueue=None if eager else tasks.enqueue_chunks,
        )
    except ValidationError as exc:
        modeladmin.message_user(
            request, "اجرا آغاز نشد: " + "؛ ".join(exc.messages), messages.ERROR
        )
        return None
    label = RunKind(kind).label
    target = str(cycle or phase or "")
    note = f"{'ادامه' if resumed else 'آغاز'} {label} {target} — دلیل: {reason}"
    if resumed:
        modeladmin.log_change(request, run, note)
    else:
        modeladmin.log_addition(request, run, note)
    if eager:
        try:
            run = runs.run_inline(run=run)
        except DatabaseError:
            run.refresh_from_db()
            modeladmin.message_user(
                request,
                "بخشی از این اجرا ناموفق ماند؛ خطا در همین صفحه آمده است. "
                "پس از رفع مشکل، با اقدام «ادامه اجرا» آن را ادامه دهید.",
                messages.ERROR,
            )
            return run
        modeladmin.message_user(
            request,
            f"{label} {to_persian_digits(target)} انجام شد: {_number(run.entries_created)} سند، "
            f"جمعاً {_rial(run.amount_rial)}.",
            messages.SUCCESS,
        )
        return run
    verb = "ادامه یافت" if resumed else "آغاز شد"
    modeladmin.message_user(
        request,
        f"{label} {to_persian_digits(target)} {verb}؛ پیشرفت آن در این صفحه دیده می‌شود.",
        messages.SUCCESS,
    )
    return run


def _run_page(run: CreditRun) -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("admin:settlements_creditrun_change", args=[run.pk]))


def _can_run(request: HttpRequest) -> bool:
    """Starting or resuming a run is adding a run."""
    return request.user.has_perm("settlements.add_creditrun")


# --- Phases and their bands -----------------------------------------------------------------------


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
        return _rial(band.credit_per_cycle_rial)

    @admin.display(description="آستانه اعتبار مضاعف")
    def threshold_display(self, band: PhaseBand) -> str:
        return _rial(band.bonus_threshold_rial)

    @admin.display(description="اعتبار مضاعف")
    def bonus_display(self, band: PhaseBand) -> str:
        return _rial(band.bonus_amount_rial)

    @admin.display(description="یارانه نقدی نمایشی")
    def cash_display(self, band: PhaseBand) -> str:
        return _rial(band.cash_subsidy_rial)


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
        return _day(phase.starts_on)

    @admin.display(description="تا تاریخ", ordering="ends_on")
    def ends_on_display(self, phase: Phase) -> str:
        return _day(phase.ends_on, empty="تا آغاز مرحله بعد")

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
        return _when(phase.created_at)


# --- Cycles ---------------------------------------------------------------------------------------


class ChargeByKeyForm(forms.Form):
    key = forms.CharField(
        label="دوره (سال و ماه شمسی)",
        max_length=16,
        widget=forms.TextInput(
            attrs={"dir": "ltr", "size": 10, "autocomplete": "off", "placeholder": "۱۴۰۲-۰۶"}
        ),
        help_text="مانند ۱۴۰۲-۰۶ برای شهریور ۱۴۰۲",
        error_messages={"required": "دوره را وارد کنید، مانند ۱۴۰۲-۰۶"},
    )
    reason = _reason_field()

    def clean_key(self) -> str:
        text = to_latin_digits(self.cleaned_data.get("key") or "").replace(" ", "")
        text = text.replace("/", "-")
        try:
            starts_on, _ = rules.jalali_month_bounds(key=text)
        except ValidationError as exc:
            raise _only(exc, "cycle") from exc
        year, month = (int(part) for part in text.split("-"))
        key = f"{year:04d}-{month:02d}"
        if starts_on > timezone.localdate():
            raise ValidationError(NOT_STARTED, code="cycle_not_started")
        return key


_CYCLE_ADMIN_FIELDS = (
    "key_display",
    "month_display",
    "starts_on_display",
    "ends_on_display",
    "phase",
    "status",
    "runs_display",
)


@admin.register(Cycle)
class CycleAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Cycles are created by the services; officers start their charge and bonus sweep here."""

    empty_value_display = "—"
    show_facets = admin.ShowFacets.NEVER  # facet counts are full counts

    list_display = [
        "key_display",
        "month_display",
        "starts_on_display",
        "ends_on_display",
        "phase",
        "status",
    ]
    list_filter = ["status"]
    list_select_related = ["phase"]
    search_fields = ["key"]  # shows the box; get_search_results reads Persian digits too
    search_help_text = "دوره به شکل ۱۴۰۲-۰۶"
    fields = _CYCLE_ADMIN_FIELDS
    readonly_fields = _CYCLE_ADMIN_FIELDS
    actions = ["charge_cycle", "sweep_bonus"]
    show_full_result_count = False
    paginator = CappedCountPaginator

    def has_run_permission(self, request: HttpRequest) -> bool:
        return _can_run(request)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Cycle], search_term: str
    ) -> tuple[QuerySet[Cycle], bool]:
        term = to_latin_digits(search_term).strip().replace("/", "-")
        if not term:
            return queryset, False
        return queryset.filter(key__startswith=term), False

    def get_urls(self) -> list[Any]:
        custom = [
            path(
                "charge/",
                self.admin_site.admin_view(self.charge_view),
                name="settlements_cycle_charge",
            ),
        ]
        return custom + super().get_urls()

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        context = {**(extra_context or {}), "can_run": _can_run(request)}
        return super().changelist_view(request, context)

    @admin.display(description="دوره", ordering="key")
    def key_display(self, cycle: Cycle) -> str:
        return to_persian_digits(cycle.key)

    @admin.display(description="ماه", ordering="starts_on")
    def month_display(self, cycle: Cycle) -> str:
        return _month_name(cycle)

    @admin.display(description="آغاز", ordering="starts_on")
    def starts_on_display(self, cycle: Cycle) -> str:
        return _day(cycle.starts_on)

    @admin.display(description="پایان", ordering="ends_on")
    def ends_on_display(self, cycle: Cycle) -> str:
        return _day(cycle.ends_on)

    @admin.display(description="اجراهای این دوره")
    def runs_display(self, cycle: Cycle) -> str:
        recent = list(cycle.runs.order_by("-created_at")[:20])
        if not recent:
            return "هنوز اجرایی نداشته است"
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                "<li>{} — {} — {}</li>",
                (
                    (
                        _change_link(run, run.get_kind_display()),
                        run.get_status_display(),
                        _when(run.started_at),
                    )
                    for run in recent
                ),
            ),
        )

    def _one_cycle(
        self, request: HttpRequest, queryset: QuerySet[Cycle], *, kind: str, action: str
    ) -> HttpResponse | None:
        chosen = list(queryset.select_related("phase")[:2])
        label = RunKind(kind).label
        if len(chosen) != 1:
            self.message_user(
                request,
                f"برای «{label}» دقیقاً یک دوره را انتخاب کنید؛ اجرایی آغاز نشد.",
                messages.ERROR,
            )
            return None
        cycle = chosen[0]
        refusal = _refusal(kind, cycle)
        if refusal:
            self.message_user(request, f"{refusal} اجرایی آغاز نشد.", messages.ERROR)
            return None

        def proceed(reason: str) -> HttpResponse | None:
            run = _start_run(self, request, kind=kind, cycle=cycle, phase=None, reason=reason)
            return _run_page(run) if run is not None else None

        month = _month_name(cycle)
        intro = (
            f"اعتبار دوره {to_persian_digits(cycle.key)} ({month}) برای همه خانوارهای مشمول شارژ می‌شود. "
            "خانواری که پیش‌تر در این دوره شارژ شده دوباره شارژ نمی‌شود."
            if kind == RunKind.CYCLE_CHARGE
            else f"اعتبار مضاعف دوره {to_persian_digits(cycle.key)} ({month}) به هر خانواری که به "
            "آستانه رسیده و هنوز آن را نگرفته داده می‌شود."
        )
        return _confirm_with_reason(
            self,
            request,
            objects=[cycle],
            action=action,
            title=label,
            intro=intro + " دلیل این اجرا را بنویسید:",
            proceed=proceed,
        )

    @admin.action(description="شارژ اعتبار این دوره", permissions=["run"])
    def charge_cycle(self, request: HttpRequest, queryset: QuerySet[Cycle]) -> HttpResponse | None:
        return self._one_cycle(request, queryset, kind=RunKind.CYCLE_CHARGE, action="charge_cycle")

    @admin.action(description="بررسی اعتبار مضاعف", permissions=["run"])
    def sweep_bonus(self, request: HttpRequest, queryset: QuerySet[Cycle]) -> HttpResponse | None:
        return self._one_cycle(request, queryset, kind=RunKind.BONUS_SWEEP, action="sweep_bonus")

    def charge_view(self, request: HttpRequest) -> HttpResponse:
        """Start the charge of a cycle by its key (the cycle is created under its month's phase)."""
        if not _can_run(request):
            raise PermissionDenied
        form = ChargeByKeyForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                cycle = rules.ensure_cycle(key=form.cleaned_data["key"])
            except ValidationError as exc:
                form.add_error("key", _only(exc, "cycle"))
            else:
                refusal = _refusal(RunKind.CYCLE_CHARGE, cycle)
                if refusal:
                    form.add_error("key", ValidationError(refusal, code="cycle_not_chargeable"))
                else:
                    run = _start_run(
                        self,
                        request,
                        kind=RunKind.CYCLE_CHARGE,
                        cycle=cycle,
                        phase=None,
                        reason=form.cleaned_data["reason"].strip(),
                    )
                    if run is not None:
                        return _run_page(run)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "شارژ اعتبار یک دوره",
            "form": form,
        }
        return TemplateResponse(request, "admin/settlements/cycle/charge.html", context)


# --- Runs -----------------------------------------------------------------------------------------


_RUN_CHUNK_INLINE_FIELDS = (
    "index_display",
    "households_range",
    "done",
    "attempts_display",
    "error_display",
    "finished_at_display",
)


class RunChunkInline(ReadOnlyAdminMixin, admin.TabularInline):
    """The chunks still to do or that failed at least once (done chunks are only counted)."""

    model = RunChunk
    fields = _RUN_CHUNK_INLINE_FIELDS
    readonly_fields = _RUN_CHUNK_INLINE_FIELDS
    extra = 0
    can_delete = False
    verbose_name = "بخش"
    verbose_name_plural = (
        f"بخش‌های ناتمام یا دارای خطا (حداکثر {to_persian_digits(MAX_CHUNKS_SHOWN)} مورد نخست)"
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[RunChunk]:
        return (
            super()
            .get_queryset(request)
            .filter(Q(done=False) | ~Q(last_error=""))
            .order_by("index")
        )

    @admin.display(description="شماره")
    def index_display(self, chunk: RunChunk) -> str:
        return to_persian_digits(chunk.index)

    @admin.display(description="شناسه خانوارها")
    def households_range(self, chunk: RunChunk) -> str:
        return format_html(
            '<span dir="ltr">[{}, {})</span>', chunk.from_household_id, chunk.to_household_id
        )

    @admin.display(description="تلاش‌ها")
    def attempts_display(self, chunk: RunChunk) -> str:
        return to_persian_digits(chunk.attempts)

    @admin.display(description="آخرین خطا")
    def error_display(self, chunk: RunChunk) -> str:
        if not chunk.last_error:
            return "—"
        return format_html(
            '<pre dir="ltr" style="white-space: pre-wrap">{}</pre>', chunk.last_error
        )

    @admin.display(description="پایان")
    def finished_at_display(self, chunk: RunChunk) -> str:
        return _when(chunk.finished_at)


def _progress(run: CreditRun) -> str:
    """``<progress>`` and «۱۲ از ۲۰ بخش — ۶۰٪»: the bar and the words, never the bar alone."""
    done, total = run.chunks_done, run.chunks_total
    text = to_persian_digits(f"{done} از {total} بخش — {run.progress_percent}") + "٪"
    value, maximum = (done, total) if total else (1, 1)
    return format_html(
        '<progress value="{}" max="{}" aria-hidden="true"></progress> <span>{}</span>',
        value,
        maximum,
        text,
    )


@admin.register(CreditRun)
class CreditRunAdmin(admin.ModelAdmin):
    empty_value_display = "—"
    show_facets = admin.ShowFacets.NEVER  # facet counts are full counts
    list_display = [
        "kind",
        "target",
        "status",
        "progress_display",
        "entries_display",
        "amount_display",
        "failures_display",
        "started_by",
        "started_at_display",
        "finished_at_display",
    ]
    list_filter = ["kind", "status"]
    list_select_related = ["cycle", "phase", "started_by"]
    fieldsets = [
        (None, {"fields": ["kind", "target", "status", "progress_display", "history_display"]}),
        (
            "شمارنده‌ها",
            {
                "fields": [
                    "chunks_total_display",
                    "chunks_done_display",
                    "households_total_display",
                    "entries_display",
                    "amount_display",
                    "failures_display",
                    "chunk_size_display",
                    "household_range_display",
                ]
            },
        ),
        ("آخرین خطا", {"fields": ["last_error_display"]}),
        (
            "زمان‌ها",
            {
                "fields": [
                    "started_by",
                    "created_at_display",
                    "started_at_display",
                    "finished_at_display",
                ]
            },
        ),
    ]
    inlines = [RunChunkInline]
    actions = ["resume_run"]
    show_full_result_count = False
    paginator = CappedCountPaginator
    list_per_page = 50

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [field for _, options in self.fieldsets for field in options["fields"]]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # runs are started from the cycle list or by the scheduler

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_run_permission(self, request: HttpRequest) -> bool:
        return _can_run(request)

    def get_formset_kwargs(
        self, request: HttpRequest, obj: Any, inline: Any, prefix: str
    ) -> dict[str, Any]:
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        if isinstance(inline, RunChunkInline) and obj is not None:
            ids = list(
                kwargs["queryset"].filter(run=obj).values_list("pk", flat=True)[:MAX_CHUNKS_SHOWN]
            )
            kwargs["queryset"] = kwargs["queryset"].filter(pk__in=ids)
        return kwargs

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        run = self.get_object(request, unquote(object_id))
        live = run is not None and run.status in (RunStatus.PENDING, RunStatus.RUNNING)
        context = {**(extra_context or {}), "auto_refresh": live}
        return super().change_view(request, object_id, form_url, context)

    @admin.display(description="دوره یا مرحله")
    def target(self, run: CreditRun) -> str:
        if run.cycle is not None:
            return f"{to_persian_digits(run.cycle.key)} ({_month_name(run.cycle)})"
        return str(run.phase) if run.phase is not None else "—"

    @admin.display(description="پیشرفت")
    def progress_display(self, run: CreditRun) -> str:
        return _progress(run)

    @admin.display(description="اسناد ثبت‌شده", ordering="entries_created")
    def entries_display(self, run: CreditRun) -> str:
        return _number(run.entries_created)

    @admin.display(description="جمع مبلغ", ordering="amount_rial")
    def amount_display(self, run: CreditRun) -> str:
        return _rial(run.amount_rial)

    @admin.display(description="خطاها", ordering="failures")
    def failures_display(self, run: CreditRun) -> str:
        return _number(run.failures)

    @admin.display(description="تعداد بخش‌ها")
    def chunks_total_display(self, run: CreditRun) -> str:
        return _number(run.chunks_total)

    @admin.display(description="بخش‌های انجام‌شده")
    def chunks_done_display(self, run: CreditRun) -> str:
        return _number(run.chunks_done)

    @admin.display(description="خانوارهای بررسی‌شده")
    def households_total_display(self, run: CreditRun) -> str:
        return _number(run.households_total)

    @admin.display(description="اندازه هر بخش (خانوار)")
    def chunk_size_display(self, run: CreditRun) -> str:
        return _number(run.chunk_size)

    @admin.display(description="بازه شناسه خانوارها")
    def household_range_display(self, run: CreditRun) -> str:
        return format_html(
            '<span dir="ltr">{} … {}</span>', run.first_household_id, run.last_household_id
        )

    @admin.display(description="آخرین خطا")
    def last_error_display(self, run: CreditRun) -> str:
        if not run.last_error:
            return "بدون خطا"
        return format_html('<pre dir="ltr" style="white-space: pre-wrap">{}</pre>', run.last_error)

    @admin.display(description="ثبت")
    def created_at_display(self, run: CreditRun) -> str:
        return _when(run.created_at)

    @admin.display(description="آغاز", ordering="started_at")
    def started_at_display(self, run: CreditRun) -> str:
        return _when(run.started_at)

    @admin.display(description="پایان", ordering="finished_at")
    def finished_at_display(self, run: CreditRun) -> str:
        return _when(run.finished_at)

    @admin.display(description="چه کسی، کی و چرا")
    def history_display(self, run: CreditRun) -> str:
        entries = list(
            LogEntry.objects.filter(
                content_type=ContentType.objects.get_for_model(CreditRun), object_id=str(run.pk)
            )
            .select_related("user")
            .order_by("action_time")[:50]
        )
        if not entries:
            return "به دست زمان‌بندی خودکار آغاز شده است" if run.started_by is None else "—"
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                "<li>{}، {}: {}</li>",
                (
                    (
                        cast(User, entry.user).get_username(),
                        _when(entry.action_time),
                        entry.get_change_message(),
                    )
                    for entry in entries
                ),
            ),
        )

    @admin.action(description="ادامه اجرا", permissions=["run"])
    def resume_run(
        self, request: HttpRequest, queryset: QuerySet[CreditRun]
    ) -> HttpResponse | None:
        chosen = list(queryset.select_related("cycle__phase", "phase")[:2])
        if len(chosen) != 1:
            self.message_user(
                request,
                "برای ادامه، دقیقاً یک اجرا را انتخاب کنید؛ اجرایی ادامه نیافت.",
                messages.ERROR,
            )
            return None
        run = chosen[0]
        if run.status == RunStatus.COMPLETED:
            self.message_user(
                request, "این اجرا پایان یافته است و ادامه‌ای ندارد.", messages.WARNING
            )
            return None
        refusal = _refusal(run.kind, run.cycle)
        if refusal:
            self.message_user(request, f"{refusal} اجرا ادامه نیافت.", messages.ERROR)
            return None

        def proceed(reason: str) -> HttpResponse | None:
            resumed = _start_run(
                self, request, kind=run.kind, cycle=run.cycle, phase=run.phase, reason=reason
            )
            return _run_page(resumed) if resumed is not None else None

        return _confirm_with_reason(
            self,
            request,
            objects=[run],
            action="resume_run",
            title="ادامه اجرا",
            intro=(
                "بخش‌های ناتمام این اجرا دوباره انجام می‌شوند؛ بخش‌های انجام‌شده کنار گذاشته "
                "می‌شوند و هیچ سندی دو بار ثبت نمی‌شود. دلیل ادامه را بنویسید:"
            ),
            proceed=proceed,
        )


# --- The ledger -----------------------------------------------------------------------------------


class AccountOwnerFilter(admin.SimpleListFilter):
    """By owner column (indexed), not by ``kind`` (unindexed over millions of wallets)."""

    title = "نوع حساب"
    parameter_name = "owner"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("wallet", "کیف اعتبار خانوار"),
            ("store", "بدهی به فروشگاه"),
            ("system", "حساب‌های مرکزی طرح"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Account]) -> QuerySet[Account]:
        value = self.value()
        if value == "wallet":
            return queryset.filter(household__isnull=False)
        if value == "store":
            return queryset.filter(store__isnull=False)
        if value == "system":
            return queryset.filter(kind__in=SYSTEM_KINDS)
        return queryset


_ACCOUNT_ADMIN_FIELDS = (
    "kind",
    "household",
    "store",
    "balance_display",
    "rollup_display",
    "postings_display",
)


@admin.register(Account)
class AccountAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    empty_value_display = "—"
    show_facets = admin.ShowFacets.NEVER  # facet counts are full counts
    list_display = ["number", "kind", "owner_display", "balance_list_display"]
    list_filter = [AccountOwnerFilter]
    list_select_related = ["household", "store"]
    search_fields = ["household__registry_code"]  # shows the box; get_search_results decides
    search_help_text = (
        "کد ملی یا شماره همراه یکی از اعضای خانوار، شناسه خانوار، یا شناسه ۸ رقمی پایانه فروشگاه"
    )
    raw_id_fields = ["household", "store"]
    fields = _ACCOUNT_ADMIN_FIELDS
    readonly_fields = _ACCOUNT_ADMIN_FIELDS
    show_full_result_count = False
    paginator = CappedCountPaginator
    list_per_page = 50

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Account], search_term: str
    ) -> tuple[QuerySet[Account], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        household_ids = set(household_ids_matching(term=term))
        household_ids.update(
            Household.objects.filter(registry_code=term).values_list("pk", flat=True)[:1]
        )
        condition = Q(household_id__in=sorted(household_ids))
        compact = re.sub(r"[\s\-]", "", to_latin_digits(term))
        if TERMINAL_ID.fullmatch(compact):
            store_ids = list(
                Terminal.objects.filter(terminal_id=compact).values_list("store_id", flat=True)
            )
            condition |= Q(store_id__in=store_ids)
        return queryset.filter(condition), False

    @admin.display(description="شماره", ordering="pk")
    def number(self, account: Account) -> str:
        return to_persian_digits(account.pk)

    @admin.display(description="صاحب حساب")
    def owner_display(self, account: Account) -> str:
        return _owner(account)

    @admin.display(description="مانده")
    def balance_list_display(self, account: Account) -> str:
        # Only wallets keep a balance; the others' are summed on their page, not in the list.
        return _rial(account.balance_rial) if account.kind == AccountKind.WALLET else "—"

    @admin.display(description="مانده")
    def balance_display(self, account: Account) -> str:
        return _rial(selectors.account_balance(account=account))

    @admin.display(description="جمع‌بندی مانده")
    def rollup_display(self, account: Account) -> str:
        if account.kind == AccountKind.WALLET:
            return "مانده کیف اعتبار همراه هر ردیف به‌روز نگه داشته می‌شود."
        rollup = BalanceRollup.objects.filter(account=account).first()
        if rollup is None:
            return "هنوز جمع‌بندی نشده است؛ مانده از همه ردیف‌ها جمع زده می‌شود."
        return format_html(
            "{} تا ردیف {}، به‌روزشده در {}؛ ردیف‌های پس از آن به آن افزوده می‌شوند.",
            _rial(rollup.balance_rial),
            to_persian_digits(rollup.up_to_posting_id),
            _when(rollup.updated_at),
        )

    @admin.display(description="آخرین ردیف‌ها")
    def postings_display(self, account: Account) -> str:
        postings = list(
            Posting.objects.filter(account=account).select_related("entry").order_by("-id")[:20]
        )
        if not postings:
            return "هیچ ردیفی ندارد"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    _change_link(posting.entry, to_persian_digits(posting.entry_id)),
                    posting.entry.get_kind_display(),
                    _when(posting.entry.created_at),
                    _rial(posting.amount_rial),
                )
                for posting in postings
            ),
        )
        return format_html(
            "<table><caption>۲۰ ردیف آخر (+ به حساب، − از حساب)</caption><thead><tr><th>سند</th>"
            "<th>نوع</th><th>زمان</th><th>مبلغ</th></tr></thead><tbody>{}</tbody></table>",
            rows,
        )


_POSTING_INLINE_FIELDS = ("account_display", "account_kind", "amount_display")


class PostingInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Posting
    fields = _POSTING_INLINE_FIELDS
    readonly_fields = _POSTING_INLINE_FIELDS
    extra = 0
    can_delete = False
    verbose_name = "ردیف سند"
    verbose_name_plural = "ردیف‌های سند (+ به حساب، − از حساب؛ جمع ردیف‌های هر سند صفر است)"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Posting]:
        return (
            super()
            .get_queryset(request)
            .select_related("account__household", "account__store")
            .order_by("id")
        )

    @admin.display(description="حساب")
    def account_display(self, posting: Posting) -> str:
        account = posting.account
        return _change_link(account, f"{to_persian_digits(account.pk)} — {_owner(account)}")

    @admin.display(description="نوع حساب")
    def account_kind(self, posting: Posting) -> str:
        return posting.account.get_kind_display()

    @admin.display(description="مبلغ")
    def amount_display(self, posting: Posting) -> str:
        return format_html('<span dir="rtl">{}</span>', _rial(posting.amount_rial))


@admin.register(JournalEntry)
class JournalEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    empty_value_display = "—"
    show_facets = admin.ShowFacets.NEVER  # facet counts are full counts
    list_display = [
        "number",
        "kind",
        "household_display",
        "cycle_display",
        "phase",
        "created_at_display",
        "memo",
        "author_display",
    ]
    list_filter = ["kind"]
    list_select_related = ["household", "cycle", "phase", "created_by"]
    search_fields = ["idempotency_key"]  # shows the box; get_search_results decides
    search_help_text = "کلید یکتایی سند (دقیق) یا کد ملی یا شماره همراه یکی از اعضای خانوار"
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "kind",
                    "idempotency_key",
                    "created_at_display",
                    "author_display",
                    "memo",
                ],
                "description": APPEND_ONLY_HELP,
            },
        ),
        (
            "این سند درباره",
            {"fields": ["household", "cycle", "phase", "purchase", "run"]},
        ),
        ("اصلاح", {"fields": ["reverses", "reversed_by_display", "total_display"]}),
    ]
    raw_id_fields = ["household", "cycle", "phase", "purchase", "reverses", "run"]
    inlines = [PostingInline]
    show_full_result_count = False
    paginator = CappedCountPaginator
    list_per_page = 50

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [field for _, options in self.fieldsets for field in options["fields"]]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[JournalEntry], search_term: str
    ) -> tuple[QuerySet[JournalEntry], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        household_ids = household_ids_matching(term=term)
        return queryset.filter(Q(idempotency_key=term) | Q(household_id__in=household_ids)), False

    @admin.display(description="شماره", ordering="pk")
    def number(self, entry: JournalEntry) -> str:
        return to_persian_digits(entry.pk)

    @admin.display(description="دوره")
    def cycle_display(self, entry: JournalEntry) -> str:
        return to_persian_digits(entry.cycle.key) if entry.cycle is not None else "—"

    @admin.display(description="خانوار")
    def household_display(self, entry: JournalEntry) -> str:
        return entry.household.registry_code if entry.household is not None else "—"

    @admin.display(description="زمان", ordering="created_at")
    def created_at_display(self, entry: JournalEntry) -> str:
        return _when(entry.created_at)

    @admin.display(description="ثبت‌کننده")
    def author_display(self, entry: JournalEntry) -> str:
        if entry.created_by is not None:
            return entry.created_by.get_username()
        return format_html('<span dir="ltr">{}</span>', entry.created_by_process or "—")

    @admin.display(description="سندهای برگشتی این سند")
    def reversed_by_display(self, entry: JournalEntry) -> str:
        reversals = list(JournalEntry.objects.filter(reverses=entry).order_by("id")[:20])
        if not reversals:
            return "برگشت نخورده است"
        return format_html_join(
            "، ", "{}", ((_change_link(r, f"#{to_persian_digits(r.pk)}"),) for r in reversals)
        )

    @admin.display(description="جمع ردیف‌ها")
    def total_display(self, entry: JournalEntry) -> str:
        total = entry.postings.aggregate(total=Sum("amount_rial"))["total"] or 0
        return _rial(total) + ("" if total == 0 else " — ناتراز! گزارش دهید")


_LEDGER_DIGEST_ADMIN_FIELDS = (
    "day_display",
    "entries_display",
    "digest_display",
    "created_at_display",
)


@admin.register(LedgerDigest)
class LedgerDigestAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The daily digests that ``reconcile_ledger`` writes and re-checks."""

    empty_value_display = "—"
    show_facets = admin.ShowFacets.NEVER  # facet counts are full counts

    list_display = _LEDGER_DIGEST_ADMIN_FIELDS
    fields = list_display
    readonly_fields = _LEDGER_DIGEST_ADMIN_FIELDS
    ordering = ["-day"]
    show_full_result_count = False
    paginator = CappedCountPaginator
    list_per_page = 50

    @admin.display(description="روز", ordering="day")
    def day_display(self, digest: LedgerDigest) -> str:
        return _day(digest.day)

    @admin.display(description="تعداد اسناد", ordering="entries")
    def entries_display(self, digest: LedgerDigest) -> str:
        return _number(digest.entries)

    @admin.display(description="درهم‌سازی (SHA-256)")
    def digest_display(self, digest: LedgerDigest) -> SafeString:
        return format_html('<code dir="ltr">{}</code>', digest.digest)

    @admin.display(description="ثبت", ordering="created_at")
    def created_at_display(self, digest: LedgerDigest) -> str:
        return _when(digest.created_at)
