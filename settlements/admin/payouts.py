"""Store settlements for the finance officers: the list (by status, province, day, store, run and
payout file), each settlement's figures and story, and the two decisions taken here.

Nothing here writes a settlement but the services (``settlements.services.payouts``):

- **approve** the selected drafts (or every draft at once), with
  ``settlements.approve_storesettlement`` (finance officer, supervisor): ``approve_settlements``;
- **release** a held settlement (its store was suspended) to draft, with
  ``settlements.change_storesettlement`` and a reason kept in its history: ``release_settlement``.

The payout files, their download and the bank's answers are ``payout_files``.
"""

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, QuerySet, Sum
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html, format_html_join

from kalabarg.lib import admin_display as show
from kalabarg.lib.admin_paging import COUNT_CAP, CappedCountPaginator
from kalabarg.lib.admin_readonly import ReadOnlyAdminMixin
from kalabarg.lib.admin_reason import confirm_with_reason
from kalabarg.lib.persian import to_persian_digits
from settlements.admin.payout_display import (
    both_units,
    settlement_lines,
    settlement_list_url,
    timeline,
)
from settlements.admin.payout_filters import (
    MadeOnFilter,
    PayoutBatchFilter,
    RunFilter,
    StoreFilter,
    settlement_search,
)
from settlements.models import (
    SettlementRun,
    SettlementRunStatus,
    SettlementStatus,
    StoreSettlement,
)
from settlements.services import payouts

# The approve action takes at most this many selected rows; "approve every draft" has no limit.
MAX_APPROVE_ROWS = COUNT_CAP
# Release asks for a reason per row and logs each: a handful at a time.
MAX_RELEASE_ROWS = 100
RELEASE_PERMISSION = "settlements.change_storesettlement"


_FIGURES = (
    "purchase_count_display",
    "purchases_display",
    "reversal_count_display",
    "reversals_display",
    "carried_in_display",
    "amount_both_display",
)
_STORY = ("timeline_display", "carried_from_display", "carried_into_display")
_PAYEE = (
    "reference",
    "store_display",
    "province_display",
    "cutoff_display",
    "status",
    "sheba_display",
    "owner_name",
    "owner_national_code",
)


@admin.register(StoreSettlement)
class StoreSettlementAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    empty_value_display = "—"
    show_facets = admin.ShowFacets.NEVER  # facet counts are full counts
    list_display = [
        "reference",
        "store_display",
        "province_display",
        "amount_display",
        "status",
        "cutoff_display",
        "created_at_display",
    ]
    list_display_links = ["reference"]
    list_filter = [
        "status",
        "store__province",
        MadeOnFilter,
        PayoutBatchFilter,
        StoreFilter,
        RunFilter,
    ]
    list_select_related = ["store__province"]
    search_fields = ["sheba"]  # shows the box; get_search_results reads the term
    search_help_text = (
        "شناسه پرداخت (KB000000000123)، شماره شبا، شماره پروانه کسب یا بخشی از نام فروشگاه"
    )
    # Newest first, and only so: every filter reads an index in this order (no sort of millions).
    ordering = ["-created_at", "-id"]
    sortable_by = ()  # one order only (the index's)
    paginator = CappedCountPaginator
    show_full_result_count = False
    list_per_page = 50
    actions = ["approve_selected", "release_held"]
    fieldsets = [
        (None, {"fields": _PAYEE}),
        ("مبلغ", {"fields": _FIGURES}),
        ("گردش کار", {"fields": _STORY}),
        ("خریدها و برگشت‌ها", {"fields": ("lines_display",)}),
    ]
    change_list_template = "admin/settlements/storesettlement/change_list.html"
    change_form_template = "admin/settlements/storesettlement/change_form.html"

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [name for _, options in self.fieldsets for name in options["fields"]]

    def get_object(self, request: HttpRequest, object_id: str, from_field: Any = None) -> Any:
        queryset = self.get_queryset(request).select_related(
            "store__province", "run", "approved_by", "released_by", "payout_batch", "carried_into"
        )
        return queryset.filter(pk=object_id).first() if str(object_id).isdigit() else None

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        # Only the sidebar's filters, each served by an index in the list's order.
        return lookup in {
            "status__exact",
            "store__province__id__exact",
            *(f.parameter_name for f in (StoreFilter, RunFilter, PayoutBatchFilter)),
            *MadeOnFilter.parameters,
        }

    def has_approve_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(payouts.APPROVE_PERMISSION)

    def has_release_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(RELEASE_PERMISSION)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[StoreSettlement], search_term: str
    ) -> tuple[QuerySet[StoreSettlement], bool]:
        condition, refusal = settlement_search(search_term)
        if refusal:
            self.message_user(request, refusal, messages.WARNING)
        return (queryset if condition is None else queryset.filter(condition)), False

    def get_urls(self) -> list[Any]:
        custom = [
            path(
                "approve-drafts/",
                self.admin_site.admin_view(self.approve_drafts_view),
                name="settlements_storesettlement_approve_drafts",
            ),
        ]
        return custom + super().get_urls()

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        context = {**(extra_context or {}), "can_approve": self.has_approve_permission(request)}
        return super().changelist_view(request, context)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        settlement = self.get_object(request, unquote(object_id))
        context = {**(extra_context or {})}
        if settlement is not None and settlement.status == SettlementStatus.FAILED:
            context["failure_reason"] = settlement.failure_reason
        return super().change_view(request, object_id, form_url, context)

    # --- Columns and fields ---------------------------------------------------------------------

    @admin.display(description="شناسه پرداخت")
    def reference(self, settlement: StoreSettlement) -> str:
        return format_html('<span dir="ltr">{}</span>', settlement.reference)

    @admin.display(description="فروشگاه")
    def store_display(self, settlement: StoreSettlement) -> str:
        return format_html(
            '{} <a href="{}" class="quiet">(تسویه‌ها)</a>',
            show.change_link(settlement.store, settlement.store.name),
            settlement_list_url(store__id__exact=settlement.store_id),
        )

    @admin.display(description="استان")
    def province_display(self, settlement: StoreSettlement) -> str:
        return settlement.store.province.name

    @admin.display(description="مبلغ")
    def amount_display(self, settlement: StoreSettlement) -> str:
        return show.rial(settlement.amount_rial)

    @admin.display(description="تا لحظه")
    def cutoff_display(self, settlement: StoreSettlement) -> str:
        return show.when(settlement.cutoff)

    @admin.display(description="ثبت")
    def created_at_display(self, settlement: StoreSettlement) -> str:
        return show.when(settlement.created_at)

    @admin.display(description="شماره شبا")
    def sheba_display(self, settlement: StoreSettlement) -> str:
        return format_html('<span dir="ltr">{}</span>', settlement.sheba)

    @admin.display(description="تعداد خرید")
    def purchase_count_display(self, settlement: StoreSettlement) -> str:
        return show.number(settlement.purchase_count)

    @admin.display(description="خریدها (اعتبار + جبران تورم)")
    def purchases_display(self, settlement: StoreSettlement) -> str:
        return show.rial(settlement.purchases_rial)

    @admin.display(description="تعداد برگشت")
    def reversal_count_display(self, settlement: StoreSettlement) -> str:
        return show.number(settlement.reversal_count)

    @admin.display(description="برگشت‌ها")
    def reversals_display(self, settlement: StoreSettlement) -> str:
        return show.rial(settlement.reversals_rial)

    @admin.display(description="منتقل‌شده از پیش")
    def carried_in_display(self, settlement: StoreSettlement) -> str:
        return show.rial(settlement.carried_in_rial)

    @admin.display(description="مبلغ این تسویه")
    def amount_both_display(self, settlement: StoreSettlement) -> str:
        return both_units(settlement.amount_rial)

    @admin.display(description="گام‌ها")
    def timeline_display(self, settlement: StoreSettlement) -> str:
        return format_html('<ol class="settlement-timeline">{}</ol>', timeline(settlement))

    @admin.display(description="منتقل‌شده از")
    def carried_from_display(self, settlement: StoreSettlement) -> str:
        earlier = list(StoreSettlement.objects.filter(carried_into=settlement).order_by("pk")[:20])
        if not earlier:
            return "—"
        return format_html_join(
            "، ",
            "{} ({}، {})",
            (
                (show.change_link(s, s.reference), s.get_status_display(), show.rial(s.amount_rial))
                for s in earlier
            ),
        )

    @admin.display(description="منتقل‌شده به")
    def carried_into_display(self, settlement: StoreSettlement) -> str:
        later = settlement.carried_into
        if later is None:
            return "—"
        return show.change_link(later, later.reference)

    @admin.display(description="ردیف‌ها")
    def lines_display(self, settlement: StoreSettlement) -> str:
        return settlement_lines(settlement)

    # --- Actions ----------------------------------------------------------------------------------

    @admin.action(
        description="تأیید تسویه‌های پیش‌نویسِ انتخاب‌شده برای پرداخت", permissions=["approve"]
    )
    def approve_selected(self, request: HttpRequest, queryset: QuerySet[StoreSettlement]) -> None:
        others = queryset.exclude(status=SettlementStatus.DRAFT).exists()
        drafts = list(
            queryset.filter(status=SettlementStatus.DRAFT)
            .order_by()
            .values_list("pk", flat=True)[: MAX_APPROVE_ROWS + 1]
        )
        if len(drafts) > MAX_APPROVE_ROWS:
            self.message_user(
                request,
                f"بیش از {to_persian_digits(MAX_APPROVE_ROWS)} پیش‌نویس انتخاب شده است؛ از دکمه "
                "«تأیید همه پیش‌نویس‌ها» استفاده کنید. هیچ تسویه‌ای تأیید نشد.",
                messages.ERROR,
            )
            return
        try:
            result = payouts.approve_settlements(
                officer=show.officer(request), settlement_ids=drafts
            )
        except ValidationError as exc:
            self.message_user(request, "؛ ".join(exc.messages), messages.ERROR)
            return
        self._report_approval(request, result, skipped=others)

    def _report_approval(
        self, request: HttpRequest, result: payouts.ApprovalResult, *, skipped: bool
    ) -> None:
        text = (
            f"{show.number(result.approved)} تسویه برای پرداخت تأیید شد، جمعاً "
            f"{both_units(result.amount_rial)}."
        )
        if skipped:
            text += " تسویه‌های انتخاب‌شده‌ای که پیش‌نویس نبودند دست نخوردند."
        level = messages.SUCCESS if result.approved else messages.WARNING
        self.message_user(request, text, level)

    @admin.action(description="آزادسازی تسویه‌های نگه‌داشته (با ذکر دلیل)", permissions=["release"])
    def release_held(
        self, request: HttpRequest, queryset: QuerySet[StoreSettlement]
    ) -> HttpResponse | None:
        chosen = list(queryset.order_by("pk")[: MAX_RELEASE_ROWS + 1])
        if len(chosen) > MAX_RELEASE_ROWS:
            self.message_user(
                request,
                f"در هر بار حداکثر {to_persian_digits(MAX_RELEASE_ROWS)} تسویه را آزاد کنید؛ "
                "هیچ تسویه‌ای آزاد نشد.",
                messages.ERROR,
            )
            return None
        held = [s for s in chosen if s.status == SettlementStatus.HELD]
        if not held:
            self.message_user(
                request,
                "هیچ‌یک از تسویه‌های انتخاب‌شده نگه‌داشته نیست؛ فقط تسویه‌های نگه‌داشته آزاد می‌شوند.",
                messages.ERROR,
            )
            return None
        others = len(chosen) - len(held)

        def proceed(reason: str) -> None:
            officer = show.officer(request)
            released = 0
            for settlement in held:
                try:
                    payouts.release_settlement(settlement=settlement, by=officer)
                except ValidationError:
                    continue  # released by someone else meanwhile
                self.log_change(request, settlement, f"آزادسازی — دلیل: {reason}")
                released += 1
            text = f"{show.number(released)} تسویه آزاد شد و پیش‌نویس است؛ اکنون تأیید می‌شود."
            if others or released < len(held):
                text += (
                    f" {show.number(others + len(held) - released)} تسویه انتخاب‌شده "
                    "نگه‌داشته نبود و دست نخورد."
                )
            self.message_user(request, text, messages.SUCCESS if released else messages.WARNING)

        return confirm_with_reason(
            self,
            request,
            objects=held,
            action="release_held",
            title="آزادسازی تسویه نگه‌داشته",
            intro=(
                "فروشگاه این تسویه‌ها در زمان تسویه تعلیق بود. با آزادسازی، تسویه پیش‌نویس "
                "می‌شود و پس از تأیید کارشناس مالی پرداخت می‌شود. دلیل آزادسازی را بنویسید:"
            ),
            proceed=proceed,
            required_message="دلیل آزادسازی را بنویسید",
            help_text="این دلیل با نام شما در تاریخچه هر تسویه ثبت می‌شود.",
        )

    def approve_drafts_view(self, request: HttpRequest) -> HttpResponse:
        """Every draft at once (the nightly run makes one per store): the count and total first,
        then one ``approve_settlements``. Refused while a run is still making drafts."""
        if not self.has_approve_permission(request):
            raise PermissionDenied
        running = SettlementRun.objects.filter(status=SettlementRunStatus.RUNNING).exists()
        if request.method == "POST" and not running:
            try:
                result = payouts.approve_settlements(officer=show.officer(request))
            except ValidationError as exc:
                self.message_user(request, "؛ ".join(exc.messages), messages.ERROR)
            else:
                self._report_approval(request, result, skipped=False)
            return HttpResponseRedirect(
                settlement_list_url(status__exact=SettlementStatus.APPROVED)
            )
        drafts = StoreSettlement.objects.filter(status=SettlementStatus.DRAFT).aggregate(
            count=Count("pk"), total=Sum("amount_rial")
        )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "تأیید همه تسویه‌های پیش‌نویس",
            "count": show.number(drafts["count"]),
            "total": both_units(int(drafts["total"] or 0)),
            "has_drafts": bool(drafts["count"]),
            "running": running,
            "drafts_url": settlement_list_url(status__exact=SettlementStatus.DRAFT),
        }
        return TemplateResponse(
            request, "admin/settlements/storesettlement/approve_drafts.html", context
        )
