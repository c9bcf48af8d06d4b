"""gunicorn's settings for the web process (the Procfile and the POS benchmark load this file).

Two workers of 16 threads (gthread) suit this 2-core machine: the POS hot path spends most of a
request waiting on PostgreSQL, so threads overlap those waits; the benchmark in
docs/benchmarks.md compares other shapes.
"""

import gc
import os

bind = f"127.0.0.1:{os.environ.get('WEB_PORT', '8000')}"
workers = int(os.environ.get("WEB_WORKERS", "2"))
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "16"))


def post_worker_init(worker: object) -> None:
    """Keep the garbage collector's full passes short and rare, for the POS latency tail.

    A worker holds ~100,000 objects once Django is loaded, and CPython's default thresholds make
    it walk them all (a 45–65 ms pause for every thread of the worker) about once a second under
    load. Freezing what exists after start-up takes those objects out of every later collection,
    and a larger first threshold makes the young collections (which free each request's cycles)
    a third as frequent. Measured in docs/benchmarks.md (the POS p99 fell from 120–190 ms to
    90–117 ms); memory stays flat over the run.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(2000, 10, 100)
