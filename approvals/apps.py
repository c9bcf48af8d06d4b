from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    """Four-eyes approval of changes that move money or identity."""

    name = "approvals"
    label = "approvals"
    verbose_name = "تأیید دونفره"
