"""The auditor's search over the whole trail: every audited model, newest first, by officer,
model and Jalali days; each row links to its object's page. One page on the admin, readable with
the permission ``audit.view_trail`` (no add, change or delete: the trail is append-only)."""

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils.decorators import method_decorator

from kalabarg.audit import selectors
from kalabarg.audit.models import Trail
from kalabarg.lib.admin_fields import JalaliDateField
from kalabarg.lib.replica import read_only_view

PAGE_SIZE = 50


class TrailSearchForm(forms.Form):
    username = forms.CharField(label="کارشناس (نام کاربری)", required=False, max_length=150)
    model = forms.ChoiceField(label="نوع", required=False)
    object_id = forms.IntegerField(label="شناسه", required=False, min_value=1)
    since = JalaliDateField(label="از روز", required=False)
    until = JalaliDateField(label="تا روز", required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["model"].choices = [("", "همه"), *selectors.model_choices()]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and until < since:
            self.add_error("until", "«تا روز» پیش از «از روز» است")
        return cleaned


@admin.register(Trail)
class TrailAdmin(admin.ModelAdmin):
    """The trail's search page in place of a change list (there is no table behind ``Trail``)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        opts = self.model._meta
        return [
            path(
                "",
                self.admin_site.admin_view(self.changelist_view),
                name=f"{opts.app_label}_{opts.model_name}_changelist",
            )
        ]

    @method_decorator(read_only_view)
    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = TrailSearchForm(request.GET or None)
        page = None
        try:
            number = max(1, int(request.GET.get("p", "1")))
        except ValueError:
            number = 1
        if (form.is_bound and form.is_valid()) or not form.is_bound:
            data = form.cleaned_data if form.is_bound else {}
            page = selectors.search_trail(
                username=(data.get("username") or "").strip(),
                model=data.get("model") or "",
                object_id=data.get("object_id"),
                since=data.get("since"),
                until=data.get("until"),
                offset=(number - 1) * PAGE_SIZE,
                limit=PAGE_SIZE,
            )
        query = request.GET.copy()
        query.pop("p", None)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "سابقه تغییرات",
            "form": form,
            "page": page,
            "number": number,
            "query": query.urlencode(),
            **(extra_context or {}),
        }
        return TemplateResponse(request, "audit/trail_search.html", context)
