"""The basket's items and their effective-dated prices.

Prices are added (never edited or deleted), with a reason and the officer's name. A new price is
a request (four-eyes, ``stores.approvals.ITEM_PRICE``): checked now with the service's rules,
written by ``stores.services.set_price`` only when a second officer approves it. The item list
shows the prices in force now; the item's page shows a request still waiting.
"""

import re
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import InlineModelAdmin
from django.contrib.admin.utils import unquote
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone

from approvals import services as approval_services
from approvals.proposing import pending_notice, propose
from kalabarg.lib import admin_display as show
from kalabarg.lib.admin_fields import errors_for
from kalabarg.lib.admin_paging import CappedCountPaginator
from kalabarg.lib.persian import normalize_text, to_persian_digits
from stores import selectors, services
from stores.approvals import ITEM_PRICE, price_payload
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
    """A new price row. Every rule is ``services.validate_new_price``; its errors sit by their
    field. An item with a price request still waiting takes no other until that one is decided."""

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
            return cleaned
        cleaned["reason"] = reason.strip()
        waiting = approval_services.pending_for(target=item, kind=ITEM_PRICE)
        if waiting is not None:
            self.add_error(
                None,
                ValidationError(
                    f"درخواست قیمت دیگری برای این قلم (شماره {to_persian_digits(waiting.pk)}) "
                    "در انتظار تأیید است؛ نخست آن تأیید یا رد شود",
                    code="change_already_pending",
                ),
            )
        return cleaned


class ItemPriceFormSet(BaseInlineFormSet):
    """The new rows of one save are one request: at most one row of each kind (base, current)."""

    def clean(self) -> None:
        super().clean()
        seen: set[str] = set()
        for form in self.forms:
            if form.instance.pk or not form.has_changed():
                continue
            kind = (getattr(form, "cleaned_data", None) or {}).get("kind")
            if kind in seen:
                form.add_error(
                    "kind",
                    ValidationError(
                        "در هر بار برای هر نوع قیمت (پایه یا روز) یک ردیف بیفزایید",
                        code="price_kind_twice",
                    ),
                )
            elif kind:
                seen.add(kind)


class ItemPriceInline(admin.TabularInline):
    """The item's price history: rows are never edited or deleted; an officer adds a new row."""

    model = ItemPrice
    form = ItemPriceForm
    formset = ItemPriceFormSet
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
    change_form_template = "admin/pending_change_form.html"

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

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        item = self.get_object(request, unquote(object_id))
        context = {**(extra_context or {})}
        if item is not None:
            context["pending_notice"] = pending_notice(item, kind=ITEM_PRICE)
        return super().change_view(request, object_id, form_url, context)

    def save_model(self, request: HttpRequest, obj: BasketItem, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if not change:
            messages.info(request, f"قیمت پایه و قیمت روز «{obj.name}» را در صفحه آن ثبت کنید.")

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not ItemPrice:
            return super().save_formset(request, form, formset, change)
        # Old rows are never edited; the new rows together are one request for a second officer
        # (the item's own fields above are saved at once). A refusal here is a race: a purchase,
        # a price or another request landed after the form was checked.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        rows = [
            inline.cleaned_data
            for inline in formset.forms
            if not inline.instance.pk and inline.has_changed()
        ]
        if rows:
            propose_prices(request, item=form.instance, rows=rows)
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
        # Not written here: a request for a second officer (the add form is the only form).
        data = form.cleaned_data
        propose_prices(request, item=data["item"], rows=[data])

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        return None  # nothing was written, and a price has no related rows

    def log_addition(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        return None  # the request is the record until it is approved (then the item's history)

    def response_add(
        self, request: HttpRequest, obj: ItemPrice, post_url_continue: str | None = None
    ) -> HttpResponse:
        # The item's page shows the request waiting, with a link to it.
        return HttpResponseRedirect(reverse("admin:stores_basketitem_change", args=[obj.item_id]))


def propose_prices(request: HttpRequest, *, item: BasketItem, rows: list[dict[str, Any]]) -> None:
    """Record new price rows of ``item`` as one request for a second officer."""
    kinds = "، ".join(str(PriceKind(row["kind"]).label) for row in rows)
    reasons = dict.fromkeys((row.get("reason") or "").strip() for row in rows)
    propose(
        request,
        kind=ITEM_PRICE,
        summary=f"قیمت تازه «{item.name}» ({kinds})",
        payload=price_payload(rows=rows),
        target=item,
        reason="؛ ".join(reason for reason in reasons if reason),
    )
