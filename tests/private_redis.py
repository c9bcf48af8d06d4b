"""A Redis server of the test's own, which a fault test may restart without touching the shared
one (other tests, CI and the developer's services use 127.0.0.1:6379)."""

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import redis


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PrivateRedis:
    """``redis-server`` on a free port, keeping nothing on disk (as production's broker may lose
    its queues on a restart); ``restart()`` kills it and starts an empty one on the same port."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.dir = Path(tempfile.mkdtemp(prefix="kalabarg-redis-"))
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> "PrivateRedis":
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return self
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def restart(self, *, down_seconds: float = 1.0) -> None:
        """Kill the server (its queues and keys are lost) and start an empty one after a pause."""
        self.kill()
        time.sleep(down_seconds)
        self.start()

    def __enter__(self) -> "PrivateRedis":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


@contextlib.contextmanager
def publishing_to(url: str) -> Iterator[None]:
    """This process's Celery app publishes to ``url`` (and the Django cache is untouched).

    The app's connection pools are swapped, not closed: kombu keeps one pool per broker address
    in a registry of its own, and a closed pool of the shared broker would be handed back to
    every later test."""
    from kalabarg.celery import app

    urls = app.conf.broker_url, app.conf.broker_write_url
    pools = app._pool, app.amqp._producer_pool
    app.conf.broker_url, app.conf.broker_write_url = url, None
    app._pool, app.amqp._producer_pool = None, None
    try:
        yield
    finally:
        if app._pool is not None:
            app._pool.force_close_all()  # the private broker's own pool, never used again
        app.conf.broker_url, app.conf.broker_write_url = urls
        app._pool, app.amqp._producer_pool = pools
