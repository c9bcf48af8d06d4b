"""The officers' SMS screens (Persian): templates (never a link), campaigns and their messages."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from notifications.models import SmsTemplate
from notifications.templating import PLACEHOLDERS


@admin.register(SmsTemplate)
class SmsTemplateAdmin(admin.ModelAdmin):
    list_display = ["kind", "body", "updated_at", "updated_by"]
    fields = ["kind", "placeholders_display", "body", "updated_by", "updated_at"]
    readonly_fields = ["kind", "placeholders_display", "updated_by", "updated_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # the five kinds are seeded; there is nothing else to add

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="جای‌نگهدارهای مجاز")
    def placeholders_display(self, template: SmsTemplate) -> str:
        return "، ".join("{" + name + "}" for name in PLACEHOLDERS.get(template.kind, ()))

    def save_model(self, request: HttpRequest, obj: SmsTemplate, form: Any, change: bool) -> None:
        obj.updated_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)
