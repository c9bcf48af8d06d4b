"""The figures' refresh task: on the beat, and queued when a credit run or a settlement finishes."""

from celery import shared_task

from kalabarg.figures.refresh import refresh_figures


@shared_task(
    name="kalabarg.figures.tasks.refresh_figures",
    acks_late=True,
    reject_on_worker_lost=True,
)
def refresh(trigger: str = "beat") -> int:
    """Refresh the summary tables of every cycle that can still change; idempotent."""
    return refresh_figures(trigger=trigger).pk
