"""The officers' SMS screens (Persian): templates (never a link), campaigns with progress, messages.

Campaign lists show a progress bar with words (never the bar alone) and counts by status from
the campaign's snapshot; the message list searches by mobile or national code through indexes
and never counts more than it must (``CappedCountPaginator``)."""

import contextlib
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from households.models import Person
from kalabarg.lib import admin_display as show
from kalabarg.lib.admin_paging import CappedCountPaginator
from kalabarg.lib.admin_reason import confirm_with_reason, reason_field
from kalabarg.lib.identifiers import IdentifierError, normalize_mobile, normalize_national_code
from kalabarg.lib.persian import to_persian_digits
from notifications.models import (
    CampaignStatus,
    MessageStatus,
    SmsCampaign,
    SmsMessage,
    SmsTemplate,
)
from notifications.services import campaigns
from notifications.services.dispatch import refresh_counts
from notifications.templating import PLACEHOLDERS
from settlements.models import Phase

STATUS_LABELS = dict(MessageStatus.choices)


@admin.register(SmsTemplate)
class SmsTemplateAdmin(admin.ModelAdmin):
    list_display = ["kind", "body", "updated_at_display", "updated_by"]
    fields = ["kind", "placeholders_display", "body", "updated_by", "updated_at_display"]
    readonly_fields = ["kind", "placeholders_display", "updated_by", "updated_at_display"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # the five kinds are seeded; there is nothing else to add

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="جای‌نگهدارهای مجاز")
    def placeholders_display(self, template: SmsTemplate) -> str:
        return "، ".join("{" + name + "}" for name in PLACEHOLDERS.get(template.kind, ()))

    @admin.display(description="آخرین ویرایش")
    def updated_at_display(self, template: SmsTemplate) -> str:
        return show.when(template.updated_at)

    def save_model(self, request: HttpRequest, obj: SmsTemplate, form: Any, change: bool) -> None:
        obj.updated_by = show.officer(request)
        super().save_model(request, obj, form, change)


class StartDecileNoticesForm(forms.Form):
    phase = forms.ModelChoiceField(
        label="مرحله",
        queryset=Phase.objects.order_by("-starts_on"),
        required=False,
        empty_label="مرحله در جریان امروز",
    )
    deciles = forms.TypedMultipleChoiceField(
        label="دهک‌ها",
        choices=[(d, to_persian_digits(d)) for d in range(1, 11)],
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "دست‌کم یک دهک را انتخاب کنید"},
    )
    reason = reason_field(
        required_message="دلیل این ارسال را بنویسید",
        help_text="این دلیل با نام شما در سابقه پویش ثبت می‌شود.",
    )


def _progress(campaign: SmsCampaign) -> str:
    done, total = campaign.done_count, campaign.recipients_total
    if campaign.status == CampaignStatus.BUILDING:
        text = to_persian_digits(f"ساخت صف: {campaign.chunks_done} از {campaign.chunks_total} بخش")
        value, maximum = campaign.chunks_done, max(campaign.chunks_total, 1)
    else:
        percent = to_persian_digits(campaign.progress_percent)
        text = f"{show.number(done)} از {show.number(total)} — {percent}٪"
        value, maximum = (done, total) if total else (1, 1)
    return show.progress_bar(value, maximum, text)


@admin.register(SmsCampaign)
class SmsCampaignAdmin(admin.ModelAdmin):
    empty_value_display = "—"
    show_facets = admin.ShowFacets.NEVER
    list_display = [
        "__str__",
        "kind",
        "phase",
        "status",
        "progress_display",
        "counts_display",
        "started_by",
        "created_at_display",
    ]
    list_filter = ["kind", "status"]
    list_select_related = ["phase", "started_by"]
    readonly_fields = [
        "kind",
        "phase",
        "label",
        "status",
        "progress_display",
        "counts_display",
        "messages_link",
        "body_template",
        "recipients_total",
        "chunks_total",
        "chunks_done",
        "reason",
        "started_by",
        "cancelled_by",
        "created_at_display",
        "finished_at_display",
        "last_error",
    ]
    actions = ["cancel_campaigns", "refresh_campaign_counts"]
    paginator = CappedCountPaginator
    show_full_result_count = False
    list_per_page = 50

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # read-only: campaigns and messages change through their actions only

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="پیشرفت")
    def progress_display(self, campaign: SmsCampaign) -> str:
        return _progress(campaign)

    @admin.display(description="به تفکیک وضعیت")
    def counts_display(self, campaign: SmsCampaign) -> str:
        counts = campaign.counts or {}
        if not counts:
            return "—"
        return format_html_join(
            "، ",
            "{}: {}",
            (
                (STATUS_LABELS.get(status, status), show.number(n))
                for status, n in sorted(counts.items())
            ),
        )

    @admin.display(description="پیامک‌ها")
    def messages_link(self, campaign: SmsCampaign) -> str:
        url = (
            reverse("admin:notifications_smsmessage_changelist")
            + f"?campaign__id__exact={campaign.pk}"
        )
        return format_html('<a href="{}">جست‌وجوی پیامک‌های این پویش</a>', url)

    @admin.display(description="آغاز", ordering="created_at")
    def created_at_display(self, campaign: SmsCampaign) -> str:
        return show.when(campaign.created_at)

    @admin.display(description="پایان")
    def finished_at_display(self, campaign: SmsCampaign) -> str:
        return show.when(campaign.finished_at)

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        """«افزودن پویش» starts a decile-notice campaign (the officer's action), with a reason."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = StartDecileNoticesForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                campaign = campaigns.start_decile_notices(
                    deciles=form.cleaned_data["deciles"],
                    phase=form.cleaned_data["phase"],
                    started_by=show.officer(request),
                    reason=form.cleaned_data["reason"].strip(),
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                self.message_user(request, f"پویش «{campaign}» آغاز شد.", messages.SUCCESS)
                return HttpResponseRedirect(
                    reverse("admin:notifications_smscampaign_change", args=[campaign.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "title": "آغاز اطلاع‌رسانی دهک",
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/notifications/smscampaign/start.html", context)

    # Cancelling and recounting are part of running campaigns: for whoever may start one.
    @admin.action(description="لغو پویش‌های انتخاب‌شده", permissions=["add"])
    def cancel_campaigns(
        self, request: HttpRequest, queryset: QuerySet[SmsCampaign]
    ) -> HttpResponse | None:
        chosen = list(
            queryset.filter(status__in=[CampaignStatus.BUILDING, CampaignStatus.SENDING])[:20]
        )
        if not chosen:
            self.message_user(request, "پویش در جریانی انتخاب نشده است.", messages.WARNING)
            return None

        def proceed(reason: str) -> None:
            for campaign in chosen:
                with contextlib.suppress(ValidationError):
                    cancelled = campaigns.cancel_campaign(
                        campaign=campaign, cancelled_by=show.officer(request)
                    )
                    SmsCampaign.objects.filter(pk=campaign.pk).update(
                        reason=(campaign.reason + " | لغو: " + reason)[:500]
                    )
                    self.message_user(
                        request,
                        f"پویش «{campaign}» لغو شد؛ {to_persian_digits(cancelled)} پیامک در صف لغو شد.",
                        messages.SUCCESS,
                    )

        return confirm_with_reason(
            self,
            request,
            objects=chosen,
            action="cancel_campaigns",
            title="لغو پویش",
            intro="پیامک‌هایی که هنوز در صف‌اند فرستاده نمی‌شوند؛ آنچه در حال ارسال است تمام می‌شود.",
            proceed=proceed,
        )

    @admin.action(description="به‌روزرسانی شمارش‌ها", permissions=["add"])
    def refresh_campaign_counts(
        self, request: HttpRequest, queryset: QuerySet[SmsCampaign]
    ) -> None:
        for campaign_id in queryset.values_list("pk", flat=True)[:20]:
            refresh_counts(campaign_id=campaign_id)
        self.message_user(request, "شمارش‌ها به‌روز شد.", messages.SUCCESS)


@admin.register(SmsMessage)
class SmsMessageAdmin(admin.ModelAdmin):
    empty_value_display = "—"
    show_facets = admin.ShowFacets.NEVER
    list_display = [
        "pk",
        "kind",
        "mobile",
        "status",
        "attempts",
        "error_code",
        "campaign",
        "sent_at_display",
    ]
    list_filter = ["status", "kind"]
    list_select_related = ["campaign"]
    search_fields = ["mobile"]  # replaced by get_search_results: exact, indexed
    search_help_text = "کد ملی یا شماره همراه گیرنده (دقیق)"
    readonly_fields = [
        "campaign", "person", "kind", "mobile", "body", "status", "attempts", "generation",
        "provider_message_id", "error_code", "last_error", "dedupe_key", "next_attempt_at",
        "lease_until", "created_at", "sent_at", "delivered_at",
    ]  # fmt: skip
    actions = ["retry_failed"]
    paginator = CappedCountPaginator
    show_full_result_count = False
    list_per_page = 50
    ordering = ["-pk"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # read-only: campaigns and messages change through their actions only

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="ارسال", ordering="sent_at")
    def sent_at_display(self, message: SmsMessage) -> str:
        return show.when(message.sent_at)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[SmsMessage], search_term: str
    ) -> tuple[QuerySet[SmsMessage], bool]:
        """A national code or a mobile, exactly: people by their indexes, then their messages by
        (campaign, person) or the personal index; a mobile also matches the number on the message
        itself within a campaign."""
        term = search_term.strip()
        if not term:
            return queryset, False
        person_ids: list[int] = []
        with contextlib.suppress(IdentifierError):
            code = normalize_national_code(term)
            person_ids += list(
                Person.objects.filter(national_code=code).values_list("pk", flat=True)
            )
        with contextlib.suppress(IdentifierError):
            mobile = normalize_mobile(term)
            person_ids += list(
                Person.objects.filter(mobile=mobile).values_list("pk", flat=True)[:100]
            )
        return queryset.filter(person_id__in=person_ids), False

    def has_resend_permission(self, request: HttpRequest) -> bool:
        """Sending failed messages again is running a campaign: for whoever may start one."""
        return request.user.has_perm("notifications.add_smscampaign")

    @admin.action(description="ارسال دوباره پیامک‌های ناموفق انتخاب‌شده", permissions=["resend"])
    def retry_failed(
        self, request: HttpRequest, queryset: QuerySet[SmsMessage]
    ) -> HttpResponse | None:
        chosen = list(queryset.filter(status=MessageStatus.FAILED)[:1000])
        if not chosen:
            self.message_user(request, "پیامک ناموفقی انتخاب نشده است.", messages.WARNING)
            return None

        def proceed(reason: str) -> None:
            retried = campaigns.retry_failed(message_ids=[m.pk for m in chosen])
            self.message_user(
                request,
                f"{to_persian_digits(retried)} پیامک دوباره در صف ارسال قرار گرفت.",
                messages.SUCCESS,
            )

        return confirm_with_reason(
            self,
            request,
            objects=chosen[:20],
            action="retry_failed",
            title="ارسال دوباره",
            intro="پیامک‌ها به شماره فعلی گیرنده دوباره فرستاده می‌شوند.",
            proceed=proceed,
        )
