"""An admin action's intermediate page that asks for a reason before it acts (UX: every action that
moves money or changes eligibility asks why, and records who did it)."""

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin import helpers
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse


def reason_field(
    *, label: str = "دلیل", required_message: str = "دلیل را بنویسید", help_text: str = ""
) -> forms.CharField:
    """The box where an officer writes why (kept with their name), on every form that asks."""
    return forms.CharField(
        label=label,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        error_messages={"required": required_message},
        help_text=help_text,
    )


class ReasonForm(forms.Form):
    reason = reason_field()


def confirm_with_reason(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    *,
    objects: list[Any],
    action: str,
    title: str,
    intro: str,
    proceed: Callable[[str], HttpResponse | None],
    required_message: str = "دلیل را بنویسید",
    help_text: str = "این دلیل با نام شما در سابقه ثبت می‌شود.",
) -> HttpResponse | None:
    """Show the reason page, or — once the officer has answered — ``proceed(reason)``.

    The page re-posts the selected ids and the action without ``index``, so Django's changelist
    routes the answer back to the same action; ``confirm`` says the officer has answered. An
    empty reason shows the page again with the error next to the field.
    """
    form = ReasonForm(request.POST if request.POST.get("confirm") else None)
    form.fields["reason"].error_messages["required"] = required_message
    form.fields["reason"].help_text = help_text
    if form.is_bound and form.is_valid():
        return proceed(form.cleaned_data["reason"].strip())
    opts = modeladmin.model._meta
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "intro": intro,
        "objects": objects,
        "form": form,
        "action": action,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "opts": opts,
        "app_label": opts.app_label,
    }
    return TemplateResponse(request, "admin/reason_confirmation.html", context)
