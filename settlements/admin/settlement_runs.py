"""Store settlement runs: watched here, and started by a finance officer ("settle now").

The nightly beat settles every store up to last midnight; an officer with
``settlements.add_settlementrun`` may start one now, up to last midnight or a Jalali moment they
give, through ``settlements.services.store_settlement.launch_settlement``: on the workers (queued
on commit), or in this request when Celery is eager (the embedded set-up), as credit runs do.
Starting a run for a cut-off whose run is unfinished resumes it. Runs are never edited here.
"""

import datetime as dt
import re
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from kalabarg.lib import admin_display as show
from kalabarg.lib.admin_fields import JalaliDateField
from kalabarg.lib.admin_paging import CappedCountPaginator
from kalabarg.lib.admin_readonly import ReadOnlyAdminMixin
from kalabarg.lib.persian import format_jalali_datetime, to_latin_digits, to_persian_digits
from settlements import tasks
from settlements.models import SettlementChunk, SettlementRun, SettlementRunStatus
from settlements.services import store_settlement

START_PERMISSION = "settlements.add_settlementrun"
# A run's page lists at most this many unfinished or failed chunks.
MAX_CHUNKS_SHOWN = 200

_TIME = re.compile(r"([0-9]{1,2}):([0-9]{2})")


def can_start(request: HttpRequest) -> bool:
    """Starting (or resuming) a settlement is adding a run."""
    return request.user.has_perm(START_PERMISSION)


class SettleNowForm(forms.Form):
    """Up to last midnight (Tehran) when the day is left empty; else the Jalali day and time."""

    day = JalaliDateField(
        label="روز پایان تسویه (شمسی)",
        required=False,
        help_text="خالی بگذارید تا همه خریدها تا نیمه‌شب گذشته تسویه شوند؛ یا روزی مانند ۱۴۰۳/۰۶/۱۰",
    )
    time = forms.CharField(
        label="ساعت پایان (به وقت تهران)",
        required=False,
        max_length=5,
        widget=forms.TextInput(
            attrs={"dir": "ltr", "size": 6, "inputmode": "numeric", "placeholder": "۰۰:۰۰"}
        ),
        help_text="مانند ۱۸:۳۰؛ خالی یعنی آغاز همان روز (۰۰:۰۰)",
    )

    def clean_time(self) -> dt.time | None:
        text = to_latin_digits(self.cleaned_data.get("time") or "").strip()
        if not text:
            return None
        match = _TIME.fullmatch(text)
        if match is None or int(match.group(1)) > 23 or int(match.group(2)) > 59:
            raise ValidationError("ساعت را به شکل ۱۸:۳۰ بنویسید", code="time_format")
        return dt.time(int(match.group(1)), int(match.group(2)))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("time") is not None and cleaned.get("day") is None and not self.errors:
            self.add_error("day", ValidationError("روز پایان را هم بنویسید", code="day_required"))
        return cleaned

    def cutoff(self) -> dt.datetime | None:
        """The moment the officer gave (Tehran time), or None for the service's last midnight."""
        day = self.cleaned_data.get("day")
        if day is None:
            return None
        moment = dt.datetime.combine(day, self.cleaned_data.get("time") or dt.time.min)
        return timezone.make_aware(moment)


class SettlementChunkInline(ReadOnlyAdminMixin, admin.TabularInline):
    """The chunks still to do or that failed at least once (done chunks are only counted)."""

    model = SettlementChunk
    fields = ("index_display", "stores_range", "done", "attempts", "error_display", "finished")
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name = "بخش"
    verbose_name_plural = (
        f"بخش‌های ناتمام یا دارای خطا (حداکثر {to_persian_digits(MAX_CHUNKS_SHOWN)} مورد نخست)"
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[SettlementChunk]:
        return (
            super()
            .get_queryset(request)
            .filter(Q(done=False) | ~Q(last_error=""))
            .order_by("index")
        )

    @admin.display(description="شماره")
    def index_display(self, chunk: SettlementChunk) -> str:
        return to_persian_digits(chunk.index)

    @admin.display(description="شناسه فروشگاه‌ها")
    def stores_range(self, chunk: SettlementChunk) -> str:
        return format_html(
            '<span dir="ltr">[{}, {})</span>', chunk.from_store_id, chunk.to_store_id
        )

    @admin.display(description="خطا")
    def error_display(self, chunk: SettlementChunk) -> str:
        if not chunk.last_error:
            return "—"
        return format_html('<pre dir="ltr" class="run-error">{}</pre>', chunk.last_error)

    @admin.display(description="پایان")
    def finished(self, chunk: SettlementChunk) -> str:
        return show.when(chunk.finished_at)


_RUN_FIELDS = (
    "cutoff_display",
    "status",
    "progress_display",
    "lines_display",
    "settlements_display",
    "amount_display",
    "failures_display",
    "settlements_link",
    "scan_from_display",
    "chunk_size_display",
    "started_by_display",
    "created_at_display",
    "finished_at_display",
    "last_error_display",
)


@admin.register(SettlementRun)
class SettlementRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    empty_value_display = "—"
    show_facets = admin.ShowFacets.NEVER  # facet counts are full counts
    list_display = [
        "cutoff_display",
        "status",
        "progress_display",
        "lines_display",
        "settlements_display",
        "amount_display",
        "failures_display",
        "started_by_display",
        "created_at_display",
    ]
    list_filter = ["status"]
    list_select_related = ["started_by"]
    fields = _RUN_FIELDS
    readonly_fields = _RUN_FIELDS
    inlines = [SettlementChunkInline]
    ordering = ["-created_at", "-id"]
    sortable_by = ()  # one order only (the index's)
    paginator = CappedCountPaginator
    show_full_result_count = False
    list_per_page = 50
    change_list_template = "admin/settlements/settlementrun/change_list.html"
    change_form_template = "admin/settlements/settlementrun/change_form.html"

    def get_urls(self) -> list[Any]:
        custom = [
            path(
                "start/",
                self.admin_site.admin_view(self.start_view),
                name="settlements_settlementrun_start",
            ),
        ]
        return custom + super().get_urls()

    def get_formset_kwargs(
        self, request: HttpRequest, obj: Any, inline: Any, prefix: str
    ) -> dict[str, Any]:
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        if isinstance(inline, SettlementChunkInline) and obj is not None:
            ids = list(
                kwargs["queryset"].filter(run=obj).values_list("pk", flat=True)[:MAX_CHUNKS_SHOWN]
            )
            kwargs["queryset"] = kwargs["queryset"].filter(pk__in=ids)
        return kwargs

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        return super().changelist_view(
            request, {**(extra_context or {}), "can_start": can_start(request)}
        )

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        run = self.get_object(request, unquote(object_id))
        live = run is not None and run.status == SettlementRunStatus.RUNNING
        context = {**(extra_context or {}), "auto_refresh": live}
        return super().change_view(request, object_id, form_url, context)

    @admin.display(description="تا لحظه", ordering="cutoff")
    def cutoff_display(self, run: SettlementRun) -> str:
        return show.when(run.cutoff)

    @admin.display(description="پیشرفت")
    def progress_display(self, run: SettlementRun) -> str:
        done, total = run.chunks_done, run.chunks_total
        text = to_persian_digits(f"{done} از {total} بخش — {run.progress_percent}") + "٪"
        if not run.staged and run.status != SettlementRunStatus.COMPLETED:
            text = "جمع‌آوری خریدها و برگشت‌ها؛ " + text
        value, maximum = (done, total) if total else (1, 1)
        return show.progress_bar(value, maximum, text)

    @admin.display(description="خرید و برگشت")
    def lines_display(self, run: SettlementRun) -> str:
        return show.number(run.lines_total)

    @admin.display(description="تسویه‌ها")
    def settlements_display(self, run: SettlementRun) -> str:
        return show.number(run.settlements_total)

    @admin.display(description="جمع قابل پرداخت")
    def amount_display(self, run: SettlementRun) -> str:
        return show.rial(run.amount_rial)

    @admin.display(description="خطاها")
    def failures_display(self, run: SettlementRun) -> str:
        return show.number(run.failures)

    @admin.display(description="تسویه‌های این اجرا")
    def settlements_link(self, run: SettlementRun) -> str:
        url = reverse("admin:settlements_storesettlement_changelist")
        return format_html('<a href="{}?run__id__exact={}">فهرست تسویه‌ها</a>', url, run.pk)

    @admin.display(description="بررسی از")
    def scan_from_display(self, run: SettlementRun) -> str:
        return show.when(run.scan_from) if run.scan_from else "آغاز طرح (نخستین تسویه)"

    @admin.display(description="فروشگاه در هر بخش")
    def chunk_size_display(self, run: SettlementRun) -> str:
        return show.number(run.chunk_size)

    @admin.display(description="آغازکننده")
    def started_by_display(self, run: SettlementRun) -> str:
        if run.started_by is not None:
            return run.started_by.get_username()
        return run.started_by_process or "—"

    @admin.display(description="آغاز", ordering="created_at")
    def created_at_display(self, run: SettlementRun) -> str:
        return show.when(run.created_at)

    @admin.display(description="پایان")
    def finished_at_display(self, run: SettlementRun) -> str:
        return show.when(run.finished_at)

    @admin.display(description="آخرین خطا")
    def last_error_display(self, run: SettlementRun) -> str:
        if not run.last_error:
            return "بدون خطا"
        return format_html('<pre dir="ltr" class="run-error">{}</pre>', run.last_error)

    def start_view(self, request: HttpRequest) -> HttpResponse:
        """Settle every store now, up to last midnight or the moment the officer gives."""
        if not can_start(request):
            raise PermissionDenied
        form = SettleNowForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            run = self._launch(request, form)
            if run is not None:
                return HttpResponseRedirect(
                    reverse("admin:settlements_settlementrun_change", args=[run.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "تسویه فروشگاه‌ها",
            "form": form,
            "default_cutoff": format_jalali_datetime(store_settlement.last_midnight()),
        }
        return TemplateResponse(request, "admin/settlements/settlementrun/start.html", context)

    def _launch(self, request: HttpRequest, form: SettleNowForm) -> SettlementRun | None:
        """Start the run; a refusal goes next to the day's field, a failed chunk to the run's page."""
        cutoff = form.cutoff()
        try:
            run = store_settlement.launch_settlement(
                cutoff=cutoff,
                started_by=show.officer(request),
                process="admin:settle_stores",
                enqueue=tasks.enqueue_settlement,
            )
        except ValidationError as exc:
            form.add_error("day", exc.messages)  # the service names ``until``: the day's box
            return None
        except DatabaseError:
            # A step run here gave up; the service recorded the failure on the run.
            run = SettlementRun.objects.filter(
                cutoff=cutoff or store_settlement.last_midnight()
            ).latest("pk")
            self.message_user(
                request,
                "بخشی از این تسویه ناموفق ماند؛ خطا در همین صفحه آمده است. با «تسویه اکنون» "
                "برای همین لحظه، اجرا از همان‌جا ادامه می‌یابد.",
                messages.ERROR,
            )
            return run
        self.log_addition(request, run, f"تسویه تا {format_jalali_datetime(run.cutoff)}")
        if run.status == SettlementRunStatus.COMPLETED:
            self.message_user(
                request,
                f"تسویه تا {format_jalali_datetime(run.cutoff)} انجام شد: "
                f"{show.number(run.settlements_total)} تسویه، جمعاً {show.rial(run.amount_rial)}.",
                messages.SUCCESS,
            )
        else:
            self.message_user(
                request,
                f"تسویه تا {format_jalali_datetime(run.cutoff)} آغاز شد؛ پیشرفت آن در این صفحه دیده می‌شود.",
                messages.SUCCESS,
            )
        return run
