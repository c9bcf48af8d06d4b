"""Officer admin for the registry: find a household among millions by any member's code or
mobile; its decile history, where a new row is a four-eyes request."""

from typing import Any, TextIO

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from approvals.models import ChangeRequest
from approvals.services import pending_for
from households import approvals as four_eyes
from households import selectors, services
from households.admin.uploads import ImportForm, csv_download, csv_upload_view
from households.importer import check_file, read_upload_text
from households.models import City, DecileAssignment, Household, ImportReport, Person, Province
from kalabarg.lib.admin_paging import CappedCountPaginator


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
    list_select_related = ["province", "city__province"]
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

    @admin.display(description="نمای ۳۶۰°")
    def view_360(self, household: Household) -> str:
        url = reverse("backoffice:household", args=[household.pk])  # kalabarg.backoffice's page
        return format_html('<a href="{}">نمای ۳۶۰°</a>', url)

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
        """An upload's request, for who may see the queue of requests and the registry (the file
        and its report name households and their members)."""
        if not request.user.has_perms(
            ["approvals.view_changerequest", "households.view_household"]
        ):
            raise PermissionDenied
        return get_object_or_404(
            ChangeRequest,
            pk=change_id,
            kind__in=[four_eyes.REGISTRY_UPLOAD, four_eyes.CARD_UPLOAD],
        )

    def import_report_view(self, request: HttpRequest, change_id: int) -> HttpResponse:
        """The report (CSV) of an upload applied on approval."""
        change = self._upload_request(request, change_id)
        report = get_object_or_404(ImportReport, change_request=change)
        return csv_download(report.report_csv, f"request-{change.pk}-{report.file_name}")

    def import_file_view(self, request: HttpRequest, change_id: int) -> HttpResponse:
        """The file an upload's request holds (the bank-card file in its hashed form only), so
        the second officer can read what they approve."""
        change = self._upload_request(request, change_id)
        return csv_download(change.attachment, f"request-{change.pk}.csv")

    def import_view(self, request: HttpRequest) -> HttpResponse:
        """Upload of a registry CSV: it becomes a request, imported once a second officer
        approves it; larger files need the command."""

        def apply(stream: TextIO, name: str) -> tuple[dict[str, Any], int, str] | None:
            text = read_upload_text(stream=stream)
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
