from django.apps import AppConfig


class BackofficeConfig(AppConfig):
    """The officers' back office (roles, household 360°, purchases, objection queue)."""

    name = "kalabarg.backoffice"
    label = "backoffice"
    verbose_name = "پیشخوان کارشناسان"
