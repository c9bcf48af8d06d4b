"""The Celery application: JSON only, three queues, late acks for batch work.

Queues:
- ``default``: short tasks (a bonus after a purchase, an objection's SMS).
- ``batch``: chunks of national runs (credit runs, sweeps, settlements). Late acks and
  ``reject_on_worker_lost`` so a chunk whose worker died is delivered again; every chunk is
  idempotent, so the redelivery repeats nothing.
- ``sms``: building and dispatching SMS campaigns, rate-limited separately from the rest.
"""

import os
from typing import Any

from celery import Celery
from celery.signals import task_postrun, task_prerun
from kombu import Queue

from kalabarg.lib.logcontext import task_id_var

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kalabarg.settings")

app = Celery("kalabarg")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = (Queue("default"), Queue("batch"), Queue("sms"))
app.conf.task_routes = {
    "settlements.tasks.run_*": {"queue": "batch"},
    "settlements.tasks.flag_store_anomalies": {"queue": "batch"},
    "kalabarg.figures.tasks.*": {"queue": "batch"},
    "notifications.tasks.*": {"queue": "sms"},
}
app.autodiscover_tasks()


_task_tokens: dict[str, Any] = {}


@task_prerun.connect
def _log_task_id(task_id: str | None = None, **_: Any) -> None:
    """Every log line of a task carries its id (the log filter reads this contextvar)."""
    if task_id:
        _task_tokens[task_id] = task_id_var.set(task_id)


@task_postrun.connect
def _forget_task_id(task_id: str | None = None, **_: Any) -> None:
    token = _task_tokens.pop(task_id or "", None)
    if token is not None:
        try:
            task_id_var.reset(token)
        except ValueError:  # postrun in another context than prerun (not in a worker's pool)
            task_id_var.set("-")
