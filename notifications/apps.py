from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "پیامک‌ها"

    def ready(self) -> None:
        # The money core announces granted bonuses; the SMS outbox listens (layers point one way).
        from notifications import hooks

        hooks.connect()
