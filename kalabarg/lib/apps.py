from django.apps import AppConfig


class LibConfig(AppConfig):
    """Pure helpers (identifiers, Persian text, money); an app only for its template tags."""

    name = "kalabarg.lib"
    label = "kalabarg_lib"
    verbose_name = "ابزارها"
