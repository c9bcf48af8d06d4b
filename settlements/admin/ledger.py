"""The ledger, read-only: accounts, journal entries and their postings, the daily digests.

The ledger is append-only: no money figure is typed or changed here, and every figure is shown
in rials. A correction is a new reversing entry made by a service, never an edit.
"""

from typing import Any

from django.contrib import admin
from django.db.models import Q, QuerySet, Sum
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from households.models import Household
from households.selectors import household_ids_matching
from kalabarg.lib import admin_display as show
from kalabarg.lib.admin_fields import typed_terminal_id
from kalabarg.lib.admin_paging import CappedCountPaginator
from kalabarg.lib.admin_readonly import ReadOnlyAdminMixin
from kalabarg.lib.persian import to_persian_digits
from settlements import selectors
from settlements.models import (
    Account,
    AccountKind,
    BalanceRollup,
    Charge,
    EntryKind,
    JournalEntry,
    LedgerDigest,
    Posting,
)
from settlements.services.ledger import SYSTEM_KINDS
from stores.models import Terminal

APPEND_ONLY_HELP = (
    "اسناد حسابداری فقط افزوده می‌شوند و هرگز ویرایش یا حذف نمی‌شوند. "
    "هر اصلاح، سند برگشتی تازه‌ای است با همان ردیف‌ها و مبالغ قرینه، که به سند اصلی اشاره می‌کند."
)


def _owner(account: Account) -> str:
    if account.household_id is not None and account.household is not None:
        return account.household.registry_code
    if account.store_id is not None and account.store is not None:
        return account.store.name
    return "—"


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
        terminal_id = typed_terminal_id(term)
        if terminal_id is not None:
            store_ids = list(
                Terminal.objects.filter(terminal_id=terminal_id).values_list("store_id", flat=True)
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
        return show.rial(account.balance_rial) if account.kind == AccountKind.WALLET else "—"

    @admin.display(description="مانده")
    def balance_display(self, account: Account) -> str:
        return show.rial(selectors.account_balance(account=account))

    @admin.display(description="جمع‌بندی مانده")
    def rollup_display(self, account: Account) -> str:
        if account.kind == AccountKind.WALLET:
            return "مانده کیف اعتبار همراه هر ردیف به‌روز نگه داشته می‌شود."
        rollup = BalanceRollup.objects.filter(account=account).first()
        if rollup is None:
            return "هنوز جمع‌بندی نشده است؛ مانده از همه ردیف‌ها جمع زده می‌شود."
        return format_html(
            "{} تا ردیف {}، به‌روزشده در {}؛ ردیف‌های پس از آن به آن افزوده می‌شوند.",
            show.rial(rollup.balance_rial),
            to_persian_digits(rollup.up_to_posting_id),
            show.when(rollup.updated_at),
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
                    show.change_link(posting.entry, to_persian_digits(posting.entry_id)),
                    posting.entry.get_kind_display(),
                    show.when(posting.entry.created_at),
                    show.rial(posting.amount_rial),
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


# A run's charge entry has a posting for every household of its chunk (25,000): the page lists
# the first ones (by id, the fund's leg and the lowest wallets), and says how many there are; each
# wallet's own page and the household's 360° page show its posting.
POSTINGS_SHOWN = 100


class _FirstPostings(BaseInlineFormSet):
    """The entry's first ``POSTINGS_SHOWN`` postings: read-only, so a sliced queryset is safe."""

    def get_queryset(self) -> QuerySet[Posting]:
        return super().get_queryset()[:POSTINGS_SHOWN]


class PostingInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Posting
    formset = _FirstPostings
    fields = _POSTING_INLINE_FIELDS
    readonly_fields = _POSTING_INLINE_FIELDS
    extra = 0
    can_delete = False
    verbose_name = "ردیف سند"
    verbose_name_plural = (
        f"ردیف‌های سند (+ به حساب، − از حساب؛ جمع ردیف‌های هر سند صفر است؛ "
        f"تا {to_persian_digits(POSTINGS_SHOWN)} ردیف نخست)"
    )

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
        return show.change_link(account, f"{to_persian_digits(account.pk)} — {_owner(account)}")

    @admin.display(description="نوع حساب")
    def account_kind(self, posting: Posting) -> str:
        return posting.account.get_kind_display()

    @admin.display(description="مبلغ")
    def amount_display(self, posting: Posting) -> str:
        return format_html('<span dir="rtl">{}</span>', show.rial(posting.amount_rial))


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
        (
            "اصلاح",
            {"fields": ["reverses", "reversed_by_display", "total_display", "postings_display"]},
        ),
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
        # A run's charge entry names no household: its ``Charge`` rows do.
        charges = Charge.objects.filter(household_id__in=household_ids).values("entry_id")
        return queryset.filter(
            Q(idempotency_key=term) | Q(household_id__in=household_ids) | Q(pk__in=charges)
        ), False

    @admin.display(description="شماره", ordering="pk")
    def number(self, entry: JournalEntry) -> str:
        return to_persian_digits(entry.pk)

    @admin.display(description="دوره")
    def cycle_display(self, entry: JournalEntry) -> str:
        return to_persian_digits(entry.cycle.key) if entry.cycle is not None else "—"

    @admin.display(description="خانوار")
    def household_display(self, entry: JournalEntry) -> str:
        if entry.household is not None:
            return entry.household.registry_code
        # A run's charge entry credits a chunk of households (its ``Charge`` rows).
        return "خانوارهای یک بخش" if entry.kind == EntryKind.CYCLE_CHARGE else "—"

    @admin.display(description="زمان", ordering="created_at")
    def created_at_display(self, entry: JournalEntry) -> str:
        return show.when(entry.created_at)

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
            "، ", "{}", ((show.change_link(r, f"#{to_persian_digits(r.pk)}"),) for r in reversals)
        )

    @admin.display(description="تعداد ردیف‌ها")
    def postings_display(self, entry: JournalEntry) -> str:
        count = entry.postings.count()
        if count <= POSTINGS_SHOWN:
            return show.number(count)
        return (
            f"{show.number(count)} ردیف؛ {to_persian_digits(POSTINGS_SHOWN)} ردیف نخست در زیر آمده "
            "است و ردیف هر خانوار در صفحه کیف اعتبار همان خانوار"
        )

    @admin.display(description="جمع ردیف‌ها")
    def total_display(self, entry: JournalEntry) -> str:
        total = entry.postings.aggregate(total=Sum("amount_rial"))["total"] or 0
        return show.rial(total) + ("" if total == 0 else " — ناتراز! گزارش دهید")


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
        return show.day(digest.day)

    @admin.display(description="تعداد اسناد", ordering="entries")
    def entries_display(self, digest: LedgerDigest) -> str:
        return show.number(digest.entries)

    @admin.display(description="درهم‌سازی (SHA-256)")
    def digest_display(self, digest: LedgerDigest) -> SafeString:
        return format_html('<code dir="ltr">{}</code>', digest.digest)

    @admin.display(description="ثبت", ordering="created_at")
    def created_at_display(self, digest: LedgerDigest) -> str:
        return show.when(digest.created_at)
