from django.apps import AppConfig


class SettlementsConfig(AppConfig):
    name = "settlements"
    verbose_name = "اعتبار و تسویه"

    def ready(self) -> None:
        # A purchase that reaches the bonus threshold announces it; the receiver queues the grant.
        from settlements import receivers

        receivers.connect()
