"""Batch runs (charge, bonus sweep, expiry): started and resumed by officers, watched here.

Starting a cycle's charge or a phase's expiry is a request for a second officer
(``settlements.approvals.RUN_START``, with the reason): ``propose_run``. On approval the run is
started through ``settlements.services.runs.launch_run``. The bonus sweep (it grants only what
the rules already owe, as the nightly sweep does) and resuming a run already started go through
``launch_run`` at once (``start_and_report``). Who, when and why is kept in the run's history;
the run's page shows its progress, counts and failures, and refreshes itself while the run is live.
"""

from typing import Any, cast

from django.contrib import admin, messages
from django.contrib.admin.models import LogEntry
from django.contrib.admin.utils import unquote
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import DatabaseError
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from approvals.models import ChangeRequest
from approvals.proposing import propose
from kalabarg.lib import admin_display as show
from kalabarg.lib.admin_paging import CappedCountPaginator
from kalabarg.lib.admin_readonly import ReadOnlyAdminMixin
from kalabarg.lib.admin_reason import confirm_with_reason
from kalabarg.lib.persian import to_persian_digits
from settlements import tasks
from settlements.approvals import RUN_START, month_name, run_payload, run_target_label
from settlements.models import CreditRun, Cycle, Phase, RunChunk, RunKind, RunStatus
from settlements.services import runs

# A run's page lists at most this many unfinished or failed chunks.
MAX_CHUNKS_SHOWN = 200


# --- Starting a run from the admin ---------------------------------------------------------------

RUN_REASON_REQUIRED = "دلیل این اجرا را بنویسید"
RUN_REASON_HELP = "این دلیل با نام شما در سابقه اجرا ثبت می‌شود و در صفحه اجرا دیده می‌شود."


def confirm_run(
    modeladmin: admin.ModelAdmin, request: HttpRequest, **kwargs: Any
) -> HttpResponse | None:
    """The reason page of an action that starts or resumes a run."""
    return confirm_with_reason(
        modeladmin,
        request,
        required_message=RUN_REASON_REQUIRED,
        help_text=RUN_REASON_HELP,
        **kwargs,
    )


def refusal(*, kind: str, cycle: Cycle | None, phase: Phase | None) -> str | None:
    """Why the service would not start this run now, or None: asked before the reason page, so
    an officer is not asked why for a run that cannot start."""
    try:
        runs.validate_run(kind=kind, cycle=cycle, phase=phase)
    except ValidationError as exc:
        return "؛ ".join(exc.messages)
    return None


def propose_run(
    request: HttpRequest, *, kind: str, cycle: Cycle | None, phase: Phase | None, reason: str
) -> ChangeRequest | None:
    """Record a request to start a run; it starts when a second officer approves it."""
    return propose(
        request,
        kind=RUN_START,
        summary=f"{RunKind(kind).label} {run_target_label(cycle=cycle, phase=phase)}",
        payload=run_payload(kind=kind, cycle=cycle, phase=phase),
        target=cycle if cycle is not None else phase,
        reason=reason,
    )


def start_and_report(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    *,
    kind: str,
    cycle: Cycle | None,
    phase: Phase | None,
    reason: str,
) -> CreditRun | None:
    """Start (or resume) a run through ``runs.launch_run``; record who and why; report how it went.

    The service decides where the chunks run: on the workers (queued on commit), or here, one
    transaction each, when Celery is eager (the embedded demo, no broker).
    """
    resumed = CreditRun.objects.filter(
        kind=kind, cycle=cycle, phase=phase, status__in=[RunStatus.PENDING, RunStatus.RUNNING]
    ).exists()
    failed = False
    try:
        run = runs.launch_run(
            kind=kind,
            cycle=cycle,
            phase=phase,
            started_by=show.officer(request),
            enqueue=tasks.enqueue_chunks,
        )
    except ValidationError as exc:
        modeladmin.message_user(
            request, "اجرا آغاز نشد: " + "؛ ".join(exc.messages), messages.ERROR
        )
        return None
    except DatabaseError:
        # A chunk run here failed; the service recorded the failure on the run, shown on its page.
        run = CreditRun.objects.filter(kind=kind, cycle=cycle, phase=phase).latest("pk")
        failed = True
    label = RunKind(kind).label
    target = str(cycle or phase or "")
    note = f"{'ادامه' if resumed else 'آغاز'} {label} {target} — دلیل: {reason}"
    if resumed:
        modeladmin.log_change(request, run, note)
    else:
        modeladmin.log_addition(request, run, note)
    if failed:
        modeladmin.message_user(
            request,
            "بخشی از این اجرا ناموفق ماند؛ خطا در همین صفحه آمده است. "
            "پس از رفع مشکل، با اقدام «ادامه اجرا» آن را ادامه دهید.",
            messages.ERROR,
        )
    elif run.status == RunStatus.COMPLETED:  # its chunks ran here
        modeladmin.message_user(
            request,
            f"{label} {to_persian_digits(target)} انجام شد: {show.number(run.entries_created)} خانوار، "
            f"جمعاً {show.rial(run.amount_rial)}.",
            messages.SUCCESS,
        )
    else:
        verb = "ادامه یافت" if resumed else "آغاز شد"
        modeladmin.message_user(
            request,
            f"{label} {to_persian_digits(target)} {verb}؛ پیشرفت آن در این صفحه دیده می‌شود.",
            messages.SUCCESS,
        )
    return run


def run_page(run: CreditRun) -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("admin:settlements_creditrun_change", args=[run.pk]))


def can_run(request: HttpRequest) -> bool:
    """Starting or resuming a run is adding a run."""
    return request.user.has_perm("settlements.add_creditrun")


# --- Runs and their chunks ------------------------------------------------------------------------


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
        return show.when(chunk.finished_at)


def _progress(run: CreditRun) -> str:
    """``<progress>`` and «۱۲ از ۲۰ بخش — ۶۰٪»: the bar and the words, never the bar alone."""
    done, total = run.chunks_done, run.chunks_total
    text = to_persian_digits(f"{done} از {total} بخش — {run.progress_percent}") + "٪"
    value, maximum = (done, total) if total else (1, 1)
    return show.progress_bar(value, maximum, text)


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
        return can_run(request)

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
            return f"{to_persian_digits(run.cycle.key)} ({month_name(run.cycle)})"
        return str(run.phase) if run.phase is not None else "—"

    @admin.display(description="پیشرفت")
    def progress_display(self, run: CreditRun) -> str:
        return _progress(run)

    @admin.display(description="خانوارهای ثبت‌شده", ordering="entries_created")
    def entries_display(self, run: CreditRun) -> str:
        return show.number(run.entries_created)

    @admin.display(description="جمع مبلغ", ordering="amount_rial")
    def amount_display(self, run: CreditRun) -> str:
        return show.rial(run.amount_rial)

    @admin.display(description="خطاها", ordering="failures")
    def failures_display(self, run: CreditRun) -> str:
        return show.number(run.failures)

    @admin.display(description="تعداد بخش‌ها")
    def chunks_total_display(self, run: CreditRun) -> str:
        return show.number(run.chunks_total)

    @admin.display(description="بخش‌های انجام‌شده")
    def chunks_done_display(self, run: CreditRun) -> str:
        return show.number(run.chunks_done)

    @admin.display(description="خانوارهای بررسی‌شده")
    def households_total_display(self, run: CreditRun) -> str:
        return show.number(run.households_total)

    @admin.display(description="اندازه هر بخش (خانوار)")
    def chunk_size_display(self, run: CreditRun) -> str:
        return show.number(run.chunk_size)

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
        return show.when(run.created_at)

    @admin.display(description="آغاز", ordering="started_at")
    def started_at_display(self, run: CreditRun) -> str:
        return show.when(run.started_at)

    @admin.display(description="پایان", ordering="finished_at")
    def finished_at_display(self, run: CreditRun) -> str:
        return show.when(run.finished_at)

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
                        show.when(entry.action_time),
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
        refused = refusal(kind=run.kind, cycle=run.cycle, phase=run.phase)
        if refused:
            self.message_user(request, f"{refused} اجرا ادامه نیافت.", messages.ERROR)
            return None

        def proceed(reason: str) -> HttpResponse | None:
            resumed = start_and_report(
                self, request, kind=run.kind, cycle=run.cycle, phase=run.phase, reason=reason
            )
            return run_page(resumed) if resumed is not None else None

        return confirm_run(
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
