from django.apps import AppConfig


class SettlementsConfig(AppConfig):
    name = "settlements"
    verbose_name = "اعتبار و تسویه"

    def ready(self) -> None:
        # A purchase that reaches the bonus threshold announces it; the receiver queues the grant.
        # A new or changed phase and starting a run wait for a second officer.
        from settlements import approvals, receivers

        receivers.connect()
        approvals.register_kinds()
