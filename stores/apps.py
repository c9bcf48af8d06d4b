from django.apps import AppConfig


class StoresConfig(AppConfig):
    name = "stores"
    verbose_name = "فروشگاه‌ها و سبد کالا"

    def ready(self) -> None:
        # New prices, a store's Sheba and terminal keys wait for a second officer.
        from stores import approvals

        approvals.register_kinds()
