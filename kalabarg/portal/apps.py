from django.apps import AppConfig


class PortalConfig(AppConfig):
    """The household-facing web pages; composes the apps below it."""

    name = "kalabarg.portal"
    label = "portal"
    verbose_name = "درگاه خانوار"
