from django.apps import AppConfig


class HouseholdsConfig(AppConfig):
    name = "households"
    verbose_name = "خانوارها"

    def ready(self) -> None:
        # The registry's four-eyes kinds (decile by hand, mobile, card, uploads) for approvals.
        from households import approvals

        approvals.register_kinds()
