"""The basket's items and their effective-dated prices.

Prices are added (never edited or deleted) through ``stores.services.set_price``, with a reason
and the officer's name; the item list shows the prices in force now.
"""

import re
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import InlineModelAdmin
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from kalabarg.lib import admin_display as show
from kalabarg.lib.admin_fields import errors_for
from kalabarg.lib.admin_paging import CappedCountPaginator
from kalabarg.lib.admin_writes import add_inline_rows
from kalabarg.lib.persian import normalize_text
from stores import selectors, services
from stores.models import BasketItem, ItemPrice, PriceKind

ITEM_CODE = re.compile(r"[a-z][a-z0-9_]*")


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
            return services.parse_price_rial(value=self.cleaned_data.get("price_rial", ""))
        except ValidationError as exc:
            raise errors_for(exc, "price_rial") from exc
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
        return show.rial(price.price_rial) if price.pk else "—"


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
                base_price_rial_now=selectors.price_in_force_subquery(kind=PriceKind.BASE, at=now),
                current_price_rial_now=selectors.price_in_force_subquery(
                    kind=PriceKind.CURRENT, at=now
                ),
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
        return show.rial(getattr(item, "base_price_rial_now", None))

    @admin.display(description="قیمت روز اکنون", ordering="current_price_rial_now")
    def current_price_display(self, item: BasketItem) -> str:
        return show.rial(getattr(item, "current_price_rial_now", None))

    def save_model(self, request: HttpRequest, obj: BasketItem, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if not change:
            messages.info(request, f"قیمت پایه و قیمت روز «{obj.name}» را در صفحه آن ثبت کنید.")

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not ItemPrice:
            return super().save_formset(request, form, formset, change)
        # Old rows are never edited; each new row goes through the service (author, rules, lock).
        # A refusal here is a race: a purchase or price landed after the form was checked.
        add_inline_rows(
            request,
            formset,
            create=lambda data: services.set_price(
                item=form.instance,
                kind=data["kind"],
                price_rial=data["price_rial"],
                effective_from=data["effective_from"],
                reason=data["reason"],
                created_by=show.officer(request),
            ),
            refused="قیمت ثبت نشد",
        )
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
        return show.rial(price.price_rial)

    @admin.display(description="از", ordering="effective_from")
    def effective_from_display(self, price: ItemPrice) -> str:
        return show.when(price.effective_from)

    @admin.display(description="ثبت", ordering="created_at")
    def created_at_display(self, price: ItemPrice) -> str:
        return show.when(price.created_at)

    def save_model(self, request: HttpRequest, obj: ItemPrice, form: Any, change: bool) -> None:
        data = form.cleaned_data
        created = services.set_price(
            item=data["item"],
            kind=data["kind"],
            price_rial=data["price_rial"],
            effective_from=data["effective_from"],
            reason=data["reason"],
            created_by=show.officer(request),
        )
        # The admin logs and redirects with ``obj``: make it the row the service wrote.
        obj.pk = created.pk
        obj.reason = created.reason
        obj.created_by = created.created_by
        obj.created_at = created.created_at
        obj._state.adding = False
