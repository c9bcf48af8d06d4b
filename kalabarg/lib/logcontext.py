"""Log context: the request id (set by ``RequestIdMiddleware``) and the Celery task id (set by
the worker's task signals) on every log line, through a filter on the handler."""

import logging
from contextvars import ContextVar

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")
task_id_var: ContextVar[str] = ContextVar("task_id", default="-")


class ContextFilter(logging.Filter):
    """Adds ``request_id`` and ``task_id`` to each record (``-`` outside a request or task)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.task_id = task_id_var.get()
        request = getattr(record, "request", None)
        if request is not None and hasattr(request, "path"):
            # Django's "Bad Request: …" lines carry the request, whose repr has the query string
            # (an officer's search by national code or mobile): keep the method and path only.
            record.request = f"{request.method} {request.path}"
        return True
