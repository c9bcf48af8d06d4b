"""Anomaly flags: what the nightly job (``settlements.services.anomalies``) raised, for review.

A flag is raised by the job only (no add page) and never deleted; it blocks nothing. An officer
who may change flags closes one with a reason: on its page (the one field it offers) or several
at once from the list's action, which asks for the reason on an intermediate page. The evidence
is shown as the figures the job found, in Persian, with what the pattern means.

``flags_table`` is the store page's section listing the store's flags.
"""

import datetime as dt
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from kalabarg.lib import admin_display as show
from kalabarg.lib.admin_paging import CappedCountPaginator
from kalabarg.lib.admin_reason import reason_field
from kalabarg.lib.admin_writes import adopt_row
from kalabarg.lib.persian import normalize_text, to_latin_digits, to_persian_digits
from stores import selectors, services
from stores.admin.actions import with_reason
from stores.models import FlagKind, FlagStatus, Store, StoreFlag

REASON_REQUIRED = "دلیل بستن هشدار را بنویسید"
# Flags shown on a store's page; the rest are a click away in the flags' list.
STORE_PAGE_FLAGS = 20

# What each pattern means, for the officer reading the evidence.
MEANING: dict[str, str] = {
    FlagKind.BASKET_ABOVE_PROVINCE: (
        "میانگین مبلغ هر خرید (به قیمت روز) در این فروشگاه چند برابر میانگین دیگر فروشگاه‌های "
        "همان استان در همان روزها بوده است."
    ),
    FlagKind.CARD_REPEATED: (
        "با یک کارت (یا کد خرید یک نفر) در یک روز خریدهای پرشماری در این فروشگاه انجام شده است."
    ),
    FlagKind.FEW_CARDS: "بخش بزرگی از مبلغ فروش این فروشگاه از چند کارت معدود بوده است.",
    FlagKind.NIGHT_SALES: "بخش بزرگی از خریدهای این فروشگاه در ساعات شب (به وقت تهران) بوده است.",
    FlagKind.UNDER_LINE_LIMIT: (
        "اقلام خرید پرشماری با مقداری درست زیر سقف مجاز هر قلم در یک خرید ثبت شده است."
    ),
}


# --- The evidence, readable ----------------------------------------------------------------------


def _number(value: Any) -> str:
    return show.number(value) if isinstance(value, int) else "—"


def _percent(value: Any) -> str:
    return f"{to_persian_digits(value)}٪" if isinstance(value, int) else "—"


def _rial(value: Any) -> str:
    return show.rial(value) if isinstance(value, int) else "—"


def _quantity(value: Any) -> str:
    return to_persian_digits(value).replace(".", "٫") if value not in (None, "") else "—"


def _hour(value: Any) -> str:
    return to_persian_digits(f"{value:02d}:00") if isinstance(value, int) else "—"


def _day(value: Any) -> str:
    try:
        return show.day(dt.date.fromisoformat(str(value)))
    except ValueError:
        return "—"


def card_text(last4: Any, bin_: Any = "") -> str:
    """``۶۰۳۷۹۹…۱۲۳۴`` (left to right); a payment code's purchases have no card."""
    if last4 is None:
        return "—"
    if last4 == "":
        return "کد خرید (بدون کارت)"
    shown = f"{bin_}…{last4}" if bin_ else f"…{last4}"
    return format_html('<span dir="ltr">{}</span>', to_persian_digits(shown))


def _cards(values: Any) -> str:
    cards = [card_text(value) for value in values or [] if value is not None]
    return format_html_join("، ", "{}", ((card,) for card in cards)) if cards else "—"


def _payer(value: Any) -> str:
    if not isinstance(value, int):
        return "—"
    url = reverse("admin:households_person_change", args=[value])
    return format_html(
        '<a href="{}">{}</a>', url, f"پرونده پرداخت‌کننده ({to_persian_digits(value)})"
    )


Row = tuple[str, str, Callable[[Any], str]]

# Each kind's evidence: key, label, how to show it (keys as the job writes them).
EVIDENCE: dict[str, list[Row]] = {
    FlagKind.BASKET_ABOVE_PROVINCE: [
        ("store_average_rial", "میانگین هر خرید در این فروشگاه", _rial),
        ("province_average_rial", "میانگین هر خرید در دیگر فروشگاه‌های استان", _rial),
        ("ratio_percent", "نسبت به میانگین استان", _percent),
        ("purchases", "شمار خریدهای این فروشگاه", _number),
        ("province_purchases", "شمار خریدهای دیگر فروشگاه‌های استان", _number),
        ("factor", "آستانه (چند برابر میانگین استان)", _number),
    ],
    FlagKind.CARD_REPEATED: [
        ("purchases", "بیشترین خرید با یک کارت در یک روز", _number),
        ("day", "روز", _day),
        ("card_last4", "کارت", card_text),  # evidence_rows adds the card's BIN
        ("payer_id", "پرداخت‌کننده", _payer),
        ("card_days", "شمار کارت‌هایی که در یک روز از آستانه گذشتند (کارت-روز)", _number),
        ("threshold", "آستانه (خرید با یک کارت در یک روز)", _number),
    ],
    FlagKind.FEW_CARDS: [
        ("share_percent", "سهم پرمبلغ‌ترین کارت‌ها از مبلغ فروش", _percent),
        ("top_cards", "شمار این کارت‌ها", _number),
        ("card_last4s", "این کارت‌ها", _cards),
        ("top_total_rial", "مبلغ خرید با این کارت‌ها", _rial),
        ("total_rial", "مبلغ کل فروش", _rial),
        ("top_purchases", "شمار خرید با این کارت‌ها", _number),
        ("purchases", "شمار کل خریدها", _number),
        ("cards", "شمار کارت‌های متمایز", _number),
        ("threshold_percent", "آستانه (سهم از مبلغ فروش)", _percent),
    ],
    FlagKind.NIGHT_SALES: [
        ("night_purchases", "شمار خریدهای شبانه", _number),
        ("purchases", "شمار کل خریدها", _number),
        ("share_percent", "سهم خریدهای شبانه", _percent),
        ("from_hour", "شب از ساعت", _hour),
        ("to_hour", "تا ساعت", _hour),
        ("threshold_percent", "آستانه (سهم خریدهای شبانه)", _percent),
    ],
    FlagKind.UNDER_LINE_LIMIT: [
        ("near_lines", "شمار اقلام درست زیر سقف", _number),
        ("near_purchases", "شمار خریدهای دارای چنین قلمی", _number),
        ("lines", "شمار کل اقلام خرید", _number),
        ("from_quantity", "مقدار از", _quantity),
        ("limit_quantity", "تا کمتر از (سقف هر قلم)", _quantity),
        ("threshold_lines", "آستانه (شمار اقلام)", _number),
    ],
}


def evidence_rows(flag: StoreFlag) -> list[tuple[str, str]]:
    """The flag's figures as (label, text), in the order an officer reads them; a key the page
    does not know is shown as it is, so no figure is hidden."""
    evidence = flag.evidence if isinstance(flag.evidence, dict) else {}
    rows: list[tuple[str, str]] = []
    known = EVIDENCE.get(flag.kind, [])
    for key, label, shown in known:
        if key == "card_last4":
            rows.append((label, card_text(evidence.get(key), evidence.get("card_bin", ""))))
        else:
            rows.append((label, shown(evidence.get(key))))
    named = {key for key, _, _ in known} | {"card_bin"}
    rows += [(key, to_persian_digits(value)) for key, value in evidence.items() if key not in named]
    return rows


def summary(flag: StoreFlag) -> str:
    """One line of the evidence, for lists."""
    e = flag.evidence if isinstance(flag.evidence, dict) else {}
    if flag.kind == FlagKind.BASKET_ABOVE_PROVINCE:
        return (
            f"میانگین هر خرید {_rial(e.get('store_average_rial'))}؛ "
            f"{_percent(e.get('ratio_percent'))} میانگین استان"
        )
    if flag.kind == FlagKind.CARD_REPEATED:
        return format_html(
            "{} خرید با کارت {} در {}",
            _number(e.get("purchases")),
            card_text(e.get("card_last4"), e.get("card_bin", "")),
            _day(e.get("day")),
        )
    if flag.kind == FlagKind.FEW_CARDS:
        return (
            f"{_percent(e.get('share_percent'))} مبلغ فروش از "
            f"{_number(e.get('top_cards'))} کارت ({_number(e.get('purchases'))} خرید)"
        )
    if flag.kind == FlagKind.NIGHT_SALES:
        return (
            f"{_number(e.get('night_purchases'))} خرید از {_number(e.get('purchases'))} "
            f"({_percent(e.get('share_percent'))}) میان ساعت {_hour(e.get('from_hour'))} "
            f"و {_hour(e.get('to_hour'))}"
        )
    if flag.kind == FlagKind.UNDER_LINE_LIMIT:
        return (
            f"{_number(e.get('near_lines'))} قلم با مقدار {_quantity(e.get('from_quantity'))} "
            f"تا کمتر از {_quantity(e.get('limit_quantity'))}"
        )
    return "—"


def period_text(flag: StoreFlag) -> str:
    if flag.period_from == flag.period_to:
        return show.day(flag.period_from)
    return format_html("{} تا {}", show.day(flag.period_from), show.day(flag.period_to))


def flags_table(store: Store) -> str:
    """The store page's section: its flags, open first then newest, each linked to its page."""
    flags = list(selectors.store_flags(store_id=store.pk)[: STORE_PAGE_FLAGS + 1])
    if not flags:
        return "هشداری برای این فروشگاه ثبت نشده است."
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                show.change_link(flag, flag.get_kind_display()),
                flag.get_status_display(),
                period_text(flag),
                summary(flag),
                flag.close_reason or "—",
            )
            for flag in flags[:STORE_PAGE_FLAGS]
        ),
    )
    more = ""
    if len(flags) > STORE_PAGE_FLAGS:
        url = reverse("admin:stores_storeflag_changelist") + f"?store__id__exact={store.pk}"
        more = format_html('<p><a href="{}">همه هشدارهای این فروشگاه</a></p>', url)
    return format_html(
        "<table><thead><tr><th>نوع</th><th>وضعیت</th><th>دوره</th><th>شواهد</th>"
        "<th>دلیل بستن</th></tr></thead><tbody>{}</tbody></table>{}",
        rows,
        more,
    )


# --- The admin -----------------------------------------------------------------------------------


class StoreFlagForm(forms.ModelForm):
    """An open flag's page: the one thing an officer does here is close it, with a reason."""

    close_reason = reason_field(
        label="دلیل بستن",
        required_message=REASON_REQUIRED,
        help_text="با ذخیره، هشدار با این دلیل و نام شما بسته می‌شود. هشدار چیزی را مسدود نمی‌کند.",
    )

    class Meta:
        model = StoreFlag
        fields = ["close_reason"]

    def clean_close_reason(self) -> str:
        reason = normalize_text(self.cleaned_data.get("close_reason") or "")
        if not reason:
            raise ValidationError(REASON_REQUIRED, code="reason_required")
        return reason


DETAIL_FIELDS = [
    "store_display",
    "kind",
    "status",
    "period_display",
    "created_at_display",
    "meaning",
    "evidence_display",
]
CLOSED_FIELDS = ["close_reason", "closed_by", "closed_at_display"]


@admin.register(StoreFlag)
class StoreFlagAdmin(admin.ModelAdmin):
    form = StoreFlagForm
    list_display = [
        "kind",
        "store_display",
        "province",
        "period_display",
        "summary_display",
        "status",
        "created_at_display",
    ]
    list_display_links = ["kind"]
    list_filter = ["status", "kind", "store__province"]
    list_select_related = ["store__province"]
    search_fields = ["store__name"]  # shows the box; get_search_results decides
    search_help_text = "بخشی از نام فروشگاه یا شماره پروانه کسب آن"
    sortable_by = ()  # open first, then newest: the order officers work in
    show_facets = admin.ShowFacets.NEVER
    paginator = CappedCountPaginator
    show_full_result_count = False
    list_per_page = 50
    actions = ["close_flags"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[StoreFlag]:
        # Not super(): it orders by get_ordering before the annotation that order names exists.
        return selectors.flags_open_first(queryset=StoreFlag.objects.all())

    def get_ordering(self, request: HttpRequest) -> list[str]:
        return ["open_rank", "-created_at", "-id"]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[StoreFlag], search_term: str
    ) -> tuple[QuerySet[StoreFlag], bool]:
        term = normalize_text(to_latin_digits(search_term))
        if not term:
            return queryset, False
        return queryset.filter(
            Q(store__licence_number=term) | Q(store__name__icontains=term)
        ), False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # raised by the nightly job only

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a closed flag is the record of a review

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Only an open flag can change (be closed); a closed one is read-only for everyone.
        return super().has_change_permission(request, obj) and (
            obj is None or obj.status == FlagStatus.OPEN
        )

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        review = ["close_reason"] if obj is None or obj.status == FlagStatus.OPEN else CLOSED_FIELDS
        return [
            (None, {"fields": DETAIL_FIELDS}),
            (
                "بررسی",
                {
                    "fields": review,
                    "description": "هشدار خودبه‌خود چیزی را مسدود نمی‌کند. اگر فروشگاه باید "
                    "تعلیق شود، از صفحه فروشگاه‌ها اقدام کنید.",
                },
            ),
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is not None and obj.status == FlagStatus.OPEN:
            return DETAIL_FIELDS
        return [*DETAIL_FIELDS, *CLOSED_FIELDS]

    def save_model(self, request: HttpRequest, obj: StoreFlag, form: Any, change: bool) -> None:
        try:
            closed = services.close_flag(
                flag=obj, by=show.officer(request), reason=form.cleaned_data["close_reason"]
            )
        except ValidationError as exc:  # closed by another officer since the page was opened
            messages.error(request, "هشدار بسته نشد: " + "؛ ".join(exc.messages))
            return
        adopt_row(obj, closed)

    @admin.action(description="بستن هشدارهای انتخاب‌شده (با ذکر دلیل)", permissions=["change"])
    def close_flags(
        self, request: HttpRequest, queryset: QuerySet[StoreFlag]
    ) -> HttpResponse | None:
        open_flags = queryset.filter(status=FlagStatus.OPEN)
        if not open_flags.exists():
            self.message_user(request, "هیچ‌یک از هشدارهای انتخاب‌شده باز نیست.", messages.WARNING)
            return None
        officer = show.officer(request)
        return with_reason(
            self,
            request,
            open_flags.select_related("store"),
            action="close_flags",
            title="بستن هشدار",
            intro="این هشدارها پس از بررسی بسته می‌شوند (چیزی مسدود یا آزاد نمی‌شود). "
            "دلیل بستن را بنویسید:",
            apply=lambda flag, reason: services.close_flag(flag=flag, by=officer, reason=reason),
            done="هشدار بسته شد.",
            required_message=REASON_REQUIRED,
        )

    @admin.display(description="فروشگاه")
    def store_display(self, flag: StoreFlag) -> str:
        return show.change_link(flag.store, flag.store.name)

    @admin.display(description="استان")
    def province(self, flag: StoreFlag) -> str:
        return str(flag.store.province)

    @admin.display(description="دوره")
    def period_display(self, flag: StoreFlag) -> str:
        return period_text(flag)

    @admin.display(description="ثبت")
    def created_at_display(self, flag: StoreFlag) -> str:
        return show.when(flag.created_at)

    @admin.display(description="زمان بستن")
    def closed_at_display(self, flag: StoreFlag) -> str:
        return show.when(flag.closed_at)

    @admin.display(description="شواهد")
    def summary_display(self, flag: StoreFlag) -> str:
        return summary(flag)

    @admin.display(description="معنای این هشدار")
    def meaning(self, flag: StoreFlag) -> str:
        return MEANING.get(flag.kind, "—")

    @admin.display(description="شواهد")
    def evidence_display(self, flag: StoreFlag) -> str:
        rows = format_html_join(
            "", '<tr><th scope="row">{}</th><td>{}</td></tr>', evidence_rows(flag)
        )
        return format_html("<table><tbody>{}</tbody></table>", rows)
