"""A real Celery worker process against the test database and Redis, for tests that need one."""

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def worker_database_url() -> str:
    db = connection.settings_dict
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


class WorkerProcess:
    """``celery worker`` in its own process group, consuming one private queue."""

    def __init__(
        self, queue: str | None = None, concurrency: int = 1, broker_url: str | None = None
    ) -> None:
        self.queue = queue or f"test-{uuid.uuid4().hex[:12]}"
        self.concurrency = concurrency
        # A private Redis (tests/private_redis.py) as broker and cache, else the settings' one.
        self.broker_url = broker_url
        self.process: subprocess.Popen[bytes] | None = None
        self.log = Path(tempfile.gettempdir()) / f"kalabarg-worker-{self.queue}.log"

    def start(self) -> "WorkerProcess":
        env = {
            **os.environ,
            "DATABASE_URL": worker_database_url(),
            "REDIS_URL": self.broker_url or settings.REDIS_URL,
            "CELERY_BROKER_URL": self.broker_url or settings.CELERY_BROKER_URL,
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "DJANGO_SETTINGS_MODULE": "kalabarg.settings",
        }
        command = [
            sys.executable, "-m", "celery", "-A", "kalabarg", "worker", "-Q", self.queue,
            "--concurrency", str(self.concurrency), "--pool", "prefork", "--without-heartbeat",
            "--without-gossip", "--without-mingle", "-l", "INFO", "-n", f"{self.queue}@%h",
        ]  # fmt: skip
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def kill(self) -> None:
        """SIGKILL the whole worker (parent and pool children), as an OOM killer or a crash would."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def wait_for(condition, timeout: float = 60, interval: float = 0.2) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


# Memory of a worker process tree, read from /proc (the benchmarks sample it as a run grows).


def _memory_kib(pid: int, field: str, path: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/{path}").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return 0
    return 0


def _worker_memory_kib(pid: int) -> tuple[int, int]:
    """(PSS of the whole worker — parent and pool, shared pages counted once —, largest single RSS)."""
    tree = _tree(pid)
    pss = sum(_memory_kib(p, "Pss:", "smaps_rollup") for p in tree)
    return pss, max(_memory_kib(p, "VmRSS:", "status") for p in tree)


def _tree(pid: int) -> list[int]:
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except FileNotFoundError:
        return [pid]
    return [pid] + [p for child in children for p in _tree(int(child))]
