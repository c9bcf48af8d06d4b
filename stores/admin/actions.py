"""Status actions over a bounded selection of rows, with a reason when they take something away.

Nothing long runs inside a web request, so an action over more than ``MAX_ACTION_ROWS`` rows is
refused; a suspension asks why on an intermediate page and logs who and why for every row.
"""

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from kalabarg.lib.admin_reason import confirm_with_reason
from kalabarg.lib.persian import to_persian_digits

# A status action over more rows than this is refused: nothing long runs inside a web request.
MAX_ACTION_ROWS = 500


def too_many(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> bool:
    """True, with the officer told so, when the selection is too large to act on in one request."""
    if queryset[: MAX_ACTION_ROWS + 1].count() <= MAX_ACTION_ROWS:
        return False
    modeladmin.message_user(
        request,
        f"در هر بار حداکثر {to_persian_digits(MAX_ACTION_ROWS)} مورد را انتخاب کنید؛ هیچ موردی تغییر نکرد.",
        messages.ERROR,
    )
    return True


def with_reason(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet,
    *,
    action: str,
    title: str,
    intro: str,
    apply: Callable[[Any, str], Any],
    done: str,
    required_message: str = "دلیل تعلیق را بنویسید",
) -> HttpResponse | None:
    """Ask for a reason on an intermediate page, then ``apply(obj, reason)`` to each selected row.

    The page re-posts the selected ids and the action without ``index``, so Django's changelist
    routes the confirmation back here; an empty reason shows the page again with the error.
    """
    if too_many(modeladmin, request, queryset):
        return None

    def proceed(reason: str) -> None:
        count = 0
        for obj in queryset:
            apply(obj, reason)
            modeladmin.log_change(request, obj, f"{title} — دلیل: {reason}")
            count += 1
        modeladmin.message_user(request, f"{to_persian_digits(count)} {done}", messages.SUCCESS)

    return confirm_with_reason(
        modeladmin,
        request,
        objects=list(queryset),
        action=action,
        title=title,
        intro=intro,
        proceed=proceed,
        required_message=required_message,
        help_text="این دلیل در صفحه هر مورد و در تاریخچه آن با نام شما ثبت می‌شود.",
    )
