"""The Celery application: JSON only, three queues, late acks for batch work.

Queues:
- ``default``: short tasks (a bonus after a purchase, an objection's SMS).
- ``batch``: chunks of national runs (credit runs, sweeps, settlements). Late acks and
  ``reject_on_worker_lost`` so a chunk whose worker died is delivered again; every chunk is
  idempotent, so the redelivery repeats nothing.
- ``sms``: building and dispatching SMS campaigns, rate-limited separately from the rest.
"""

import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kalabarg.settings")

app = Celery("kalabarg")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = (Queue("default"), Queue("batch"), Queue("sms"))
app.conf.task_routes = {
    "settlements.tasks.run_*": {"queue": "batch"},
    "notifications.tasks.*": {"queue": "sms"},
}
app.autodiscover_tasks()
