from django.apps import AppConfig


class DevdataConfig(AppConfig):
    """Generators, the demo seed and the fake SMS gateway; no models."""

    name = "devdata"
    verbose_name = "داده‌های نمایشی و آزمایشی"
