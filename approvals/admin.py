"""The queue of change requests: anyone in the back office sees it; a checker (the approve
permission, not the maker) approves or rejects each one on its page."""

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from approvals import services
from approvals.models import ChangeRequest
from approvals.registry import kind_of, registered_kinds
from kalabarg.lib import admin_display as show
from kalabarg.lib.admin_paging import CappedCountPaginator
from kalabarg.lib.admin_readonly import ReadOnlyAdminMixin
from kalabarg.lib.admin_reason import reason_field


class KindFilter(admin.SimpleListFilter):
    title = "نوع تغییر"
    parameter_name = "kind"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return sorted((code, kind.label) for code, kind in registered_kinds().items())

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[ChangeRequest]
    ) -> QuerySet[ChangeRequest]:
        return queryset.filter(kind=self.value()) if self.value() else queryset


class RejectForm(forms.Form):
    reason = reason_field(label="دلیل رد", required_message="دلیل رد را بنویسید")


def describe(change: ChangeRequest) -> list[tuple[str, str]]:
    """The request's details as (label, value) rows: the kind's own words, or the raw payload."""
    kind = kind_of(change.kind)
    if kind is not None and kind.describe is not None:
        return kind.describe(change)
    return [
        (str(key), value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
        for key, value in change.payload.items()
    ]


@admin.register(ChangeRequest)
class ChangeRequestAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "number",
        "kind_display",
        "summary",
        "status",
        "maker",
        "made_at_display",
        "checker",
        "decided_at_display",
    ]
    list_filter = ["status", KindFilter]
    list_select_related = ["maker", "checker"]
    search_fields = ["summary", "target_id"]
    search_help_text = "بخشی از شرح، یا شناسه رکورد"
    ordering = ["-made_at", "-id"]
    show_full_result_count = False
    paginator = CappedCountPaginator
    list_per_page = 50
    change_form_template = "admin/approvals/changerequest/change_form.html"
    shown = (
        "number",
        "kind_display",
        "summary",
        "details",
        "status",
        "maker",
        "maker_reason",
        "made_at_display",
        "checker",
        "decided_at_display",
        "decision_reason",
        "result_display",
    )
    fields = shown
    readonly_fields = shown

    @admin.display(description="شماره", ordering="id")
    def number(self, change: ChangeRequest) -> str:
        return show.number(change.pk)

    @admin.display(description="نوع تغییر", ordering="kind")
    def kind_display(self, change: ChangeRequest) -> str:
        kind = kind_of(change.kind)
        return kind.label if kind is not None else change.kind

    @admin.display(description="زمان درخواست", ordering="made_at")
    def made_at_display(self, change: ChangeRequest) -> str:
        return show.when(change.made_at)

    @admin.display(description="زمان تصمیم", ordering="decided_at")
    def decided_at_display(self, change: ChangeRequest) -> str:
        return show.when(change.decided_at)

    @admin.display(description="جزئیات")
    def details(self, change: ChangeRequest) -> str:
        rows = describe(change)
        if change.attachment_name:
            rows.append(("فایل", change.attachment_name))
        if not rows:
            return "—"
        return format_html(
            "<table>{}</table>",
            format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows),
        )

    @admin.display(description="نتیجه اعمال")
    def result_display(self, change: ChangeRequest) -> str:
        if not change.result:
            return "—"
        return format_html_join(
            "", "<div>{}: {}</div>", ((str(k), str(v)) for k, v in change.result.items())
        )

    def get_urls(self) -> list[Any]:
        custom = [
            path(
                "<path:object_id>/approve/",
                self.admin_site.admin_view(self.approve_view),
                name="approvals_changerequest_approve",
            ),
            path(
                "<path:object_id>/reject/",
                self.admin_site.admin_view(self.reject_view),
                name="approvals_changerequest_reject",
            ),
        ]
        return custom + super().get_urls()

    def may_check(self, request: HttpRequest, change: ChangeRequest) -> bool:
        return (
            change.is_pending
            and change.maker_id != request.user.pk
            and request.user.has_perm(services.APPROVE_PERMISSION)
        )

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        change = self.get_object(request, unquote(object_id))
        extra = dict(extra_context or {})
        if change is not None:
            extra["may_check"] = self.may_check(request, change)
            extra["is_maker"] = change.maker_id == request.user.pk
            extra["reject_form"] = RejectForm()
        return super().change_view(request, object_id, form_url, extra)

    def _pending_or_404(self, request: HttpRequest, object_id: str) -> ChangeRequest:
        if not self.has_view_permission(request):
            raise Http404
        return get_object_or_404(ChangeRequest, pk=unquote(object_id))

    def _refused(self, request: HttpRequest, change: ChangeRequest) -> HttpResponse | None:
        """403 for someone who may not check this request (the maker, or not a checker)."""
        if request.method != "POST":
            return HttpResponseRedirect(self._page(change))
        if not request.user.has_perm(services.APPROVE_PERMISSION):
            return TemplateResponse(
                request,
                "admin/approvals/changerequest/refused.html",
                {
                    **self.admin_site.each_context(request),
                    "change": change,
                    "why": "اجازه بررسی درخواست‌های تغییر را ندارید.",
                },
                status=403,
            )
        return None

    def _page(self, change: ChangeRequest) -> str:
        return reverse("admin:approvals_changerequest_change", args=[change.pk])

    def approve_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        change = self._pending_or_404(request, object_id)
        refused = self._refused(request, change)
        if refused is not None:
            return refused
        try:
            change, applied = services.approve_change(
                change_request_id=change.pk, checker=show.officer(request)
            )
        except ValidationError as exc:
            self.message_user(
                request, "تأیید نشد: " + services.refusal_messages(exc), messages.ERROR
            )
            return HttpResponseRedirect(self._page(change))
        self.log_change(request, change, f"تأیید درخواست: {change.summary}")
        self.message_user(
            request,
            applied.message or f"درخواست «{change.summary}» تأیید و اعمال شد.",
            messages.SUCCESS,
        )
        if applied.show_once:
            # Shown on this page only, never kept: not in the request, not in a message cookie.
            return TemplateResponse(
                request,
                "admin/approvals/changerequest/show_once.html",
                {
                    **self.admin_site.each_context(request),
                    "change": change,
                    "secret": applied.show_once,
                    "title": "تأیید شد",
                },
            )
        return HttpResponseRedirect(self._page(change))

    def reject_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        change = self._pending_or_404(request, object_id)
        refused = self._refused(request, change)
        if refused is not None:
            return refused
        form = RejectForm(request.POST)
        if not form.is_valid():
            self.message_user(request, "دلیل رد را بنویسید؛ درخواست رد نشد.", messages.ERROR)
            return HttpResponseRedirect(self._page(change))
        try:
            change = services.reject_change(
                change_request_id=change.pk,
                checker=show.officer(request),
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as exc:
            self.message_user(request, "رد نشد: " + services.refusal_messages(exc), messages.ERROR)
            return HttpResponseRedirect(self._page(change))
        self.log_change(request, change, f"رد درخواست: {form.cleaned_data['reason']}")
        self.message_user(request, f"درخواست «{change.summary}» رد شد.", messages.SUCCESS)
        return HttpResponseRedirect(self._page(change))
