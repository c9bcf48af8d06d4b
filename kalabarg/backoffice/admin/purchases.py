"""Purchases, read-only for every officer: the list searched by store, terminal, card, household
and dates over millions of rows (each search one index range, no full count), and each purchase
with its lines, its split, its ledger entries and its reversal.

A purchase is written only by the checkout and reversed only by the POS (``settlements``); this
admin never changes one."""

import re
from typing import Any

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from households.selectors import household_ids_matching
from kalabarg.backoffice import selectors
from kalabarg.backoffice.admin.filters import PurchaseSearchFilter, PurchaseStatusFilter
from kalabarg.backoffice.household360 import card_text, household_url, purchase_status
from kalabarg.lib import admin_display as show
from kalabarg.lib.admin_fields import typed_terminal_id
from kalabarg.lib.admin_paging import CappedCountPaginator
from kalabarg.lib.admin_readonly import ReadOnlyAdminMixin
from kalabarg.lib.identifiers import mask_national_code
from kalabarg.lib.persian import to_latin_digits, to_persian_digits
from stores.models import Purchase, PurchaseLine

_CARD_IN_SEARCH = re.compile(r"(?:([0-9]{6})[\-\s*]+)?([0-9]{4})")

SPLIT_HELP = (
    "خانوار بهای سبد را به قیمت پایه (۱۴۰۱) نقدی می‌پردازد؛ تفاوت قیمت روز و قیمت پایه نخست از "
    "اعتبار کالابرگ و باقی آن از جبران تورم دولت پرداخت می‌شود. جمع به قیمت روز = نقدی + اعتبار + "
    "جبران تورم."
)


class PurchaseLineInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = PurchaseLine
    fields = (
        "item",
        "quantity_display",
        "unit_base",
        "unit_current",
        "base_amount",
        "current_amount",
    )
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name = "قلم خرید"
    verbose_name_plural = "اقلام خرید (مبلغ هر قلم یک بار، به ریال، گرد شده است)"

    def get_queryset(self, request: HttpRequest) -> QuerySet[PurchaseLine]:
        return super().get_queryset(request).select_related("item").order_by("item__display_order")

    @admin.display(description="مقدار")
    def quantity_display(self, line: PurchaseLine) -> str:
        text = f"{line.quantity.normalize():f}"
        return f"{to_persian_digits(text).replace('.', '٫')} {line.item.get_unit_display()}"

    @admin.display(description="قیمت پایه واحد")
    def unit_base(self, line: PurchaseLine) -> str:
        return show.rial(line.unit_base_price_rial)

    @admin.display(description="قیمت روز واحد")
    def unit_current(self, line: PurchaseLine) -> str:
        return show.rial(line.unit_current_price_rial)

    @admin.display(description="مبلغ به قیمت پایه")
    def base_amount(self, line: PurchaseLine) -> str:
        return show.rial(line.base_amount_rial)

    @admin.display(description="مبلغ به قیمت روز")
    def current_amount(self, line: PurchaseLine) -> str:
        return show.rial(line.current_amount_rial)


@admin.register(Purchase)
class PurchaseAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    empty_value_display = "—"
    show_facets = admin.ShowFacets.NEVER  # facet counts are full counts
    list_display = [
        "number",
        "created_at_display",
        "household_display",
        "store",
        "terminal_display",
        "card_display",
        "base_total",
        "current_total",
        "cash",
        "credit",
        "compensation",
        "status_display",
    ]
    list_select_related = ["store", "terminal", "household"]
    list_filter = [PurchaseSearchFilter, PurchaseStatusFilter]
    search_fields = ["idempotency_key"]  # shows the box; get_search_results decides
    search_help_text = (
        "کد ملی یا شماره همراه یکی از اعضای خانوار، شناسه ۸ رقمی پایانه، یا چهار رقم آخر کارت "
        "(یا ۶۰۳۷۹۹-۱۲۳۴)"
    )
    # Newest first, and only by time: any other order would sort millions of rows.
    ordering = ["-created_at", "-id"]
    sortable_by = ["created_at_display"]
    paginator = CappedCountPaginator
    show_full_result_count = False
    list_per_page = 50
    inlines = [PurchaseLineInline]
    change_form_template = "admin/backoffice/purchase/change_form.html"
    change_list_template = "admin/backoffice/purchase/change_list.html"
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "number",
                    "created_at_display",
                    "status_display",
                    "household_display",
                    "payer_display",
                    "store_display",
                    "terminal_display",
                    "paid_with",
                    "card_display",
                ]
            },
        ),
        (
            "سهم پرداخت‌کنندگان",
            {
                "fields": ["base_total", "current_total", "cash", "credit", "compensation"],
                "description": SPLIT_HELP,
            },
        ),
        ("دفتر حساب و برگشت", {"fields": ["entries_display", "reversal_display"]}),
    ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [name for _, options in self.fieldsets for name in options["fields"]]

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        # Only the search form's criteria and the status, each served by an index.
        return lookup in {*PurchaseSearchFilter.parameters, PurchaseStatusFilter.parameter_name}

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Purchase], search_term: str
    ) -> tuple[QuerySet[Purchase], bool]:
        """One box, read by the term's shape: 8 digits are a terminal, 4 digits (or BIN and last
        four, separated) a card, anything else a member's national code or mobile."""
        term = search_term.strip()
        if not term:
            return queryset, False
        terminal_id = typed_terminal_id(term)
        if terminal_id is not None:
            found = selectors.terminal_pk(terminal_id=terminal_id)
            return queryset.filter(terminal_id=found) if found else queryset.none(), False
        card = _CARD_IN_SEARCH.fullmatch(to_latin_digits(term))
        if card is not None:
            condition = Q(card_last4=card.group(2))
            if card.group(1):
                condition &= Q(card_bin=card.group(1))
            return queryset.filter(condition), False
        return queryset.filter(household_id__in=household_ids_matching(term=term)), False

    @admin.display(description="شماره", ordering="pk")
    def number(self, purchase: Purchase) -> str:
        return to_persian_digits(purchase.pk)

    @admin.display(description="زمان خرید", ordering="created_at")
    def created_at_display(self, purchase: Purchase) -> str:
        return show.when(purchase.created_at)

    @admin.display(description="خانوار")
    def household_display(self, purchase: Purchase) -> str:
        return format_html(
            '<a href="{}">{}</a>',
            household_url(purchase.household_id),
            purchase.household.registry_code,
        )

    @admin.display(description="پرداخت‌کننده")
    def payer_display(self, purchase: Purchase) -> str:
        payer = purchase.payer
        return f"{payer.full_name} ({mask_national_code(payer.national_code)})"

    @admin.display(description="فروشگاه")
    def store_display(self, purchase: Purchase) -> str:
        return show.change_link(purchase.store, purchase.store.name)

    @admin.display(description="پایانه")
    def terminal_display(self, purchase: Purchase) -> str:
        return format_html(
            '<a href="{}" dir="ltr">{}</a>',
            reverse("admin:stores_terminal_change", args=[purchase.terminal_id]),
            to_persian_digits(purchase.terminal.terminal_id),
        )

    @admin.display(description="کارت")
    def card_display(self, purchase: Purchase) -> str:
        return format_html('<span dir="ltr">{}</span>', card_text(purchase))

    @admin.display(description="جمع به قیمت پایه")
    def base_total(self, purchase: Purchase) -> str:
        return show.rial(purchase.base_total_rial)

    @admin.display(description="جمع به قیمت روز")
    def current_total(self, purchase: Purchase) -> str:
        return show.rial(purchase.current_total_rial)

    @admin.display(description="نقدی خانوار")
    def cash(self, purchase: Purchase) -> str:
        return show.rial(purchase.cash_rial)

    @admin.display(description="از اعتبار کالابرگ")
    def credit(self, purchase: Purchase) -> str:
        return show.rial(purchase.credit_rial)

    @admin.display(description="جبران تورم دولت")
    def compensation(self, purchase: Purchase) -> str:
        return show.rial(purchase.compensation_rial)

    @admin.display(description="وضعیت")
    def status_display(self, purchase: Purchase) -> str:
        return purchase_status(purchase)

    @admin.display(description="سندهای حسابداری")
    def entries_display(self, purchase: Purchase) -> str:
        entries = selectors.purchase_entries(purchase_id=purchase.pk)
        if not entries:
            return "سندی ندارد (خریدی که تنها از جبران تورم پرداخت شده یا پیش از دفتر ثبت شده)"
        return format_html_join(
            "، ",
            "{} ({}، {})",
            (
                (
                    show.change_link(entry, f"#{to_persian_digits(entry.pk)}"),
                    entry.get_kind_display(),
                    show.when(entry.created_at),
                )
                for entry in entries
            ),
        )

    @admin.display(description="برگشت")
    def reversal_display(self, purchase: Purchase) -> str:
        if purchase.reversed_at is None:
            return "برگشت نخورده است"
        reversal = next(
            (e for e in selectors.purchase_entries(purchase_id=purchase.pk) if e.reverses_id),
            None,
        )
        text = f"در {show.when(purchase.reversed_at)} در همان پایانه برگشت خورد"
        if reversal is None:
            return text
        return format_html(
            "{}؛ سند برگشت {} اعتبار را به کیف و جبران تورم را به صندوق بازگرداند.",
            text,
            show.change_link(reversal, f"#{to_persian_digits(reversal.pk)}"),
        )
