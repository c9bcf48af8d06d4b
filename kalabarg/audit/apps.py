from django.apps import AppConfig


class AuditConfig(AppConfig):
    """The audit trail of officers' and imports' changes, with old and new values."""

    name = "kalabarg.audit"
    label = "audit"
    verbose_name = "سابقه تغییرات"
