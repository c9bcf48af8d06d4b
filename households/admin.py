"""Officer admin for the registry: find a household among millions by any member's code or mobile."""

import io
from collections.abc import Callable
from typing import Any, TextIO

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import path
from django.utils import timezone

from approvals.models import ChangeRequest
from approvals.services import pending_for
from households import approvals as four_eyes
from households import selectors, services
from households.card_import import hash_card_file
from households.importer import (
    ImportFileError,
    check_file,
    read_upload_text,
    write_error_report,
)
from households.models import (
    BankCard,
    City,
    DecileAssignment,
    Household,
    ImportReport,
    Person,
    Province,
)
from kalabarg.lib.admin_fields import clean_identifier
from kalabarg.lib.admin_paging import CappedCountPaginator
from kalabarg.lib.identifiers import normalize_mobile

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
            if self.has_changed() and pending_for(
                target=self.instance.household, kind=four_eyes.DECILE
            ):
                self.add_error(
                    None,
                    ValidationError(
                        "درخواست دیگری برای دهک این خانوار در انتظار تأیید است؛ نخست آن بررسی شود",
                        code="change_already_pending",
                    ),
                )
        return cleaned


class DecileAssignmentInline(admin.TabularInline):
    """The decile history: past rows are never edited; an officer adds a new row with a reason,
    which becomes a request in force once a second officer approves it (four-eyes)."""

    model = DecileAssignment
    form = DecileAssignmentForm
    fields = [
        "decile",
        "effective_from",
        "source",
        "reason",
        "created_by",
        "approved_by",
        "created_at",
    ]
    readonly_fields = ["source", "created_by", "approved_by", "created_at"]
    extra = 0
    can_delete = False
    ordering = ["-effective_from", "-id"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Household)
class HouseholdAdmin(admin.ModelAdmin):
    list_display = ["registry_code", "head_name", "province", "city", "current_decile_display"]
    list_filter = [CurrentDecileFilter, "province"]
    search_fields = ["registry_code"]
    search_help_text = "کد ملی یا شماره همراه هر یک از اعضا، یا شناسه خانوار"
    list_select_related = ["province", "city"]
    autocomplete_fields = ["province", "city"]
    readonly_fields = ["registry_code", "pending_changes", "created_at", "updated_at"]
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

    @admin.display(description="در انتظار تأیید")
    def pending_changes(self, household: Household) -> str:
        return four_eyes.pending_notices(household, four_eyes.DECILE)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not DecileAssignment:
            return super().save_formset(request, form, formset, change)
        # Past rows are never edited; a new row is a request (four-eyes): nothing is written to
        # the history until a second officer approves it (households.approvals).
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for inline_form in formset.forms:
            if inline_form.instance.pk or not inline_form.has_changed():
                continue
            data = inline_form.cleaned_data
            four_eyes.propose_decile(
                request,
                household=form.instance,
                decile=data["decile"],
                effective_from=data["effective_from"],
                reason=data["reason"],
            )
        return None

    def get_urls(self) -> list[Any]:
        custom = [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="households_household_import",
            ),
            path(
                "import/<int:change_id>/report/",
                self.admin_site.admin_view(self.import_report_view),
                name="households_household_import_report",
            ),
            path(
                "import/<int:change_id>/file/",
                self.admin_site.admin_view(self.import_file_view),
                name="households_household_import_file",
            ),
        ]
        return custom + super().get_urls()

    def _upload_request(self, request: HttpRequest, change_id: int) -> ChangeRequest:
        """An upload's request, for who may see the queue of requests."""
        if not request.user.has_perm("approvals.view_changerequest"):
            raise Http404
        return get_object_or_404(
            ChangeRequest,
            pk=change_id,
            kind__in=[four_eyes.REGISTRY_UPLOAD, four_eyes.CARD_UPLOAD],
        )

    def import_report_view(self, request: HttpRequest, change_id: int) -> HttpResponse:
        """The report (CSV) of an upload applied on approval."""
        change = self._upload_request(request, change_id)
        report = get_object_or_404(ImportReport, change_request=change)
        return _csv_download(report.report_csv, f"request-{change.pk}-{report.file_name}")

    def import_file_view(self, request: HttpRequest, change_id: int) -> HttpResponse:
        """The file an upload's request holds (the bank-card file in its hashed form only), so
        the second officer can read what they approve."""
        change = self._upload_request(request, change_id)
        return _csv_download(change.attachment, f"request-{change.pk}.csv")

    def import_view(self, request: HttpRequest) -> HttpResponse:
        """Upload of a registry CSV: it becomes a request, imported once a second officer
        approves it; larger files need the command."""

        def apply(stream: TextIO, name: str) -> tuple[dict[str, Any], int, str] | None:
            text = read_upload_text(stream)
            check_file(text=text)  # a wrong header is an error on the file field
            change = four_eyes.propose_registry_upload(request, file_name=name, text=text)
            if change is None:
                return None  # refused: propose said why
            return {"change": change}, messages.INFO, ""

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


def _csv_download(text: str, file_name: str) -> HttpResponse:
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{file_name}"'
    return response


def csv_upload_view(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    *,
    permission: str,
    refused: str,
    title: str,
    template: str,
    form_class: type["ImportForm"],
    apply: Callable[[TextIO, str], tuple[dict[str, Any], int, str] | None],
) -> HttpResponse:
    """The admin's upload page of a registry-style CSV (households, bank cards): the permission,
    the size and type checks of ``form_class``, then ``apply`` on the file's text and name, which
    makes the request a second officer approves and answers (what the page shows, message level,
    message), or None when the request was refused (its message already said why); a file
    refused whole is an error on the file field."""
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
            answer = apply(io.TextIOWrapper(upload.file, encoding="utf-8", newline=""), upload.name)
        except ImportFileError as exc:
            form.add_error("file", str(exc))
        else:
            if answer is not None:
                shown, level, message = answer
                context.update(shown)
                if message:
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
