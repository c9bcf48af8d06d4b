"""Officer admin for the registry: find a household among millions by any member's code or mobile."""

import io
from collections.abc import Callable
from typing import Any, TextIO

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from households import selectors, services
from households.card_import import import_bank_cards
from households.importer import ImportFileError, import_households, write_error_report
from households.models import (
    BankCard,
    City,
    DecileAssignment,
    DecileSource,
    Household,
    Person,
    Province,
)
from kalabarg.lib.admin_display import officer
from kalabarg.lib.admin_fields import clean_identifier
from kalabarg.lib.admin_paging import CappedCountPaginator
from kalabarg.lib.admin_writes import add_inline_rows
from kalabarg.lib.identifiers import normalize_card_number, normalize_mobile

# Larger files go through `manage.py import_households` (nothing long runs inside a web request).
ADMIN_IMPORT_MAX_BYTES = 5 * 1024 * 1024


@admin.register(Province)
class ProvinceAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "name_en"]
    search_fields = ["name", "name_en", "code"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # reference data comes from a migration

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(City)
class CityAdmin(admin.ModelAdmin):
    list_display = ["name", "province", "is_center"]
    list_filter = ["province"]
    search_fields = ["name", "province__name"]
    list_select_related = ["province"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class CurrentDecileFilter(admin.SimpleListFilter):
    title = "دهک کنونی"
    parameter_name = "decile"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(str(decile), f"دهک {decile}") for decile in range(1, 11)]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Household]) -> QuerySet[Household]:
        if not self.value():
            return queryset
        return queryset.filter(Q(current_decile=int(self.value() or 0)))


class PersonInline(admin.TabularInline):
    """Members are the registry's data (changed by its import), shown read-only here."""

    model = Person
    fields = (
        "national_code",
        "first_name",
        "last_name",
        "relation",
        "birth_date",
        "mobile",
        "cards",
    )
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="کارت‌ها")
    def cards(self, person: Person) -> str:
        return "، ".join(card.masked for card in person.cards.all()) or "—"


class DecileAssignmentForm(forms.ModelForm):
    class Meta:
        model = DecileAssignment
        fields = ["decile", "effective_from", "reason"]

    def clean_decile(self) -> int:
        decile = self.cleaned_data["decile"]
        try:
            services.validate_decile(decile=decile)
        except ValidationError as exc:
            raise ValidationError(exc.messages[0], code="decile_out_of_range") from exc
        return decile

    def clean_reason(self) -> str:
        reason = (self.cleaned_data.get("reason") or "").strip()
        if not reason:
            raise ValidationError("دلیل تغییر دهک را بنویسید", code="reason_required")
        return reason

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean()
        effective_from = self.cleaned_data.get("effective_from")
        household_id = self.instance.household_id
        if self.instance.pk is None and effective_from and household_id:
            # The service asks the same (a date in a closed cycle is refused): next to the field.
            try:
                services.check_decile_decision(
                    household_id=household_id, effective_from=effective_from
                )
            except ValidationError as exc:
                self.add_error(None, exc)
        return cleaned


class DecileAssignmentInline(admin.TabularInline):
    """The decile history: past rows are never edited; an officer adds a new row with a reason."""

    model = DecileAssignment
    form = DecileAssignmentForm
    fields = ["decile", "effective_from", "source", "reason", "created_by", "created_at"]
    readonly_fields = ["source", "created_by", "created_at"]
    extra = 0
    can_delete = False
    ordering = ["-effective_from", "-id"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Household)
class HouseholdAdmin(admin.ModelAdmin):
    list_display = [
        "registry_code",
        "head_name",
        "province",
        "city",
        "current_decile_display",
        "view_360",
    ]
    list_filter = [CurrentDecileFilter, "province"]
    search_fields = ["registry_code"]
    search_help_text = "کد ملی یا شماره همراه هر یک از اعضا، یا شناسه خانوار"
    list_select_related = ["province", "city"]
    autocomplete_fields = ["province", "city"]
    readonly_fields = ["registry_code", "created_at", "updated_at"]
    inlines = [PersonInline, DecileAssignmentInline]
    show_full_result_count = False
    paginator = CappedCountPaginator
    list_per_page = 50
    change_list_template = "admin/households/household/change_list.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Household]:
        today = timezone.localdate()
        return (
            super()
            .get_queryset(request)
            .annotate(current_decile=selectors.decile_on_subquery(on_date=today))
            .prefetch_related("members")
        )

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Household], search_term: str
    ) -> tuple[QuerySet[Household], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        ids = selectors.household_ids_matching(term=term)
        return queryset.filter(pk__in=ids) | queryset.filter(registry_code=term), False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # households arrive from the registry import

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="سرپرست")
    def head_name(self, household: Household) -> str:
        head = next((m for m in household.members.all() if m.is_head), None)
        return head.full_name if head else "—"

    @admin.display(description="دهک کنونی", ordering="current_decile")
    def current_decile_display(self, household: Household) -> str:
        return str(getattr(household, "current_decile", "") or "—")

    @admin.display(description="نمای ۳۶۰°")
    def view_360(self, household: Household) -> str:
        url = reverse("backoffice:household", args=[household.pk])  # kalabarg.backoffice's page
        return format_html('<a href="{}">نمای ۳۶۰°</a>', url)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not DecileAssignment:
            return super().save_formset(request, form, formset, change)
        # Past rows are never edited; each new row goes through the service (audit author, reason).
        add_inline_rows(
            request,
            formset,
            create=lambda data: services.assign_decile(
                household=form.instance,
                decile=data["decile"],
                effective_from=data["effective_from"],
                source=DecileSource.OFFICER,
                reason=data["reason"],
                created_by=officer(request),
            ),
            refused="دهک ثبت نشد",
        )
        return None

    def get_urls(self) -> list[Any]:
        custom = [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="households_household_import",
            ),
        ]
        return custom + super().get_urls()

    def import_view(self, request: HttpRequest) -> HttpResponse:
        """Upload of a registry CSV; small files are applied at once, larger ones need the command."""

        def apply(stream: TextIO) -> tuple[dict[str, Any], int, str]:
            result = import_households(stream=stream)
            report = io.StringIO()
            write_error_report(errors=result.errors, stream=report)
            return (
                {
                    "result": result,
                    "rows": result.errors[:200],
                    "report_csv": report.getvalue(),
                    "report_name": "import-errors.csv",
                },
                messages.WARNING if result.errors else messages.SUCCESS,
                f"{result.rows_read} سطر خوانده شد، {result.rows_applied} سطر اعمال شد، "
                f"{result.rows_rejected} سطر رد شد.",
            )

        return csv_upload_view(
            self,
            request,
            permission="households.change_household",
            refused="اجازه بارگذاری فایل خانوارها را ندارید",
            title="بارگذاری فایل خانوارها",
            template="admin/households/household/import.html",
            form_class=ImportForm,
            apply=apply,
        )


def csv_upload_view(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    *,
    permission: str,
    refused: str,
    title: str,
    template: str,
    form_class: type["ImportForm"],
    apply: Callable[[TextIO], tuple[dict[str, Any], int, str]],
) -> HttpResponse:
    """The admin's upload page of a registry-style CSV (households, bank cards): the permission,
    the size and type checks of ``form_class``, then ``apply`` on the file's text, whose answer
    is (what the page shows, message level, message); a file the importer refuses whole is an
    error on the file field."""
    if not request.user.has_perm(permission):
        messages.error(request, refused)
        return render(
            request,
            template,
            {"form": form_class(), **modeladmin.admin_site.each_context(request)},
            status=403,
        )
    context: dict[str, Any] = {
        **modeladmin.admin_site.each_context(request),
        "opts": modeladmin.model._meta,
        "title": title,
    }
    form = form_class(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            shown, level, message = apply(
                io.TextIOWrapper(upload.file, encoding="utf-8", newline="")
            )
        except ImportFileError as exc:
            form.add_error("file", str(exc))
        else:
            context.update(shown)
            messages.add_message(request, level, message)
    context["form"] = form
    return render(request, template, context)


class ImportForm(forms.Form):
    file = forms.FileField(label="فایل CSV خانوارها (UTF-8)")
    command = "import_households"

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > ADMIN_IMPORT_MAX_BYTES:
            raise ValidationError(
                f"این فایل برای بارگذاری در پیشخوان بزرگ است؛ آن را با فرمان {self.command} بارگذاری کنید",
                code="file_too_large",
            )
        if not upload.name.lower().endswith(".csv"):
            raise ValidationError("فایل باید CSV باشد", code="file_not_csv")
        return upload


class BankCardInline(admin.TabularInline):
    model = BankCard
    fields = ["masked_number", "bank_name", "status", "registered_at"]
    readonly_fields = ["masked_number", "bank_name", "registered_at"]
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="شماره کارت")
    def masked_number(self, card: BankCard) -> str:
        return card.masked

    @admin.display(description="بانک")
    def bank_name(self, card: BankCard) -> str:
        return card.bank


class PersonAdminForm(forms.ModelForm):
    new_card_number = forms.CharField(
        label="ثبت کارت بانکی جدید",
        required=False,
        help_text="۱۶ رقم کارت؛ فقط درهم‌سازی، پیش‌شماره و چهار رقم آخر نگه داشته می‌شود",
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )

    class Meta:
        model = Person
        fields = ["first_name", "last_name", "birth_date", "gender", "mobile"]

    def clean_mobile(self) -> str:
        mobile = (self.cleaned_data.get("mobile") or "").strip()
        if not mobile:
            if self.instance.is_head:
                raise ValidationError(
                    "شماره همراه سرپرست خانوار لازم است", code="head_mobile_required"
                )
            return ""
        return clean_identifier(mobile, normalize_mobile)

    def clean_new_card_number(self) -> str:
        number = (self.cleaned_data.get("new_card_number") or "").strip()
        if not number:
            return ""
        card = clean_identifier(number, normalize_card_number)
        registered = selectors.card_by_number(card_number=card.number)
        if registered is not None and registered.person_id != self.instance.pk:
            raise ValidationError(
                "این کارت به نام فرد دیگری ثبت شده است", code="card_registered_to_other"
            )
        return card.number


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin):
    form = PersonAdminForm
    list_display = ["national_code", "first_name", "last_name", "relation", "household", "mobile"]
    search_fields = ["national_code"]
    search_help_text = "کد ملی یا شماره همراه"
    readonly_fields = [
        "national_code",
        "household",
        "relation",
        "is_head",
        "created_at",
        "updated_at",
    ]
    fields = [
        "national_code",
        "household",
        "relation",
        "is_head",
        "first_name",
        "last_name",
        "birth_date",
        "gender",
        "mobile",
        "new_card_number",
        "created_at",
        "updated_at",
    ]
    raw_id_fields = ["household"]
    list_select_related = ["household"]
    inlines = [BankCardInline]
    show_full_result_count = False
    paginator = CappedCountPaginator

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Person], search_term: str
    ) -> tuple[QuerySet[Person], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        ids = selectors.household_ids_matching(term=term)
        return queryset.filter(household_id__in=ids), False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Person, form: Any, change: bool) -> None:
        if change:
            # Through the service: a new mobile signs out whoever is signed in by the old one.
            services.change_mobile(person=obj, mobile=form.cleaned_data.get("mobile") or "")
        super().save_model(request, obj, form, change)
        number = form.cleaned_data.get("new_card_number")
        if number:
            card = services.register_card(person=obj, card_number=number)
            messages.success(request, f"کارت {card.masked} ثبت شد.")


class CardImportForm(ImportForm):
    file = forms.FileField(label="فایل CSV کارت‌های بانکی (UTF-8)")
    command = "import_bank_cards"


@admin.register(BankCard)
class BankCardAdmin(admin.ModelAdmin):
    """Cards by owner; the banks' card-owner file is uploaded here (``households.card_import``)."""

    list_display = ["masked_number", "bank_name", "status", "person", "registered_at"]
    list_filter = ["status"]
    search_fields = ["person__national_code"]
    search_help_text = "کد ملی دارنده"
    list_select_related = ["person"]
    fields = ["masked_number", "bank_name", "person", "status", "registered_at"]
    readonly_fields = ["masked_number", "bank_name", "person", "registered_at"]
    show_full_result_count = False
    paginator = CappedCountPaginator
    change_list_template = "admin/households/bankcard/change_list.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # cards arrive from the banks' file or an officer on the person's page

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a bank closes a card; it is never deleted

    @admin.display(description="شماره کارت")
    def masked_number(self, card: BankCard) -> str:
        return card.masked

    @admin.display(description="بانک")
    def bank_name(self, card: BankCard) -> str:
        return card.bank

    def get_urls(self) -> list[Any]:
        custom = [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="households_bankcard_import",
            ),
        ]
        return custom + super().get_urls()

    def import_view(self, request: HttpRequest) -> HttpResponse:
        """Upload of a card-owner CSV; small files are applied at once, larger ones need the command."""

        def apply(stream: TextIO) -> tuple[dict[str, Any], int, str]:
            result = import_bank_cards(stream=stream, overlap=False)  # small: no thread
            rows = result.report_rows()
            report = io.StringIO()
            write_error_report(errors=rows, stream=report)
            return (
                {
                    "result": result,
                    "rows": rows[:200],
                    "report_csv": report.getvalue(),
                    "report_name": "card-import-report.csv",
                },
                messages.WARNING if result.errors else messages.SUCCESS,
                f"{result.rows_read} سطر خوانده شد، {result.rows_applied} سطر اعمال شد، "
                f"{result.rows_rejected} سطر رد شد، {len(result.moved)} کارت جابه‌جا شد.",
            )

        return csv_upload_view(
            self,
            request,
            permission="households.change_bankcard",
            refused="اجازه بارگذاری فایل کارت‌ها را ندارید",
            title="بارگذاری فایل کارت‌های بانکی",
            template="admin/households/bankcard/import.html",
            form_class=CardImportForm,
            apply=apply,
        )
