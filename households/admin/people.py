"""Officer admin for people and their bank cards: a new mobile or card is a four-eyes request;
the banks' card-owner file is uploaded here."""

import contextlib
import io
from typing import Any, TextIO

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import path

from approvals.services import pending_for
from households import approvals as four_eyes
from households import selectors, services
from households.admin.uploads import CardImportForm, csv_upload_view
from households.card_import import hash_card_file
from households.importer import write_error_report
from households.models import BankCard, Person
from kalabarg.lib.admin_fields import clean_identifier
from kalabarg.lib.admin_paging import CappedCountPaginator
from kalabarg.lib.identifiers import (
    IdentifierError,
    normalize_card_number,
    normalize_mobile,
    normalize_national_code,
)


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
        help_text=(
            "۱۶ رقم کارت؛ فقط درهم‌سازی، پیش‌شماره و چهار رقم آخر نگه داشته می‌شود. "
            "کارت پس از تأیید کارشناس دیگری ثبت می‌شود"
        ),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )

    class Meta:
        model = Person
        fields = ["first_name", "last_name", "birth_date", "gender", "mobile"]
        help_texts = {"mobile": "شماره تازه پس از تأیید کارشناس دیگری جایگزین می‌شود"}

    def clean_mobile(self) -> str:
        mobile = (self.cleaned_data.get("mobile") or "").strip()
        if not mobile:
            if self.instance.is_head:
                raise ValidationError(
                    "شماره همراه سرپرست خانوار لازم است", code="head_mobile_required"
                )
            cleaned = ""
        else:
            cleaned = clean_identifier(mobile, normalize_mobile)
        if (
            self.instance.pk
            and cleaned != self.instance.mobile
            and pending_for(target=self.instance, kind=four_eyes.MOBILE)
        ):
            raise ValidationError(
                "درخواست دیگری برای شماره همراه این فرد در انتظار تأیید است؛ نخست آن بررسی شود",
                code="change_already_pending",
            )
        return cleaned

    def clean_new_card_number(self) -> services.CardIdentity | None:
        number = (self.cleaned_data.get("new_card_number") or "").strip()
        if not number:
            return None
        try:
            card = services.card_identity(card_number=number)
            if services.check_card_for(person=self.instance, card=card) is not None:
                raise ValidationError(
                    "این کارت پیش‌تر برای همین فرد ثبت شده است", code="card_already_registered"
                )
        except ValidationError as exc:
            raise ValidationError(exc.messages[0], code=_first_code(exc)) from exc
        if pending_for(target=self.instance, kind=four_eyes.CARD):
            raise ValidationError(
                "درخواست دیگری برای ثبت کارت این فرد در انتظار تأیید است؛ نخست آن بررسی شود",
                code="change_already_pending",
            )
        return card  # its hash, BIN and last four: the number itself goes no further


def _first_code(exc: ValidationError) -> str | None:
    errors = exc.error_dict if hasattr(exc, "error_dict") else {"": exc.error_list}
    return next((error.code for errors_ in errors.values() for error in errors_), None)


# A new mobile or card is a request of its own (approvals), not a change of the person.
_REQUESTED_FIELDS = ("mobile", "new_card_number")


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
        "pending_changes",
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
        "pending_changes",
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

    @admin.display(description="در انتظار تأیید")
    def pending_changes(self, person: Person) -> str:
        return four_eyes.pending_notices(person, four_eyes.MOBILE, four_eyes.CARD)

    def save_model(self, request: HttpRequest, obj: Person, form: Any, change: bool) -> None:
        # The other fields save at once; a new mobile (the login factor) and a new card are
        # requests a second officer approves (households.approvals): neither is written here.
        stored = Person.objects.get(pk=obj.pk) if change else None
        plain = [name for name in form.changed_data if name not in _REQUESTED_FIELDS]
        if stored is not None:
            obj.mobile = stored.mobile
            if plain:
                obj.save(update_fields=[*plain, "updated_at"])
        else:
            super().save_model(request, obj, form, change)
        mobile = form.cleaned_data.get("mobile") or ""
        if stored is not None and "mobile" in form.changed_data and mobile != stored.mobile:
            four_eyes.propose_mobile(request, person=obj, mobile=mobile)
        card = form.cleaned_data.get("new_card_number")
        if card is not None:
            four_eyes.propose_card(request, person=obj, card=card)

    def construct_change_message(
        self, request: HttpRequest, form: Any, formsets: Any, add: bool = False
    ) -> list[dict[str, Any]]:
        requested = {str(form.fields[name].label) for name in _REQUESTED_FIELDS}
        message = []
        for entry in super().construct_change_message(request, form, formsets, add):
            changed = entry.get("changed")
            if changed is not None and "fields" in changed:
                fields = [f for f in changed["fields"] if f not in requested]
                if not fields:
                    continue
                entry = {"changed": {**changed, "fields": fields}}
            message.append(entry)
        return message


@admin.register(BankCard)
class BankCardAdmin(admin.ModelAdmin):
    """Cards by owner; the banks' card-owner file is uploaded here (``households.card_import``)."""

    list_display = ["masked_number", "bank_name", "status", "person", "registered_at"]
    list_filter = ["status"]
    search_fields = ["person__national_code"]
    search_help_text = "کد ملی یا شماره همراه دارنده، یا شماره کامل کارت"
    list_select_related = ["person"]
    fields = ["masked_number", "bank_name", "person", "status", "registered_at"]
    readonly_fields = ["masked_number", "bank_name", "person", "registered_at"]
    show_full_result_count = False
    paginator = CappedCountPaginator
    change_list_template = "admin/households/bankcard/change_list.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # cards arrive from the banks' file or an officer on the person's page

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[BankCard], search_term: str
    ) -> tuple[QuerySet[BankCard], bool]:
        """A holder's national code or mobile (the people's indexes), or a whole
        card number (its keyed hash): exact matches on indexed columns, never a scan of the
        millions of cards by a fragment of a joined column."""
        term = search_term.strip()
        if not term:
            return queryset, False
        with contextlib.suppress(IdentifierError):  # not a card number: a holder's code or mobile
            found = selectors.card_by_number(card_number=normalize_card_number(term).number)
            return (queryset.filter(pk=found.pk) if found else queryset.none()), False
        holders: list[int] = []
        for field, normalizer in (
            ("national_code", normalize_national_code),
            ("mobile", normalize_mobile),
        ):
            with contextlib.suppress(IdentifierError):
                value = normalizer(term)
                holders += Person.objects.filter(**{field: value}).values_list("pk", flat=True)[
                    :100
                ]
        return queryset.filter(person_id__in=holders), False

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
        """Upload of a card-owner CSV: read and checked now, kept in its hashed form (no card
        number) as a request, imported once a second officer approves it."""

        def apply(stream: TextIO, name: str) -> tuple[dict[str, Any], int, str] | None:
            hashed = hash_card_file(stream=stream)
            report = io.StringIO()
            write_error_report(errors=hashed.errors, stream=report)
            shown: dict[str, Any] = {
                "counts": [
                    ("سطرهای خوانده‌شده", hashed.rows_read),
                    ("سطرهای درست (در انتظار تأیید)", hashed.rows_kept),
                    ("سطرهای ردشده", len(hashed.errors)),
                ],
                "rows": hashed.errors[:200],
                "report_csv": report.getvalue(),
                "report_name": "card-file-errors.csv",
            }
            if not hashed.rows_kept:
                return shown, messages.ERROR, "هیچ سطر درستی در این فایل نیست؛ درخواستی ثبت نشد."
            change = four_eyes.propose_card_upload(request, file_name=name, hashed=hashed)
            if change is None:
                return shown, messages.WARNING, ""
            return {**shown, "change": change}, messages.INFO, ""

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
