"""Cycles (one a Jalali month): created by the services; officers start their charge and bonus sweep here.

A charge started here is a request for a second officer (four-eyes: it moves the month's credit);
the bonus sweep starts at once, as the nightly sweep does (it grants only bonuses already earned).
"""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from kalabarg.lib import admin_display as show
from kalabarg.lib.admin_fields import errors_for
from kalabarg.lib.admin_paging import CappedCountPaginator
from kalabarg.lib.admin_readonly import ReadOnlyAdminMixin
from kalabarg.lib.admin_reason import reason_field
from kalabarg.lib.persian import to_latin_digits, to_persian_digits
from settlements.admin.runs import (
    RUN_REASON_HELP,
    RUN_REASON_REQUIRED,
    can_run,
    confirm_run,
    month_name,
    propose_run,
    refusal,
    run_page,
    start_and_report,
)
from settlements.models import Cycle, RunKind
from settlements.services import rules, runs


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
    reason = reason_field(required_message=RUN_REASON_REQUIRED, help_text=RUN_REASON_HELP)

    def clean_key(self) -> str:
        text = to_latin_digits(self.cleaned_data.get("key") or "").replace(" ", "")
        text = text.replace("/", "-")
        try:
            starts_on, _ = rules.jalali_month_bounds(key=text)
        except ValidationError as exc:
            raise errors_for(exc, "cycle") from exc
        year, month = (int(part) for part in text.split("-"))
        key = f"{year:04d}-{month:02d}"
        try:
            # Before ``ensure_cycle``: a month not begun gets no cycle row.
            runs.validate_month_started(starts_on=starts_on)
        except ValidationError as exc:
            raise errors_for(exc, "cycle") from exc
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
        return can_run(request)

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
        context = {**(extra_context or {}), "can_run": can_run(request)}
        return super().changelist_view(request, context)

    @admin.display(description="دوره", ordering="key")
    def key_display(self, cycle: Cycle) -> str:
        return to_persian_digits(cycle.key)

    @admin.display(description="ماه", ordering="starts_on")
    def month_display(self, cycle: Cycle) -> str:
        return month_name(cycle)

    @admin.display(description="آغاز", ordering="starts_on")
    def starts_on_display(self, cycle: Cycle) -> str:
        return show.day(cycle.starts_on)

    @admin.display(description="پایان", ordering="ends_on")
    def ends_on_display(self, cycle: Cycle) -> str:
        return show.day(cycle.ends_on)

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
                        show.change_link(run, run.get_kind_display()),
                        run.get_status_display(),
                        show.when(run.started_at),
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
        refused = refusal(kind=kind, cycle=cycle, phase=None)
        if refused:
            self.message_user(request, f"{refused} اجرایی آغاز نشد.", messages.ERROR)
            return None

        def proceed(reason: str) -> HttpResponse | None:
            if kind == RunKind.CYCLE_CHARGE:  # four-eyes: starts when a second officer approves
                propose_run(request, kind=kind, cycle=cycle, phase=None, reason=reason)
                return None
            run = start_and_report(self, request, kind=kind, cycle=cycle, phase=None, reason=reason)
            return run_page(run) if run is not None else None

        month = month_name(cycle)
        intro = (
            f"اعتبار دوره {to_persian_digits(cycle.key)} ({month}) برای همه خانوارهای مشمول شارژ می‌شود. "
            "خانواری که پیش‌تر در این دوره شارژ شده دوباره شارژ نمی‌شود. شارژ پس از تأیید "
            "کارشناس دیگری آغاز می‌شود."
            if kind == RunKind.CYCLE_CHARGE
            else f"اعتبار مضاعف دوره {to_persian_digits(cycle.key)} ({month}) به هر خانواری که به "
            "آستانه رسیده و هنوز آن را نگرفته داده می‌شود."
        )
        return confirm_run(
            self,
            request,
            objects=[cycle],
            action=action,
            title=label,
            intro=intro + " دلیل این اجرا را بنویسید:",
            proceed=proceed,
        )

    @admin.action(
        description="درخواست شارژ اعتبار این دوره (با تأیید کارشناس دیگر)", permissions=["run"]
    )
    def charge_cycle(self, request: HttpRequest, queryset: QuerySet[Cycle]) -> HttpResponse | None:
        return self._one_cycle(request, queryset, kind=RunKind.CYCLE_CHARGE, action="charge_cycle")

    @admin.action(description="بررسی اعتبار مضاعف", permissions=["run"])
    def sweep_bonus(self, request: HttpRequest, queryset: QuerySet[Cycle]) -> HttpResponse | None:
        return self._one_cycle(request, queryset, kind=RunKind.BONUS_SWEEP, action="sweep_bonus")

    def charge_view(self, request: HttpRequest) -> HttpResponse:
        """Ask for the charge of a cycle by its key (the cycle is created under its month's phase);
        it starts when a second officer approves the request."""
        if not can_run(request):
            raise PermissionDenied
        form = ChargeByKeyForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                cycle = rules.ensure_cycle(key=form.cleaned_data["key"])
                runs.validate_run(kind=RunKind.CYCLE_CHARGE, cycle=cycle)
            except ValidationError as exc:
                form.add_error("key", errors_for(exc, "cycle"))
            else:
                change = propose_run(
                    request,
                    kind=RunKind.CYCLE_CHARGE,
                    cycle=cycle,
                    phase=None,
                    reason=form.cleaned_data["reason"].strip(),
                )
                if change is not None:
                    return HttpResponseRedirect(reverse("admin:settlements_cycle_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "درخواست شارژ اعتبار یک دوره",
            "form": form,
        }
        return TemplateResponse(request, "admin/settlements/cycle/charge.html", context)
