"""POS terminals: created with the service's rules (without a key), suspended with a reason.

A new API key is a request for a second officer (``stores.approvals.TERMINAL_KEY``, with a
reason): until it is approved the old key (if any) keeps working and no new key exists; on
approval the key is issued and shown once, to the approving officer.
"""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from approvals.proposing import pending_notice, propose
from kalabarg.lib import admin_display as show
from kalabarg.lib.admin_fields import typed_terminal_id
from kalabarg.lib.admin_paging import CappedCountPaginator
from kalabarg.lib.admin_reason import confirm_with_reason
from kalabarg.lib.admin_writes import adopt_row
from kalabarg.lib.persian import normalize_text, to_persian_digits
from stores import services
from stores.admin.actions import too_many, with_reason
from stores.approvals import TERMINAL_KEY, key_payload
from stores.models import Terminal, TerminalStatus


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


class PaymentCodeBlockedFilter(admin.SimpleListFilter):
    """Terminals refused payment codes now (too many wrong ones this hour), or ever flagged."""

    title = "کد خرید نادرست"
    parameter_name = "payment_code_blocked"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("now", "اکنون متوقف"), ("ever", "تاکنون متوقف‌شده")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Terminal]) -> QuerySet[Terminal]:
        if self.value() == "now":
            return queryset.filter(payment_code_blocked_until__gt=timezone.now())
        if self.value() == "ever":
            return queryset.filter(payment_code_blocked_until__isnull=False)
        return queryset


@admin.register(Terminal)
class TerminalAdmin(admin.ModelAdmin):
    form = TerminalForm
    list_display = [
        "terminal_id",
        "store",
        "psp_name",
        "status",
        "api_key_issued_at_display",
        "payment_code_blocked_display",
    ]
    list_filter = ["status", PaymentCodeBlockedFilter]
    search_fields = ["terminal_id"]  # shows the box; get_search_results decides what the term is
    search_help_text = "شناسه ۸ رقمی پایانه یا بخشی از نام فروشگاه"
    list_select_related = ["store"]
    autocomplete_fields = ["store"]
    actions = ["issue_api_key", "suspend_terminals", "activate_terminals"]
    change_form_template = "admin/pending_change_form.html"
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
            "payment_code_blocked_display",
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
            "payment_code_blocked_display",
            "created_at_display",
        ]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Terminal], search_term: str
    ) -> tuple[QuerySet[Terminal], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        terminal_id = typed_terminal_id(term)
        if terminal_id is not None:
            return queryset.filter(terminal_id=terminal_id), False
        return queryset.filter(store__name__icontains=normalize_text(term)), False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # purchases refer to terminals; suspend instead

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        terminal = self.get_object(request, unquote(object_id))
        context = {**(extra_context or {})}
        if terminal is not None:
            context["pending_notice"] = pending_notice(terminal, kind=TERMINAL_KEY)
        return super().change_view(request, object_id, form_url, context)

    @admin.display(description="صدور کلید", ordering="api_key_issued_at")
    def api_key_issued_at_display(self, terminal: Terminal) -> str:
        return show.when(terminal.api_key_issued_at) if terminal.api_key_hash else "کلیدی صادر نشده"

    @admin.display(description="کد خرید نادرست", ordering="payment_code_blocked_until")
    def payment_code_blocked_display(self, terminal: Terminal) -> str:
        until = terminal.payment_code_blocked_until
        if until is None:
            return "—"
        if until > timezone.now():
            return f"⚠ متوقف تا {show.when(until)}: بیش از حد مجاز کد خرید نادرست"
        return f"پیش‌تر متوقف شد (تا {show.when(until)})"

    @admin.display(description="ثبت")
    def created_at_display(self, terminal: Terminal) -> str:
        return show.when(terminal.created_at)

    def save_model(self, request: HttpRequest, obj: Terminal, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)  # the PSP name only
            return
        data = form.cleaned_data
        created = services.create_terminal(
            store=data["store"], terminal_id=data["terminal_id"], psp_name=data["psp_name"]
        )
        adopt_row(obj, created)
        messages.info(
            request,
            "برای این پایانه با اقدام «درخواست صدور کلید API تازه» کلید بخواهید؛ "
            "کلید پس از تأیید کارشناس دیگری صادر می‌شود.",
        )

    @admin.action(
        description="درخواست صدور کلید API تازه (با تأیید کارشناس دیگر؛ کلید قبلی آنگاه باطل می‌شود)",
        permissions=["change"],
    )
    def issue_api_key(
        self, request: HttpRequest, queryset: QuerySet[Terminal]
    ) -> HttpResponse | None:
        chosen = list(queryset.select_related("store")[:2])
        if len(chosen) != 1:
            self.message_user(
                request,
                "برای صدور کلید دقیقاً یک پایانه را انتخاب کنید؛ درخواستی ثبت نشد.",
                messages.ERROR,
            )
            return None
        terminal = chosen[0]

        def proceed(reason: str) -> None:
            # The key is issued on approval and shown then, once, to the approving officer.
            propose(
                request,
                kind=TERMINAL_KEY,
                summary=f"صدور کلید API تازه برای پایانه {terminal.terminal_id}",
                payload=key_payload(terminal=terminal),
                target=terminal,
                reason=reason,
            )

        return confirm_with_reason(
            self,
            request,
            objects=[terminal],
            action="issue_api_key",
            title="درخواست صدور کلید API تازه",
            intro=(
                "کلید تازه پس از تأیید کارشناس دیگری صادر و فقط یک بار به او نشان داده می‌شود؛ "
                "تا آن زمان کلید کنونی پایانه کار می‌کند. دلیل درخواست را بنویسید:"
            ),
            proceed=proceed,
        )

    @admin.action(description="تعلیق پایانه‌های انتخاب‌شده (با ذکر دلیل)", permissions=["change"])
    def suspend_terminals(
        self, request: HttpRequest, queryset: QuerySet[Terminal]
    ) -> HttpResponse | None:
        return with_reason(
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
        if too_many(self, request, queryset):
            return
        activated = 0
        for terminal in queryset.exclude(status=TerminalStatus.ACTIVE):
            services.set_terminal_status(terminal=terminal, status=TerminalStatus.ACTIVE)
            self.log_change(request, terminal, "فعال‌کردن پایانه")
            activated += 1
        self.message_user(
            request, f"{to_persian_digits(activated)} پایانه فعال شد.", messages.SUCCESS
        )
