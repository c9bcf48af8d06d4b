"""Payout files for the finance officers: each file's rows and the bank's answers so far, its
download, exporting the approved settlements now, and uploading the bank's results file.

- **Download** (``settlements.view_payoutbatch``): the file is not stored; it is written again,
  byte for byte, from its settlements' snapshots (``payouts.payout_lines``) and streamed, so a
  file of 260,000 rows never sits in memory. Its SHA-256 at export is on the file's page.
- **Export now** (``settlements.add_payoutbatch``): ``payouts.export_payouts`` into a temporary
  directory (the file there is dropped: the download writes it again from the rows), then the
  new file's page.
- **The bank's results** (``settlements.change_storesettlement``): ``payouts.import_payout_results``
  on the uploaded text (at most ``RESULTS_MAX_ROWS`` rows; the command takes any size); a bad
  header applies nothing and is said next to the field; each rejected row is listed with its line.
"""

import io
import tempfile
from pathlib import Path
from typing import Any

import jdatetime
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Sum
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import content_disposition_header

from kalabarg.lib import admin_display as show
from kalabarg.lib.admin_paging import CappedCountPaginator
from kalabarg.lib.admin_readonly import ReadOnlyAdminMixin
from kalabarg.lib.persian import to_persian_digits
from settlements.admin.payout_display import both_units, settlement_list_url
from settlements.models import PayoutBatch, SettlementStatus, StoreSettlement
from settlements.services import payouts

EXPORT_PERMISSION = "settlements.add_payoutbatch"
RESULTS_PERMISSION = "settlements.change_storesettlement"
# Larger results files go through `manage.py import_payout_results` (nothing long runs inside a
# web request): the service applies about 1,500 paid rows a second here (docs/decisions.md).
RESULTS_MAX_ROWS = 10_000
RESULTS_MAX_BYTES = 2 * 1024 * 1024
# The results page lists this many rejected rows (the command writes them all to a file).
REJECTED_SHOWN = 500
# The statuses a file's row can be in besides paid; paid = rows − these (every row is one of three).
_UNPAID = (SettlementStatus.EXPORTED, SettlementStatus.FAILED)


def answers_of(batch_ids: list[int]) -> dict[int, dict[str, tuple[int, int]]]:
    """Per file, (rows, amount) of its payouts waiting for the bank and of those that failed.

    Both are few next to the paid ones, so only they are read; paid is the file's rows and total
    less these (a file's rows are exported, paid or failed, never anything else)."""
    found: dict[int, dict[str, tuple[int, int]]] = {pk: {} for pk in batch_ids}
    rows = (
        StoreSettlement.objects.filter(payout_batch_id__in=batch_ids, status__in=_UNPAID)
        .order_by()
        .values_list("payout_batch_id", "status")
        .annotate(count=Count("pk"), total=Sum("amount_rial"))
    )
    for batch_id, status, count, total in rows:
        found[batch_id][status] = (count, int(total or 0))
    return found


class ResultsForm(forms.Form):
    file = forms.FileField(
        label="فایل پاسخ بانک (CSV، UTF-8)",
        help_text="سرستون دقیقاً reference,status,bank_reference,reason؛ وضعیت paid یا failed",
    )

    def clean_file(self) -> str:
        """The file's text: a file too big, not CSV or not UTF-8 is refused here, whole."""
        upload = self.cleaned_data["file"]
        if upload.size > RESULTS_MAX_BYTES:
            raise ValidationError(
                "این فایل برای بارگذاری در پیشخوان بزرگ است؛ آن را با فرمان "
                "import_payout_results بارگذاری کنید",
                code="file_too_large",
            )
        if not upload.name.lower().endswith(".csv"):
            raise ValidationError("فایل باید CSV باشد", code="file_not_csv")
        try:
            text = str(upload.read().decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise ValidationError(
                "فایل باید با کدگذاری UTF-8 ذخیره شده باشد", code="file_not_utf8"
            ) from exc
        if sum(1 for line in text.splitlines() if line.strip()) - 1 > RESULTS_MAX_ROWS:
            raise ValidationError(
                f"این فایل بیش از {to_persian_digits(f'{RESULTS_MAX_ROWS:,}'.replace(',', '٬'))} "
                "ردیف دارد؛ آن را با فرمان import_payout_results بارگذاری کنید یا چند تکه کنید",
                code="file_too_many_rows",
            )
        return text


def export_file_name() -> str:
    """``payouts-14030610-023015.csv``: the Jalali day and Tehran time of the export."""
    now = jdatetime.datetime.fromgregorian(datetime=timezone.localtime())
    return f"payouts-{now:%Y%m%d-%H%M%S}.csv"


_BATCH_FIELDS = (
    "file_name",
    "download_display",
    "created_at_display",
    "created_by_display",
    "rows_display",
    "total_display",
    "paid_display",
    "failed_display",
    "waiting_display",
    "settlements_link",
    "sha256",
)


@admin.register(PayoutBatch)
class PayoutBatchAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    empty_value_display = "—"
    show_facets = admin.ShowFacets.NEVER
    list_display = [
        "file_name",
        "created_at_display",
        "created_by_display",
        "rows_display",
        "total_display",
        "paid_display",
        "failed_display",
        "waiting_display",
        "download_display",
    ]
    list_select_related = ["created_by"]
    fields = _BATCH_FIELDS
    readonly_fields = _BATCH_FIELDS
    ordering = ["-created_at", "-id"]
    sortable_by = ()  # one order only (the index's)
    paginator = CappedCountPaginator
    show_full_result_count = False
    list_per_page = 20
    change_list_template = "admin/settlements/payoutbatch/change_list.html"

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view
        custom = [
            path(
                "<int:object_id>/download/",
                view(self.download_view),
                name="settlements_payoutbatch_download",
            ),
            path("export/", view(self.export_view), name="settlements_payoutbatch_export"),
            path("results/", view(self.results_view), name="settlements_payoutbatch_results"),
        ]
        return custom + super().get_urls()

    def get_changelist_instance(self, request: HttpRequest) -> Any:
        """The page's files, each with its bank answers counted in one query for the page."""
        changelist = super().get_changelist_instance(request)
        batches = list(changelist.result_list)
        answers = answers_of([batch.pk for batch in batches])
        for batch in batches:
            batch.answers = answers[batch.pk]
        return changelist

    def get_object(self, request: HttpRequest, object_id: str, from_field: Any = None) -> Any:
        batch = super().get_object(request, object_id, from_field)
        if batch is not None:
            batch.answers = answers_of([batch.pk])[batch.pk]
        return batch

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        context = {
            **(extra_context or {}),
            "can_export": request.user.has_perm(EXPORT_PERMISSION),
            "can_upload_results": request.user.has_perm(RESULTS_PERMISSION),
        }
        return super().changelist_view(request, context)

    # --- Columns and fields ---------------------------------------------------------------------

    @admin.display(description="زمان صدور")
    def created_at_display(self, batch: PayoutBatch) -> str:
        return show.when(batch.created_at)

    @admin.display(description="صادرکننده")
    def created_by_display(self, batch: PayoutBatch) -> str:
        if batch.created_by is not None:
            return batch.created_by.get_username()
        return batch.created_by_process or "—"

    @admin.display(description="ردیف‌ها")
    def rows_display(self, batch: PayoutBatch) -> str:
        return show.number(batch.rows)

    @admin.display(description="جمع مبلغ")
    def total_display(self, batch: PayoutBatch) -> str:
        return show.rial(batch.total_rial)

    def _answer(self, batch: PayoutBatch, status: str) -> tuple[int, int]:
        answers: dict[str, tuple[int, int]] = getattr(batch, "answers", {})
        if status != SettlementStatus.PAID:
            return answers.get(status, (0, 0))
        waiting, failed = (answers.get(s, (0, 0)) for s in _UNPAID)
        return (
            batch.rows - waiting[0] - failed[0],
            batch.total_rial - waiting[1] - failed[1],
        )

    def _answer_link(self, batch: PayoutBatch, status: str) -> str:
        count, amount = self._answer(batch, status)
        if not count:
            return show.number(0)
        url = settlement_list_url(payout_batch__id__exact=batch.pk, status__exact=status)
        return format_html('<a href="{}">{}</a> ({})', url, show.number(count), show.rial(amount))

    @admin.display(description="پرداخت‌شده")
    def paid_display(self, batch: PayoutBatch) -> str:
        return self._answer_link(batch, SettlementStatus.PAID)

    @admin.display(description="ناموفق")
    def failed_display(self, batch: PayoutBatch) -> str:
        return self._answer_link(batch, SettlementStatus.FAILED)

    @admin.display(description="در انتظار پاسخ بانک")
    def waiting_display(self, batch: PayoutBatch) -> str:
        return self._answer_link(batch, SettlementStatus.EXPORTED)

    @admin.display(description="فایل")
    def download_display(self, batch: PayoutBatch) -> str:
        url = reverse("admin:settlements_payoutbatch_download", args=[batch.pk])
        return format_html('<a href="{}" download>دریافت فایل</a>', url)

    @admin.display(description="تسویه‌های این فایل")
    def settlements_link(self, batch: PayoutBatch) -> str:
        url = settlement_list_url(payout_batch__id__exact=batch.pk)
        return format_html('<a href="{}">فهرست تسویه‌ها</a>', url)

    # --- Views ----------------------------------------------------------------------------------

    def download_view(self, request: HttpRequest, object_id: int) -> StreamingHttpResponse:
        """The payout file, written again from its rows and streamed (header first)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        batch = get_object_or_404(PayoutBatch, pk=object_id)
        response = StreamingHttpResponse(
            payouts.payout_lines(batch=batch), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = str(
            content_disposition_header(as_attachment=True, filename=batch.file_name)
        )
        return response

    def export_view(self, request: HttpRequest) -> HttpResponse:
        """Every approved settlement not yet exported, into a new payout file, after a look at
        how many and how much."""
        if not request.user.has_perm(EXPORT_PERMISSION):
            raise PermissionDenied
        if request.method == "POST":
            with tempfile.TemporaryDirectory(prefix="payouts-") as directory:
                try:
                    batch = payouts.export_payouts(
                        out=Path(directory) / export_file_name(),
                        created_by=show.officer(request),
                        process="admin:export_payouts",
                    )
                except payouts.NothingToExport:
                    self.message_user(
                        request,
                        "هیچ تسویه تأییدشده‌ای در انتظار فایل پرداخت نیست؛ فایلی ساخته نشد.",
                        messages.WARNING,
                    )
                    return HttpResponseRedirect(reverse("admin:settlements_payoutbatch_changelist"))
            self.log_addition(request, batch, "صدور فایل پرداخت")
            self.message_user(
                request,
                f"فایل پرداخت {batch.file_name} با {show.number(batch.rows)} ردیف، جمعاً "
                f"{both_units(batch.total_rial)} صادر شد. آن را از همین صفحه دریافت کنید.",
                messages.SUCCESS,
            )
            return HttpResponseRedirect(
                reverse("admin:settlements_payoutbatch_change", args=[batch.pk])
            )
        # An approved settlement is above zero and in no file (the table's constraints), so the
        # status alone names what the export takes, read over the status index.
        waiting = StoreSettlement.objects.filter(status=SettlementStatus.APPROVED).aggregate(
            count=Count("pk"), total=Sum("amount_rial")
        )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "صدور فایل پرداخت",
            "count": show.number(waiting["count"]),
            "total": both_units(int(waiting["total"] or 0)),
            "has_rows": bool(waiting["count"]),
        }
        return TemplateResponse(request, "admin/settlements/payoutbatch/export.html", context)

    def results_view(self, request: HttpRequest) -> HttpResponse:
        """Upload the bank's results file and apply it; show what was applied and what was not."""
        if not request.user.has_perm(RESULTS_PERMISSION):
            raise PermissionDenied
        form = ResultsForm(request.POST or None, request.FILES or None)
        result = None
        if request.method == "POST" and form.is_valid():
            try:
                result = payouts.import_payout_results(
                    stream=io.StringIO(form.cleaned_data["file"], newline=""),
                    process="admin:import_payout_results",
                )
            except payouts.ResultFileError as exc:
                form.add_error("file", str(exc))
            else:
                level = messages.WARNING if result.errors else messages.SUCCESS
                self.message_user(
                    request,
                    f"{show.number(result.rows_read)} ردیف خوانده شد: {show.number(result.paid)} "
                    f"پرداخت‌شده، {show.number(result.failed)} ناموفق، "
                    f"{show.number(result.unchanged)} بدون تغییر (پیش‌تر ثبت شده)، "
                    f"{show.number(result.rows_rejected)} ردیف نپذیرفته.",
                    level,
                )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "بارگذاری پاسخ بانک",
            "form": form,
            "result": result,
            "rejected": result.errors[:REJECTED_SHOWN] if result else [],
            "rejected_more": (
                to_persian_digits(len(result.errors) - REJECTED_SHOWN)
                if result and len(result.errors) > REJECTED_SHOWN
                else ""
            ),
        }
        return TemplateResponse(request, "admin/settlements/payoutbatch/results.html", context)
