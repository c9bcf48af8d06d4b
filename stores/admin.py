"""Officer admin for the basket, its effective-dated prices, stores and their POS terminals.

Every write that matters goes through ``stores.services``: prices are added (never edited),
stores change status only through the connect/suspend actions (suspension asks for a reason and
records who), terminals are created with the service's rules and their API keys are shown once.
"""

import functools
import operator
import re
from collections.abc import Callable
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import InlineModelAdmin
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.html import format_html

from kalabarg.lib.admin_paging import CappedCountPaginator
from kalabarg.lib.admin_reason import confirm_with_reason
from kalabarg.lib.identifiers import (
    IdentifierError,
    normalize_mobile,
    normalize_national_code,
    normalize_sheba,
)
from kalabarg.lib.money import format_money
from kalabarg.lib.persian import (
    format_jalali_datetime,
    normalize_text,
    to_latin_digits,
    to_persian_digits,
)
from stores import selectors, services
from stores.models import (
    BasketItem,
    ItemPrice,
    PriceKind,
    Store,
    StoreStatus,
    Terminal,
    TerminalStatus,
)

# A status action over more rows than this is refused: nothing long runs inside a web request.
MAX_ACTION_ROWS = 500

ITEM_CODE = re.compile(r"[a-z][a-z0-9_]*")
TERMINAL_ID = re.compile(r"[0-9]{8}")


def _officer(request: HttpRequest) -> User:
    """The admin only serves staff users, so the request's user is a real account."""
    return cast(User, request.user)


def _rial(amount: int | None) -> str:
    return "—" if amount is None else format_money(amount, unit="rial")


def _when(value: Any) -> str:
    return format_jalali_datetime(value) if value else "—"


def _only(error: ValidationError, field: str) -> ValidationError:
    """A service's ``{field: [...]}`` error as a plain error, for a ``clean_<field>`` method."""
    if hasattr(error, "error_dict"):
        return ValidationError(error.error_dict.get(field) or error.messages)
    return error


def _identifier(value: str | None, normalizer: Callable[[str], str]) -> str:
    try:
        return normalizer(value or "")
    except IdentifierError as exc:
        raise ValidationError(exc.message, code=exc.code) from exc


def _fa_count(count: int) -> str:
    return to_persian_digits(count)


# --- Reason confirmation for status actions -----------------------------------------------------


def _too_many(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> bool:
    if queryset[: MAX_ACTION_ROWS + 1].count() <= MAX_ACTION_ROWS:
        return False
    modeladmin.message_user(
        request,
        f"در هر بار حداکثر {_fa_count(MAX_ACTION_ROWS)} مورد را انتخاب کنید؛ هیچ موردی تغییر نکرد.",
        messages.ERROR,
    )
    return True


def _with_reason(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet,
    *,
    action: str,
    title: str,
    intro: str,
    apply: Callable[[Any, str], Any],
    done: str,
) -> HttpResponse | None:
    """Ask for a reason on an intermediate page, then ``apply(obj, reason)`` to each selected row.

    The page re-posts the selected ids and the action without ``index``, so Django's changelist
    routes the confirmation back here; an empty reason shows the page again with the error.
    """
    if _too_many(modeladmin, request, queryset):
        return None

    def proceed(reason: str) -> None:
        count = 0
        for obj in queryset:
            apply(obj, reason)
            modeladmin.log_change(request, obj, f"{title} — دلیل: {reason}")
            count += 1
        modeladmin.message_user(request, f"{_fa_count(count)} {done}", messages.SUCCESS)

    return confirm_with_reason(
        modeladmin,
        request,
        objects=list(queryset),
        action=action,
        title=title,
        intro=intro,
        proceed=proceed,
        required_message="دلیل تعلیق را بنویسید",
        help_text="این دلیل در صفحه هر مورد و در تاریخچه آن با نام شما ثبت می‌شود.",
    )


# --- Basket items and prices --------------------------------------------------------------------


class BasketItemForm(forms.ModelForm):
    class Meta:
        model = BasketItem
        fields = ["code", "name", "unit", "group", "is_active", "display_order"]
        help_texts = {
            "code": "شناسه لاتین ثابت قلم (مثلاً cooking_oil)؛ پس از ثبت تغییر نمی‌کند.",
            "is_active": "قلمی را که دیگر در سبد نیست غیرفعال کنید؛ اقلام حذف نمی‌شوند.",
        }

    def clean_code(self) -> str:
        code = (self.cleaned_data.get("code") or "").strip()
        if not ITEM_CODE.fullmatch(code):
            raise ValidationError(
                "کد باید با حرف کوچک لاتین شروع شود و فقط حرف کوچک لاتین، رقم و _ داشته باشد",
                code="item_code_format",
            )
        return code

    def clean_name(self) -> str:
        name = normalize_text(self.cleaned_data.get("name") or "")
        if not name:
            raise ValidationError("نام قلم را وارد کنید", code="name_required")
        return name


class ItemPriceForm(forms.ModelForm):
    """A new price row. Every rule is ``services.validate_new_price``; its errors sit by their field."""

    price_rial = forms.CharField(
        label="قیمت هر واحد (ریال)",
        max_length=32,
        widget=forms.TextInput(attrs={"dir": "ltr", "inputmode": "numeric", "size": 14}),
        error_messages={"required": "قیمت را وارد کنید"},
        help_text="به ریال؛ رقم فارسی و جداکننده هزارگان پذیرفته می‌شود.",
    )
    # Optional in the form so that the service's own message says what is missing.
    reason = forms.CharField(label="دلیل", max_length=500, required=False)

    class Meta:
        model = ItemPrice
        fields = ["item", "kind", "price_rial", "effective_from", "reason"]
        help_texts = {
            "effective_from": "زمانی که پس از آن با قیمت قبلی خرید شده پذیرفته نمی‌شود؛ "
            "برای تغییر فوری زمانی چند دقیقه بعد از اکنون بگذارید.",
        }

    def clean_price_rial(self) -> int:
        try:
            return services.parse_price_rial(self.cleaned_data.get("price_rial", ""))
        except ValidationError as exc:
            raise _only(exc, "price_rial") from exc
        except (ArithmeticError, ValueError):  # "Infinity", "sNaN": not a number a person means
            raise ValidationError("قیمت باید عدد باشد", code="price_not_integer") from None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        # In the item page's inline "item" is the page's item (Django's InlineForeignKeyField).
        item = cleaned.get("item")
        kind = cleaned.get("kind")
        price_rial = cleaned.get("price_rial")
        effective_from = cleaned.get("effective_from")
        if item is None or not kind or price_rial is None or effective_from is None:
            return cleaned  # a field error is already shown
        reason = cleaned.get("reason") or ""
        try:
            services.validate_new_price(
                item=item,
                kind=kind,
                price_rial=price_rial,
                effective_from=effective_from,
                reason=reason,
            )
        except ValidationError as exc:
            self.add_error(None, exc)
        else:
            cleaned["reason"] = reason.strip()
        return cleaned


class ItemPriceInline(admin.TabularInline):
    """The item's price history: rows are never edited or deleted; an officer adds a new row."""

    model = ItemPrice
    form = ItemPriceForm
    fields = [
        "kind",
        "price_rial",
        "effective_from",
        "reason",
        "price_display",
        "created_by",
        "created_at",
    ]
    readonly_fields = ["price_display", "created_by", "created_at"]
    ordering = ["kind", "-effective_from"]
    extra = 0
    can_delete = False
    verbose_name = "قیمت"
    verbose_name_plural = "تاریخچه قیمت‌ها (ردیف‌های ثبت‌شده تغییر نمی‌کنند؛ ردیف تازه بیفزایید)"

    def get_queryset(self, request: HttpRequest) -> QuerySet[ItemPrice]:
        return super().get_queryset(request).select_related("created_by")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="قیمت ثبت‌شده")
    def price_display(self, price: ItemPrice) -> str:
        return _rial(price.price_rial) if price.pk else "—"


@admin.register(BasketItem)
class BasketItemAdmin(admin.ModelAdmin):
    form = BasketItemForm
    list_display = [
        "code",
        "name",
        "unit",
        "group",
        "is_active",
        "base_price_display",
        "current_price_display",
    ]
    list_filter = ["is_active", "group"]
    search_fields = ["code", "name"]
    inlines = [ItemPriceInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[BasketItem]:
        # The prices in force now, as two correlated subqueries: one query for the whole list.
        # The subquery is the selectors' own definition of "in force", so the list and the POS agree.
        now = timezone.now()
        return (
            super()
            .get_queryset(request)
            .annotate(
                base_price_rial_now=selectors.price_in_force_subquery(PriceKind.BASE, now),
                current_price_rial_now=selectors.price_in_force_subquery(PriceKind.CURRENT, now),
            )
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["code"] if obj is not None else []

    def get_inlines(self, request: HttpRequest, obj: Any) -> list[type[InlineModelAdmin]]:
        # A price's rules look at the item's purchases and prices, so the item must exist first.
        return [ItemPriceInline] if obj is not None else []

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # purchases refer to items; retire an item with "فعال" instead

    @admin.display(description="قیمت پایه اکنون", ordering="base_price_rial_now")
    def base_price_display(self, item: BasketItem) -> str:
        return _rial(getattr(item, "base_price_rial_now", None))

    @admin.display(description="قیمت روز اکنون", ordering="current_price_rial_now")
    def current_price_display(self, item: BasketItem) -> str:
        return _rial(getattr(item, "current_price_rial_now", None))

    def save_model(self, request: HttpRequest, obj: BasketItem, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if not change:
            messages.info(request, f"قیمت پایه و قیمت روز «{obj.name}» را در صفحه آن ثبت کنید.")

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not ItemPrice:
            return super().save_formset(request, form, formset, change)
        # Old rows are never edited; each new row goes through the service (author, rules, lock).
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for inline_form in formset.forms:
            if inline_form.instance.pk or not inline_form.has_changed():
                continue
            data = inline_form.cleaned_data
            try:
                price = services.set_price(
                    item=form.instance,
                    kind=data["kind"],
                    price_rial=data["price_rial"],
                    effective_from=data["effective_from"],
                    reason=data["reason"],
                    created_by=_officer(request),
                )
            except ValidationError as exc:
                # Only a race gets here (a purchase or price landed after the form was checked).
                messages.error(request, "قیمت ثبت نشد: " + "؛ ".join(exc.messages))
                continue
            formset.new_objects.append(price)
        return None


@admin.register(ItemPrice)
class ItemPriceAdmin(admin.ModelAdmin):
    """The audit trail of prices: browse and add; a recorded row is never changed or deleted."""

    form = ItemPriceForm
    list_display = [
        "item",
        "kind",
        "price_display",
        "effective_from_display",
        "reason",
        "created_by",
        "created_at_display",
    ]
    list_filter = ["item", "kind"]
    list_select_related = ["item", "created_by"]
    fields = ["item", "kind", "price_rial", "effective_from", "reason", "created_by", "created_at"]
    readonly_fields = ["created_by", "created_at"]
    ordering = ["-created_at", "-id"]
    show_full_result_count = False
    paginator = CappedCountPaginator
    list_per_page = 50

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="قیمت هر واحد", ordering="price_rial")
    def price_display(self, price: ItemPrice) -> str:
        return _rial(price.price_rial)

    @admin.display(description="از", ordering="effective_from")
    def effective_from_display(self, price: ItemPrice) -> str:
        return _when(price.effective_from)

    @admin.display(description="ثبت", ordering="created_at")
    def created_at_display(self, price: ItemPrice) -> str:
        return _when(price.created_at)

    def save_model(self, request: HttpRequest, obj: ItemPrice, form: Any, change: bool) -> None:
        data = form.cleaned_data
        created = services.set_price(
            item=data["item"],
            kind=data["kind"],
            price_rial=data["price_rial"],
            effective_from=data["effective_from"],
            reason=data["reason"],
            created_by=_officer(request),
        )
        # The admin logs and redirects with ``obj``: make it the row the service wrote.
        obj.pk = created.pk
        obj.reason = created.reason
        obj.created_by = created.created_by
        obj.created_at = created.created_at
        obj._state.adding = False


# --- Stores and terminals -----------------------------------------------------------------------


def _identifier_field(label: str, **attrs: str) -> forms.CharField:
    """A lenient text box for an identifier (spaces, dashes, Persian digits); clean_* normalises."""
    return forms.CharField(
        label=label,
        max_length=64,
        required=False,  # the normaliser's own message says what is missing
        widget=forms.TextInput(attrs={"dir": "ltr", "autocomplete": "off", **attrs}),
    )


class StoreAdminForm(forms.ModelForm):
    owner_national_code = _identifier_field("کد ملی مالک", inputmode="numeric")
    sheba = _identifier_field("شماره شبا")
    mobile = _identifier_field("تلفن همراه", inputmode="tel")

    class Meta:
        model = Store
        fields = [
            "name",
            "owner_national_code",
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
        return _identifier(self.cleaned_data.get("owner_national_code"), normalize_national_code)

    def clean_sheba(self) -> str:
        return _identifier(self.cleaned_data.get("sheba"), normalize_sheba)

    def clean_mobile(self) -> str:
        return _identifier(self.cleaned_data.get("mobile"), normalize_mobile)

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

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
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


class TerminalForm(forms.ModelForm):
    """A new terminal passes ``services.validate_new_terminal`` (8 digits, not taken)."""

    terminal_id = forms.CharField(
        label="شناسه پایانه",
        max_length=32,
        required=False,  # the service says what is wrong, whatever the officer typed
        widget=forms.TextInput(attrs={"dir": "ltr", "inputmode": "numeric", "size": 10}),
        help_text="۸ رقم",
    )
    psp_name = forms.CharField(label="شرکت پرداخت (PSP)", max_length=64, required=False)

    class Meta:
        model = Terminal
        fields = ["store", "terminal_id", "psp_name"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        psp_name = (cleaned.get("psp_name") or "").strip()
        if "terminal_id" not in self.fields:  # an existing terminal: only its PSP name can change
            if not psp_name:
                self.add_error(
                    "psp_name",
                    ValidationError("نام شرکت پرداخت را وارد کنید", code="psp_name_required"),
                )
            else:
                cleaned["psp_name"] = psp_name
            return cleaned
        try:
            cleaned["terminal_id"] = services.validate_new_terminal(
                terminal_id=cleaned.get("terminal_id") or "", psp_name=psp_name
            )
        except ValidationError as exc:
            self.add_error(None, exc)
        else:
            cleaned["psp_name"] = psp_name
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
    compact = re.sub(r"[\s\-]", "", to_latin_digits(term))
    conditions: list[Q] = []
    if TERMINAL_ID.fullmatch(compact):
        # A short list of ids keeps the OR on primary-key and column indexes (no join, no scan).
        store_ids = list(
            Terminal.objects.filter(terminal_id=compact).values_list("store_id", flat=True)
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
    list_select_related = ["province", "city"]
    autocomplete_fields = ["province", "city"]
    readonly_fields = [
        "status",
        "status_reason",
        "status_changed_by",
        "status_changed_at_display",
        "connected_at_display",
        "created_at_display",
    ]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "name",
                    "owner_national_code",
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
                ],
                "description": "وضعیت فقط با اقدام‌های «اتصال» و «تعلیق» در فهرست فروشگاه‌ها تغییر می‌کند.",
            },
        ),
    ]
    inlines = [TerminalInline]
    actions = ["connect_stores", "suspend_stores"]
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

    @admin.display(description="تاریخ اتصال", ordering="connected_at")
    def connected_at_display(self, store: Store) -> str:
        return _when(store.connected_at)

    @admin.display(description="زمان تغییر وضعیت")
    def status_changed_at_display(self, store: Store) -> str:
        return _when(store.status_changed_at)

    @admin.display(description="ثبت")
    def created_at_display(self, store: Store) -> str:
        return _when(store.created_at)

    def save_model(self, request: HttpRequest, obj: Store, form: Any, change: bool) -> None:
        if change:
            # Identity and address only: the status fields are read-only in this form.
            super().save_model(request, obj, form, change)
            return
        data = form.cleaned_data
        created = services.register_store(
            name=data["name"],
            owner_national_code=data["owner_national_code"],
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
        # The admin adds the inlines and logs with ``obj``: make it the row the service wrote.
        obj.pk = created.pk
        obj.refresh_from_db()
        obj._state.adding = False

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not Terminal:
            return super().save_formset(request, form, formset, change)
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for inline_form in formset.forms:
            if inline_form.instance.pk or not inline_form.has_changed():
                continue
            data = inline_form.cleaned_data
            try:
                terminal = services.create_terminal(
                    store=form.instance, terminal_id=data["terminal_id"], psp_name=data["psp_name"]
                )
            except ValidationError as exc:
                # Only a race gets here (the same id registered since the form was checked).
                messages.error(request, "پایانه ثبت نشد: " + "؛ ".join(exc.messages))
                continue
            formset.new_objects.append(terminal)
            messages.info(
                request,
                f"پایانه {terminal.terminal_id} ثبت شد؛ از صفحه پایانه‌ها برای آن کلید API صادر کنید.",
            )
        return None

    @admin.action(description="اتصال فروشگاه‌های انتخاب‌شده به طرح", permissions=["change"])
    def connect_stores(self, request: HttpRequest, queryset: QuerySet[Store]) -> None:
        if _too_many(self, request, queryset):
            return
        already = queryset.filter(status=StoreStatus.CONNECTED).count()
        connected = 0
        for store in queryset.exclude(status=StoreStatus.CONNECTED):
            services.connect_store(store=store, by=_officer(request))
            self.log_change(request, store, "اتصال به طرح")
            connected += 1
        text = f"{_fa_count(connected)} فروشگاه متصل شد."
        if already:
            text += f" {_fa_count(already)} فروشگاه از پیش متصل بود."
        self.message_user(request, text, messages.SUCCESS)

    @admin.action(description="تعلیق فروشگاه‌های انتخاب‌شده (با ذکر دلیل)", permissions=["change"])
    def suspend_stores(
        self, request: HttpRequest, queryset: QuerySet[Store]
    ) -> HttpResponse | None:
        officer = _officer(request)
        return _with_reason(
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


@admin.register(Terminal)
class TerminalAdmin(admin.ModelAdmin):
    form = TerminalForm
    list_display = ["terminal_id", "store", "psp_name", "status", "api_key_issued_at_display"]
    list_filter = ["status"]
    search_fields = ["terminal_id"]  # shows the box; get_search_results decides what the term is
    search_help_text = "شناسه ۸ رقمی پایانه یا بخشی از نام فروشگاه"
    list_select_related = ["store"]
    autocomplete_fields = ["store"]
    actions = ["issue_api_key", "suspend_terminals", "activate_terminals"]
    show_full_result_count = False
    paginator = CappedCountPaginator
    list_per_page = 50

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ["store", "terminal_id", "psp_name"]
        return [
            "terminal_id",
            "store",
            "psp_name",
            "status",
            "status_reason",
            "api_key_issued_at_display",
            "created_at_display",
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return []
        # The key starts with the terminal id and money follows the store: neither is edited.
        return [
            "terminal_id",
            "store",
            "status",
            "status_reason",
            "api_key_issued_at_display",
            "created_at_display",
        ]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Terminal], search_term: str
    ) -> tuple[QuerySet[Terminal], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        compact = re.sub(r"[\s\-]", "", to_latin_digits(term))
        if TERMINAL_ID.fullmatch(compact):
            return queryset.filter(terminal_id=compact), False
        return queryset.filter(store__name__icontains=normalize_text(term)), False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # purchases refer to terminals; suspend instead

    @admin.display(description="صدور کلید", ordering="api_key_issued_at")
    def api_key_issued_at_display(self, terminal: Terminal) -> str:
        return _when(terminal.api_key_issued_at) if terminal.api_key_hash else "کلیدی صادر نشده"

    @admin.display(description="ثبت")
    def created_at_display(self, terminal: Terminal) -> str:
        return _when(terminal.created_at)

    def save_model(self, request: HttpRequest, obj: Terminal, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)  # the PSP name only
            return
        data = form.cleaned_data
        created = services.create_terminal(
            store=data["store"], terminal_id=data["terminal_id"], psp_name=data["psp_name"]
        )
        obj.pk = created.pk
        obj.refresh_from_db()
        obj._state.adding = False
        messages.info(request, "برای این پایانه با اقدام «صدور کلید API تازه» کلید صادر کنید.")

    @admin.action(
        description="صدور کلید API تازه (کلید قبلی بی‌درنگ باطل می‌شود)", permissions=["change"]
    )
    def issue_api_key(self, request: HttpRequest, queryset: QuerySet[Terminal]) -> None:
        chosen = list(queryset[:2])
        if len(chosen) != 1:
            self.message_user(
                request,
                "برای صدور کلید دقیقاً یک پایانه را انتخاب کنید؛ کلیدی صادر نشد.",
                messages.ERROR,
            )
            return
        terminal = chosen[0]
        key = services.issue_terminal_key(terminal=terminal)
        self.log_change(request, terminal, "صدور کلید API تازه؛ کلید قبلی باطل شد")
        # Only the hash is stored: this message is the one and only time the key is shown.
        self.message_user(
            request,
            format_html(
                'کلید API تازه پایانه {}: <code dir="ltr">{}</code> — همین حالا آن را کپی کنید؛ '
                "این کلید دوباره نمایش داده نمی‌شود. کلید قبلی دیگر کار نمی‌کند.",
                terminal.terminal_id,
                key,
            ),
            messages.WARNING,
        )

    @admin.action(description="تعلیق پایانه‌های انتخاب‌شده (با ذکر دلیل)", permissions=["change"])
    def suspend_terminals(
        self, request: HttpRequest, queryset: QuerySet[Terminal]
    ) -> HttpResponse | None:
        return _with_reason(
            self,
            request,
            queryset,
            action="suspend_terminals",
            title="تعلیق پایانه",
            intro="این پایانه‌ها تا فعال‌شدن دوباره هیچ خریدی را نمی‌پذیرند. دلیل تعلیق را بنویسید:",
            apply=lambda terminal, reason: services.set_terminal_status(
                terminal=terminal, status=TerminalStatus.SUSPENDED, reason=reason
            ),
            done="پایانه تعلیق شد.",
        )

    @admin.action(description="فعال‌کردن پایانه‌های انتخاب‌شده", permissions=["change"])
    def activate_terminals(self, request: HttpRequest, queryset: QuerySet[Terminal]) -> None:
        if _too_many(self, request, queryset):
            return
        activated = 0
        for terminal in queryset.exclude(status=TerminalStatus.ACTIVE):
            services.set_terminal_status(terminal=terminal, status=TerminalStatus.ACTIVE)
            self.log_change(request, terminal, "فعال‌کردن پایانه")
            activated += 1
        self.message_user(request, f"{_fa_count(activated)} پایانه فعال شد.", messages.SUCCESS)
