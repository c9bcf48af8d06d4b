"""Several nodes on one machine: what production runs on several machines, started here as
separate process groups so that any one of them can be killed alone.

    uv run python -m ops.nodes start            # idempotent: starts what is not running
    uv run python -m ops.nodes status
    uv run python -m ops.nodes kill batch-1     # SIGKILL one node's whole process group (a crash)
    uv run python -m ops.nodes stop             # SIGTERM every node, SIGKILL after a grace period

The nodes (``plan``):

- ``web-1``, ``web-2``: two gunicorn masters (``gunicorn.conf.py``) bound to the same port with
  ``SO_REUSEPORT``; the kernel spreads new connections between them, and when one dies the other
  keeps the port — what a load balancer in front of two web machines does.
- ``<queue>-1``, ``<queue>-2`` for each of ``default``, ``batch`` and ``sms``: two Celery worker
  nodes per queue, each named ``<queue>-<n>@<host>``, as two worker machines per queue would be.
- ``beat``: exactly one Celery beat (the schedules in the database, django-celery-beat).

Each node has its pid file and log under the run directory (``NODES_RUN_DIR``, default
``.nodes/`` in the checkout). The environment (``DATABASE_URL``, ``REDIS_URL``, the keys) is the
caller's, as for ``make up``; ``start`` does not migrate. Settings: ``NODES_WEB_PORT`` (8000),
``NODES_WEB_COUNT`` (2), ``NODES_WEB_WORKERS`` (1 worker process per master), ``NODES_QUEUES``
(``default,batch,sms``), ``NODES_PER_QUEUE`` (2), ``NODES_CONCURRENCY`` (1 process per worker node),
``NODES_STOP_SECONDS`` (60: a worker's warm shutdown finishes its task first).
The failover tests (tests/infra/test_nodes.py) start their nodes through :class:`Nodes`;
docs/operations.md maps the nodes to machines.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUEUES = ("default", "batch", "sms")
HOST = "127.0.0.1"
# A line each kind of node writes once it serves (matched in its log).
READY = {"web": "Booting worker", "worker": "ready.", "beat": "beat: Starting"}


class NodesError(RuntimeError):
    """A node could not be started (its port is taken, it exited at start, it never got ready)."""


@dataclass(frozen=True)
class Node:
    name: str
    kind: str  # "web", "worker" or "beat"
    command: tuple[str, ...]


def _int_env(name: str, default: int) -> int:
    return int(os.environ.get(name, str(default)))


@dataclass
class Nodes:
    """The set of nodes and where their pid files and logs live."""

    run_dir: Path = field(
        default_factory=lambda: Path(os.environ.get("NODES_RUN_DIR", ROOT / ".nodes"))
    )
    web_port: int = field(default_factory=lambda: _int_env("NODES_WEB_PORT", 8000))
    web_count: int = field(default_factory=lambda: _int_env("NODES_WEB_COUNT", 2))
    web_workers: int = field(default_factory=lambda: _int_env("NODES_WEB_WORKERS", 1))
    queues: tuple[str, ...] = field(
        default_factory=lambda: tuple(
            q.strip()
            for q in os.environ.get("NODES_QUEUES", ",".join(QUEUES)).split(",")
            if q.strip()
        )
    )
    per_queue: int = field(default_factory=lambda: _int_env("NODES_PER_QUEUE", 2))
    concurrency: int = field(default_factory=lambda: _int_env("NODES_CONCURRENCY", 1))
    beat: bool = True
    stop_seconds: int = field(default_factory=lambda: _int_env("NODES_STOP_SECONDS", 60))
    # Added to this process's environment for every node (the tests' database and broker).
    env: Mapping[str, str] = field(default_factory=dict)
    # The processes this object started (until exec, a child's /proc entry is still ours).
    _children: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict, repr=False)

    # --- what runs ------------------------------------------------------------------------

    def plan(self) -> list[Node]:
        def command(arguments: str, *more: str) -> tuple[str, ...]:
            return (sys.executable, "-m", *shlex.split(arguments), *more)

        nodes = [
            Node(
                f"web-{n}",
                "web",
                command(
                    "gunicorn kalabarg.wsgi --config gunicorn.conf.py --reuse-port "
                    f"--bind {HOST}:{self.web_port} --workers {self.web_workers} --access-logfile -"
                ),
            )
            for n in range(1, self.web_count + 1)
        ]
        nodes += [
            Node(
                f"{queue}-{n}",
                "worker",
                command(
                    f"celery -A kalabarg worker -Q {queue} -n {queue}-{n}@%h "
                    f"--concurrency {self.concurrency} --loglevel INFO"
                ),
            )
            for queue in self.queues
            for n in range(1, self.per_queue + 1)
        ]
        if self.beat:
            # The schedule file is unused (the database scheduler); kept out of the checkout.
            schedule = str(self.run_dir / "beat-schedule")
            nodes.append(
                Node(
                    "beat",
                    "beat",
                    command("celery -A kalabarg beat --loglevel INFO --schedule", schedule),
                )
            )
        return nodes

    def node(self, name: str) -> Node:
        for node in self.plan():
            if node.name == name:
                return node
        raise NodesError(f"no node {name!r}; the nodes are {', '.join(self.names())}")

    def names(self) -> list[str]:
        return [node.name for node in self.plan()]

    def log(self, name: str) -> Path:
        return self.run_dir / f"{name}.log"

    def _pid_file(self, name: str) -> Path:
        return self.run_dir / f"{name}.pid"

    def pid(self, name: str) -> int | None:
        """The node's process (its group leader) if it is alive and still ours."""
        try:
            pid = int(self._pid_file(name).read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        except (OSError, ValueError):
            return None
        # A pid reused by another program is not our node.
        if b"kalabarg" not in cmdline:
            return None
        with contextlib.suppress(ChildProcessError):
            if os.waitpid(pid, os.WNOHANG)[0] == pid:  # our own child that exited: reap it
                return None
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return None
        return None if state == "Z" else pid

    # --- start, stop, kill ---------------------------------------------------------------

    def start(
        self, names: Iterable[str] | None = None, *, wait_seconds: float = 90
    ) -> dict[str, int]:
        """Start every node (or ``names``) that is not running; wait until each started one is
        ready. Returns the pid of every node asked for."""
        chosen = [self.node(name) for name in (names or self.names())]
        self.run_dir.mkdir(parents=True, exist_ok=True)
        started: list[tuple[Node, int]] = []
        webs_running = any(self.pid(n.name) for n in self.plan() if n.kind == "web")
        for node in chosen:
            if self.pid(node.name) is not None:
                continue
            if node.kind == "web" and not webs_running and _port_open(self.web_port):
                raise NodesError(
                    f"port {self.web_port} is taken by a process that is not our web node"
                )
            offset = self.log(node.name).stat().st_size if self.log(node.name).exists() else 0
            with self.log(node.name).open("ab") as log:
                process = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
                    node.command,
                    cwd=ROOT,
                    env={**os.environ, **self.env},
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,  # its own process group: killed alone, as a machine
                )
            self._pid_file(node.name).write_text(f"{process.pid}\n")
            self._children[node.name] = process
            started.append((node, offset))
            if node.kind == "web":
                webs_running = True
        deadline = time.monotonic() + wait_seconds
        for node, offset in started:
            self._wait_ready(node, offset, deadline)
        return {node.name: self.pid(node.name) or 0 for node in chosen}

    def _wait_ready(self, node: Node, offset: int, deadline: float) -> None:
        marker = READY[node.kind].encode()
        while time.monotonic() < deadline:
            if self._children[node.name].poll() is not None:
                raise NodesError(f"{node.name} exited at start: {self.tail(node.name)}")
            with self.log(node.name).open("rb") as log:
                log.seek(offset)
                if marker in log.read():
                    return
            time.sleep(0.1)
        raise NodesError(f"{node.name} was not ready in time: {self.tail(node.name)}")

    def tail(self, name: str, chars: int = 3000) -> str:
        path = self.log(name)
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def kill(self, name: str) -> None:
        """SIGKILL the node's whole process group (master and pool), as a crash or the OOM killer."""
        pid = self.pid(self.node(name).name)
        if pid is None:
            return
        os.killpg(pid, signal.SIGKILL)
        self._wait_gone(pid, 10)
        self._pid_file(name).unlink(missing_ok=True)

    def stop(self, names: Iterable[str] | None = None) -> None:
        """SIGTERM each node's process group (a worker finishes its task, gunicorn its requests),
        SIGKILL what is left after ``stop_seconds``."""
        pids = {name: self.pid(name) for name in (names or self.names())}
        for pid in pids.values():
            if pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + self.stop_seconds
        for name, pid in pids.items():
            if pid is not None and not self._wait_gone(pid, max(0.0, deadline - time.monotonic())):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)
                self._wait_gone(pid, 10)
            self._pid_file(name).unlink(missing_ok=True)

    def _wait_gone(self, pid: int, seconds: float) -> bool:
        """Wait until the process group ``pid`` has no member left."""
        deadline = time.monotonic() + seconds
        while True:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)  # reap it if it is our child
            try:
                os.killpg(pid, 0)
            except ProcessLookupError:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.1)

    def status(self) -> dict[str, str]:
        """Each node: ``running (pid N)`` or ``stopped``."""
        return {
            name: f"running (pid {pid})" if (pid := self.pid(name)) else "stopped"
            for name in self.names()
        }


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((HOST, port)) == 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ops.nodes",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("action", choices=["start", "stop", "status", "kill"])
    parser.add_argument("names", nargs="*", help="nodes (default: all; kill needs one)")
    args = parser.parse_args(argv)
    nodes = Nodes()
    try:
        if args.action == "start":
            nodes.start(args.names or None)
        elif args.action == "stop":
            nodes.stop(args.names or None)
        elif args.action == "kill":
            if not args.names:
                parser.error("kill needs the node's name, e.g. batch-1")
            for name in args.names:
                nodes.kill(name)
    except NodesError as error:
        print(f"nodes: {error}", file=sys.stderr)
        return 1
    for name, state in nodes.status().items():
        print(f"{name}: {state}")
    if args.action == "start":
        print(f"web: http://{HOST}:{nodes.web_port}/  logs and pids: {nodes.run_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
