"""Stores: registered through the service, connected and suspended only by the list's actions.

Suspension asks for a reason and records who; a store's terminals are added on its page (their
status and keys are handled on the terminals' own pages). A new Sheba of an existing store is a
request for a second officer (``stores.approvals.STORE_SHEBA``, with a reason); the other fields
save at once. A new store is registered with its Sheba at once: it is pending, so it can neither
sell nor be paid until an officer connects it. The page lists the store's anomaly flags (open
first), each linked to its own page, to whoever may see flags.
"""

import functools
import operator
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html

from approvals import services as approval_services
from approvals.proposing import pending_notice, propose
from kalabarg.lib import admin_display as show
from kalabarg.lib.admin_fields import clean_identifier, identifier_field, typed_terminal_id
from kalabarg.lib.admin_paging import CappedCountPaginator
from kalabarg.lib.admin_writes import add_inline_rows, adopt_row
from kalabarg.lib.identifiers import (
    IdentifierError,
    normalize_mobile,
    normalize_national_code,
    normalize_sheba,
)
from kalabarg.lib.persian import normalize_text, to_latin_digits, to_persian_digits
from stores import services
from stores.admin.actions import too_many, with_reason
from stores.admin.flags import flags_table
from stores.admin.terminals import TerminalForm
from stores.approvals import STORE_SHEBA, sheba_payload
from stores.models import Store, StoreStatus, Terminal


class StoreAdminForm(forms.ModelForm):
    owner_national_code = identifier_field("کد ملی مالک", inputmode="numeric")
    sheba = identifier_field("شماره شبا")
    mobile = identifier_field("تلفن همراه", inputmode="tel")
    sheba_reason = forms.CharField(
        label="دلیل تغییر شبا",
        max_length=500,
        required=False,  # only when the Sheba changes: ``clean`` asks for it then
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text="فقط اگر شبا را تغییر می‌دهید؛ شبای تازه پس از تأیید کارشناس دیگری اعمال می‌شود.",
    )

    class Meta:
        model = Store
        fields = [
            "name",
            "owner_national_code",
            "owner_name",
            "licence_number",
            "tax_code",
            "sheba",
            "mobile",
            "province",
            "city",
            "address",
            "latitude",
            "longitude",
        ]

    def clean_name(self) -> str:
        name = normalize_text(self.cleaned_data.get("name") or "")
        if not name:
            raise ValidationError("نام فروشگاه را وارد کنید", code="name_required")
        return name

    def clean_owner_national_code(self) -> str:
        return clean_identifier(
            self.cleaned_data.get("owner_national_code"), normalize_national_code
        )

    def clean_sheba(self) -> str:
        return clean_identifier(self.cleaned_data.get("sheba"), normalize_sheba)

    def clean_sheba_reason(self) -> str:
        return (self.cleaned_data.get("sheba_reason") or "").strip()

    def clean_mobile(self) -> str:
        return clean_identifier(self.cleaned_data.get("mobile"), normalize_mobile)

    def clean_licence_number(self) -> str:
        licence = to_latin_digits(self.cleaned_data.get("licence_number") or "").strip()
        if not licence:
            raise ValidationError("شماره پروانه کسب را وارد کنید", code="licence_required")
        taken = Store.objects.filter(licence_number=licence).exclude(pk=self.instance.pk)
        if taken.exists():
            raise ValidationError("فروشگاهی با این شماره پروانه ثبت شده است", code="licence_taken")
        return licence

    def clean_tax_code(self) -> str:
        return to_latin_digits(self.cleaned_data.get("tax_code") or "").strip()

    def clean_address(self) -> str:
        return normalize_text(self.cleaned_data.get("address") or "")

    def sheba_is_changing(self) -> bool:
        """An existing store's Sheba typed differently (after normalising): a four-eyes request."""
        return bool(
            self.instance.pk
            and "sheba" in self.fields
            and self.cleaned_data.get("sheba")
            and self.cleaned_data["sheba"] != self.initial.get("sheba")
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.sheba_is_changing():
            waiting = approval_services.pending_for(target=self.instance, kind=STORE_SHEBA)
            if waiting is not None:
                self.add_error(
                    "sheba",
                    ValidationError(
                        f"تغییر شبای این فروشگاه (درخواست شماره {to_persian_digits(waiting.pk)}) "
                        "در انتظار تأیید است؛ نخست آن تأیید یا رد شود",
                        code="change_already_pending",
                    ),
                )
            elif not cleaned.get("sheba_reason"):
                self.add_error(
                    "sheba_reason",
                    ValidationError("دلیل تغییر شبا را بنویسید", code="reason_required"),
                )
        province, city = cleaned.get("province"), cleaned.get("city")
        if province is not None and city is not None and city.province_id != province.pk:
            self.add_error(
                "city",
                ValidationError("این شهر در استان انتخاب‌شده نیست", code="city_not_in_province"),
            )
        latitude, longitude = cleaned.get("latitude"), cleaned.get("longitude")
        if "latitude" in self.errors or "longitude" in self.errors:
            return cleaned
        if (latitude is None) != (longitude is None):
            self.add_error(
                "latitude",
                ValidationError(
                    "عرض و طول جغرافیایی را با هم وارد کنید", code="location_incomplete"
                ),
            )
        elif (
            latitude is not None
            and longitude is not None
            and not (24 <= latitude <= 40 and 44 <= longitude <= 64)
        ):
            self.add_error(
                "latitude",
                ValidationError("این مختصات در ایران نیست", code="location_outside_iran"),
            )
        return cleaned


class TerminalInline(admin.TabularInline):
    """The store's terminals. Status and keys are handled on the terminal's own page."""

    model = Terminal
    form = TerminalForm
    fields = ["terminal_id", "psp_name", "status", "api_key_issued_at"]
    readonly_fields = ["status", "api_key_issued_at"]
    extra = 0
    can_delete = False
    show_change_link = True

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def store_search(term: str) -> Q | None:
    """What an officer typed into the store search box, as a condition on indexed columns.

    An 8-digit terminal id, an owner national code, a Sheba or a mobile (any digits, spaces,
    dashes) match exactly; anything else is a fragment of the store's name. ``None``: no term.
    """
    term = term.strip()
    if not term:
        return None
    terminal_id = typed_terminal_id(term)
    conditions: list[Q] = []
    if terminal_id is not None:
        # A short list of ids keeps the OR on primary-key and column indexes (no join, no scan).
        store_ids = list(
            Terminal.objects.filter(terminal_id=terminal_id).values_list("store_id", flat=True)
        )
        conditions.append(Q(pk__in=store_ids))
    for field, normalizer in (
        ("owner_national_code", normalize_national_code),
        ("sheba", normalize_sheba),
        ("mobile", normalize_mobile),
    ):
        try:
            conditions.append(Q(**{field: normalizer(term)}))
        except IdentifierError:
            continue
    if not conditions:
        conditions.append(Q(name__icontains=normalize_text(term)))
    return functools.reduce(operator.or_, conditions)


@admin.register(Store)
class StoreAdmin(admin.ModelAdmin):
    form = StoreAdminForm
    list_display = ["name", "province", "city", "status", "connected_at_display"]
    list_filter = ["status", "province"]
    search_fields = ["name"]  # shows the box; get_search_results decides what the term is
    search_help_text = (
        "بخشی از نام فروشگاه، شناسه ۸ رقمی پایانه، کد ملی مالک، شماره شبا یا تلفن همراه"
    )
    list_select_related = ["province", "city__province"]
    autocomplete_fields = ["province", "city"]
    readonly_fields = [
        "status",
        "status_reason",
        "status_changed_by",
        "status_changed_at_display",
        "connected_at_display",
        "created_at_display",
        "flags_display",
        "settlements_link",
    ]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "name",
                    "owner_national_code",
                    "owner_name",
                    "licence_number",
                    "tax_code",
                    "sheba",
                    "mobile",
                ]
            },
        ),
        ("نشانی", {"fields": ["province", "city", "address", "latitude", "longitude"]}),
        (
            "وضعیت در طرح",
            {
                "fields": [
                    "status",
                    "status_reason",
                    "status_changed_by",
                    "status_changed_at_display",
                    "connected_at_display",
                    "created_at_display",
                    "settlements_link",
                ],
                "description": "وضعیت فقط با اقدام‌های «اتصال» و «تعلیق» در فهرست فروشگاه‌ها تغییر می‌کند.",
            },
        ),
    ]
    inlines = [TerminalInline]
    actions = ["connect_stores", "suspend_stores"]
    change_form_template = "admin/pending_change_form.html"
    show_full_result_count = False
    paginator = CappedCountPaginator
    list_per_page = 50

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Store], search_term: str
    ) -> tuple[QuerySet[Store], bool]:
        condition = store_search(search_term)
        if condition is None:
            return queryset, False
        return queryset.filter(condition), False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # purchases and settlements refer to stores; suspend instead

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return self.fieldsets
        # An existing store's page also asks why, should the officer change its Sheba.
        first, *rest = self.fieldsets
        fields = [*first[1]["fields"]]
        fields.insert(fields.index("sheba") + 1, "sheba_reason")
        fieldsets = [(first[0], {**first[1], "fields": fields}), *rest]
        if request.user.has_perm("stores.view_storeflag"):
            fieldsets.append(
                (
                    "هشدارهای بررسی (خریدهای نامعمول)",
                    {
                        "fields": ["flags_display"],
                        "description": "هشدارها را کار شبانه از روی خریدها ثبت می‌کند و "
                        "خودبه‌خود چیزی را مسدود نمی‌کنند؛ هر هشدار را در صفحه خودش با ذکر دلیل ببندید.",
                    },
                )
            )
        return fieldsets

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        store = self.get_object(request, unquote(object_id))
        context = {**(extra_context or {})}
        if store is not None:
            context["pending_notice"] = pending_notice(store, kind=STORE_SHEBA)
        return super().change_view(request, object_id, form_url, context)

    @admin.display(description="تاریخ اتصال", ordering="connected_at")
    def connected_at_display(self, store: Store) -> str:
        return show.when(store.connected_at)

    @admin.display(description="زمان تغییر وضعیت")
    def status_changed_at_display(self, store: Store) -> str:
        return show.when(store.status_changed_at)

    @admin.display(description="ثبت")
    def created_at_display(self, store: Store) -> str:
        return show.when(store.created_at)

    @admin.display(description="هشدارها (باز، سپس تازه‌ترین)")
    def flags_display(self, store: Store) -> str:
        return flags_table(store)

    @admin.display(description="تسویه‌ها")
    def settlements_link(self, store: Store) -> str:
        # By URL name only: stores sit below settlements and never import them.
        if store.pk is None:
            return "—"
        url = reverse("admin:settlements_storesettlement_changelist")
        return format_html(
            '<a href="{}?store__id__exact={}">تسویه‌های این فروشگاه</a>', url, store.pk
        )

    def save_model(self, request: HttpRequest, obj: Store, form: Any, change: bool) -> None:
        if change:
            # Identity and address only: the status fields are read-only in this form. A new
            # Sheba waits for a second officer; the store keeps its Sheba until then.
            if form.sheba_is_changing():
                asked = obj.sheba
                obj.sheba = Store.objects.values_list("sheba", flat=True).get(pk=obj.pk)
                super().save_model(request, obj, form, change)
                propose(
                    request,
                    kind=STORE_SHEBA,
                    summary=f"تغییر شبای فروشگاه «{obj.name}»",
                    payload=sheba_payload(store=obj, sheba=asked),
                    target=obj,
                    reason=form.cleaned_data["sheba_reason"],
                )
                # The history line lists what was saved: the Sheba was not (the request says it).
                for field in ("sheba", "sheba_reason"):
                    if field in form.changed_data:
                        form.changed_data.remove(field)
                return
            super().save_model(request, obj, form, change)
            return
        data = form.cleaned_data
        created = services.register_store(
            name=data["name"],
            owner_national_code=data["owner_national_code"],
            owner_name=data["owner_name"],
            licence_number=data["licence_number"],
            tax_code=data["tax_code"],
            sheba=data["sheba"],
            mobile=data["mobile"],
            province=data["province"],
            city=data["city"],
            address=data["address"],
            latitude=data.get("latitude"),
            longitude=data.get("longitude"),
        )
        adopt_row(obj, created)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not Terminal:
            return super().save_formset(request, form, formset, change)
        # A refusal here is a race: the same id registered since the form was checked.
        terminals = add_inline_rows(
            request,
            formset,
            create=lambda data: services.create_terminal(
                store=form.instance, terminal_id=data["terminal_id"], psp_name=data["psp_name"]
            ),
            refused="پایانه ثبت نشد",
        )
        for terminal in terminals:
            messages.info(
                request,
                f"پایانه {terminal.terminal_id} ثبت شد؛ از صفحه پایانه‌ها برای آن کلید API صادر کنید.",
            )
        return None

    @admin.action(description="اتصال فروشگاه‌های انتخاب‌شده به طرح", permissions=["change"])
    def connect_stores(self, request: HttpRequest, queryset: QuerySet[Store]) -> None:
        if too_many(self, request, queryset):
            return
        already = queryset.filter(status=StoreStatus.CONNECTED).count()
        connected = 0
        for store in queryset.exclude(status=StoreStatus.CONNECTED):
            services.connect_store(store=store, by=show.officer(request))
            self.log_change(request, store, "اتصال به طرح")
            connected += 1
        text = f"{to_persian_digits(connected)} فروشگاه متصل شد."
        if already:
            text += f" {to_persian_digits(already)} فروشگاه از پیش متصل بود."
        self.message_user(request, text, messages.SUCCESS)

    @admin.action(description="تعلیق فروشگاه‌های انتخاب‌شده (با ذکر دلیل)", permissions=["change"])
    def suspend_stores(
        self, request: HttpRequest, queryset: QuerySet[Store]
    ) -> HttpResponse | None:
        officer = show.officer(request)
        return with_reason(
            self,
            request,
            queryset,
            action="suspend_stores",
            title="تعلیق فروشگاه",
            intro="پایانه‌های این فروشگاه‌ها تا اتصال دوباره هیچ خریدی را نمی‌پذیرند. دلیل تعلیق را بنویسید:",
            apply=lambda store, reason: services.suspend_store(
                store=store, reason=reason, by=officer
            ),
            done="فروشگاه تعلیق شد.",
        )
