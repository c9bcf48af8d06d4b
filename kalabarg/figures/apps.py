from django.apps import AppConfig


class FiguresConfig(AppConfig):
    """The programme's figures: summary tables refreshed by a task, the officers' dashboard and
    the public transparency page."""

    name = "kalabarg.figures"
    label = "figures"
    verbose_name = "آمار طرح"

    def ready(self) -> None:
        from kalabarg.figures import receivers  # noqa: F401 - connects the refresh to runs' ends
