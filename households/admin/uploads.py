"""The admin's upload pages of registry-style CSV files (households, bank cards): the form's size
and type checks, the page, and the downloads of what an upload's request holds."""

import io
from collections.abc import Callable
from typing import Any, TextIO

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from households.importer import ImportFileError

# Larger files go through `manage.py import_households` (nothing long runs inside a web request).
ADMIN_IMPORT_MAX_BYTES = 5 * 1024 * 1024


def csv_download(text: str, file_name: str) -> HttpResponse:
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{file_name}"'
    return response


def csv_upload_view(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    *,
    permission: str,
    refused: str,
    title: str,
    template: str,
    form_class: type["ImportForm"],
    apply: Callable[[TextIO, str], tuple[dict[str, Any], int, str] | None],
) -> HttpResponse:
    """The admin's upload page of a registry-style CSV (households, bank cards): the permission,
    the size and type checks of ``form_class``, then ``apply`` on the file's text and name, which
    makes the request a second officer approves and answers (what the page shows, message level,
    message), or None when the request was refused (its message already said why); a file
    refused whole is an error on the file field."""
    if not request.user.has_perm(permission):
        messages.error(request, refused)
        return render(
            request,
            template,
            {"form": form_class(), **modeladmin.admin_site.each_context(request)},
            status=403,
        )
    context: dict[str, Any] = {
        **modeladmin.admin_site.each_context(request),
        "opts": modeladmin.model._meta,
        "title": title,
    }
    form = form_class(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            answer = apply(io.TextIOWrapper(upload.file, encoding="utf-8", newline=""), upload.name)
        except ImportFileError as exc:
            form.add_error("file", str(exc))
        else:
            if answer is not None:
                shown, level, message = answer
                context.update(shown)
                if message:
                    messages.add_message(request, level, message)
    context["form"] = form
    return render(request, template, context)


class ImportForm(forms.Form):
    file = forms.FileField(label="فایل CSV خانوارها (UTF-8)")
    command = "import_households"

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > ADMIN_IMPORT_MAX_BYTES:
            raise ValidationError(
                f"این فایل برای بارگذاری در پیشخوان بزرگ است؛ آن را با فرمان {self.command} بارگذاری کنید",
                code="file_too_large",
            )
        if not upload.name.lower().endswith(".csv"):
            raise ValidationError("فایل باید CSV باشد", code="file_not_csv")
        return upload


class CardImportForm(ImportForm):
    file = forms.FileField(label="فایل CSV کارت‌های بانکی (UTF-8)")
    command = "import_bank_cards"
