"""Refresh the figures when money moved in bulk: a credit run or a store settlement finished.

The money core sends its signals after commit and never imports this app (it sits above it)."""

from typing import Any

from django.dispatch import receiver

from settlements.signals import run_finished


@receiver(run_finished, dispatch_uid="figures-refresh-after-run")
def refresh_after_run(sender: Any, *, kind: str, **kwargs: Any) -> None:
    from kalabarg.figures.tasks import refresh

    refresh.delay(trigger=f"after:{kind}")
