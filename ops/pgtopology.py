"""A throwaway database topology for tests and local trials: a primary PostgreSQL cluster, a
streaming replica of it (``pg_basebackup -R``) and PgBouncer in transaction mode in front of the
primary. Built from Debian's own tools (``pg_createcluster``, ``pg_ctlcluster``, ``pgbouncer``)
on ports of its own, so the machine's main cluster (5432) is never touched.

    uv run python -m ops.pgtopology start     # create what is missing, start what is stopped
    uv run python -m ops.pgtopology status
    uv run python -m ops.pgtopology stop      # stop all three (clusters kept for the next start)
    uv run python -m ops.pgtopology drop      # stop and delete the clusters and the run directory

``start`` is idempotent: a running piece is reused, a stopped one started, a missing one made.
It needs root (or the ``postgres`` user) and the packages postgresql and pgbouncer. The test
fixtures (tests/infra) call :func:`start` and :func:`wait_for_replay`; docs/operations.md
describes the topology and the environment it hands to the application.
"""

from __future__ import annotations

import argparse
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

PRIMARY = "kb_primary"
REPLICA = "kb_replica"
PRIMARY_PORT = int(os.environ.get("PGTOPOLOGY_PRIMARY_PORT", "5440"))
REPLICA_PORT = int(os.environ.get("PGTOPOLOGY_REPLICA_PORT", "5441"))
POOLER_PORT = int(os.environ.get("PGTOPOLOGY_POOLER_PORT", "6440"))
# Server connections PgBouncer keeps per database: small, so that clients share them (which is
# what transaction pooling is for, and what the tests need to see).
POOL_SIZE = int(os.environ.get("PGTOPOLOGY_POOL_SIZE", "3"))
RUN_DIR = Path(os.environ.get("PGTOPOLOGY_RUN_DIR", "/var/lib/postgresql/kalabarg-pgtopology"))
HOST = "127.0.0.1"
TOOLS = ("pg_createcluster", "pg_ctlcluster", "pg_lsclusters", "pg_basebackup", "pgbouncer")

# Throwaway clusters: durability is not wanted, speed and a small footprint are.
_COMMON_SETTINGS = (
    f"listen_addresses = '{HOST}'",
    "max_connections = 60",
    "shared_buffers = '32MB'",
    "fsync = off",
    "log_min_messages = warning",
)
_PRIMARY_SETTINGS = ("wal_level = replica", "max_wal_senders = 4", "wal_keep_size = '256MB'")
_REPLICA_SETTINGS = ("hot_standby = on", "hot_standby_feedback = on")
_HBA = (
    "# Written by ops/pgtopology.py: a throwaway cluster on the loopback only.\n"
    "local all all trust\n"
    "local replication all trust\n"
    f"host all all {HOST}/32 trust\n"
    f"host replication all {HOST}/32 trust\n"
)


class TopologyError(RuntimeError):
    """The topology cannot be brought up here (a tool or a permission is missing, a start failed)."""


@dataclass(frozen=True)
class Urls:
    primary: str
    replica: str
    pooler: str


def urls(database: str) -> Urls:
    """``DATABASE_URL``-style addresses of ``database`` on each piece."""
    return Urls(
        primary=f"postgres://postgres@{HOST}:{PRIMARY_PORT}/{database}",
        replica=f"postgres://postgres@{HOST}:{REPLICA_PORT}/{database}",
        pooler=f"postgres://postgres@{HOST}:{POOLER_PORT}/{database}",
    )


def missing_prerequisite() -> str | None:
    """Why the topology cannot be built on this machine, or None if it can."""
    absent = [tool for tool in TOOLS if shutil.which(tool) is None]
    if absent:
        return f"needs {', '.join(absent)}: apt-get install postgresql pgbouncer"
    if os.geteuid() != 0 and pwd.getpwuid(os.geteuid()).pw_name != "postgres":
        return "needs root or the postgres user (it creates clusters with pg_createcluster)"
    return None


# --- helpers ---------------------------------------------------------------------------------


def _run(*command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if check and done.returncode != 0:
        raise TopologyError(f"{' '.join(command)} failed: {done.stderr.strip() or done.stdout}")
    return done


def _as_postgres(*command: str) -> tuple[str, ...]:
    if os.geteuid() == 0:
        return ("runuser", "-u", "postgres", "--", *command)
    return command


def _version() -> str:
    """The newest PostgreSQL major version installed (the one pg_createcluster would use)."""
    versions = sorted(
        (p.name for p in Path("/usr/lib/postgresql").iterdir() if p.name.isdigit()), key=int
    )
    if not versions:
        raise TopologyError("no PostgreSQL server under /usr/lib/postgresql")
    return versions[-1]


def _cluster_state(name: str) -> str | None:
    """'online', 'down' (or another pg_lsclusters status), or None when the cluster does not exist."""
    for line in _run("pg_lsclusters", "--no-header", check=False).stdout.splitlines():
        fields = line.split()
        if len(fields) >= 4 and fields[0] == _version() and fields[1] == name:
            return fields[3]
    return None


def _online(state: str | None) -> bool:
    return state is not None and state.split(",")[0] == "online"  # "online,recovery" on a standby


def _conf_dir(name: str) -> Path:
    return Path("/etc/postgresql") / _version() / name


def _data_dir(name: str) -> Path:
    return Path("/var/lib/postgresql") / _version() / name


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((HOST, port)) == 0


def _wait_ready(port: int, *, what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with psycopg.connect(host=HOST, port=port, user="postgres", dbname="postgres") as conn:
                conn.execute("SELECT 1")
                return
        except psycopg.OperationalError:
            time.sleep(0.2)
    raise TopologyError(f"{what} on port {port} did not accept connections in {seconds:.0f} s")


def _create_cluster(name: str, port: int, settings: tuple[str, ...]) -> None:
    _run("pg_createcluster", _version(), name, "--port", str(port), "--start-conf", "manual")
    # pg_createcluster's postgresql.conf includes conf.d/*.conf: ours go there, in one file.
    lines = "\n".join(("# Written by ops/pgtopology.py", *_COMMON_SETTINGS, *settings))
    (_conf_dir(name) / "conf.d" / "pgtopology.conf").write_text(lines + "\n")
    (_conf_dir(name) / "pg_hba.conf").write_text(_HBA)


def _start_cluster(name: str) -> None:
    _run("pg_ctlcluster", "--skip-systemctl-redirect", _version(), name, "start")


# --- the three pieces ------------------------------------------------------------------------


def _ensure_primary() -> None:
    state = _cluster_state(PRIMARY)
    if state is None:
        _create_cluster(PRIMARY, PRIMARY_PORT, _PRIMARY_SETTINGS)
        state = "down"
    if not _online(state):
        _start_cluster(PRIMARY)
    _wait_ready(PRIMARY_PORT, what="the primary")


def _replica_is_a_standby() -> bool:
    return (_data_dir(REPLICA) / "standby.signal").exists()


def _ensure_replica() -> None:
    state = _cluster_state(REPLICA)
    if state is not None and not _replica_is_a_standby():
        # Half-made (a base backup that never finished): start again from nothing.
        _run("pg_dropcluster", "--stop", _version(), REPLICA)
        state = None
    if state is None:
        _create_cluster(REPLICA, REPLICA_PORT, _REPLICA_SETTINGS)
        data = _data_dir(REPLICA)
        # Empty the new cluster's directory (kept: it is the postgres user's, mode 0700).
        for path in data.iterdir():
            shutil.rmtree(path) if path.is_dir() else path.unlink()
        # -R writes standby.signal and primary_conninfo: the copy starts as a streaming standby.
        _run(
            *_as_postgres(
                "pg_basebackup", "-h", HOST, "-p", str(PRIMARY_PORT), "-U", "postgres",
                "-D", str(data), "-R", "-X", "stream", "-c", "fast",
            )
        )  # fmt: skip
        state = "down"
    if not _online(state):
        _start_cluster(REPLICA)
    _wait_ready(REPLICA_PORT, what="the replica")


def _pooler_pid() -> int | None:
    try:
        pid = int((RUN_DIR / "pgbouncer.pid").read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def _pgbouncer_ini() -> str:
    return f"""; Written by ops/pgtopology.py
[databases]
* = host={HOST} port={PRIMARY_PORT}

[pgbouncer]
listen_addr = {HOST}
listen_port = {POOLER_PORT}
unix_socket_dir =
auth_type = trust
auth_file = {RUN_DIR}/userlist.txt
admin_users = postgres
pool_mode = transaction
default_pool_size = {POOL_SIZE}
max_client_conn = 200
server_lifetime = 3600
ignore_startup_parameters = extra_float_digits
logfile = {RUN_DIR}/pgbouncer.log
pidfile = {RUN_DIR}/pgbouncer.pid
"""


def _ensure_pooler() -> None:
    if _pooler_pid() is not None and _port_open(POOLER_PORT):
        return
    if _port_open(POOLER_PORT):
        raise TopologyError(f"port {POOLER_PORT} is taken by another process (not our PgBouncer)")
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    (RUN_DIR / "pgbouncer.ini").write_text(_pgbouncer_ini())
    (RUN_DIR / "userlist.txt").write_text('"postgres" ""\n')
    if os.geteuid() == 0:
        shutil.chown(RUN_DIR, user="postgres", group="postgres")
        for path in RUN_DIR.iterdir():
            shutil.chown(path, user="postgres", group="postgres")
    # PgBouncer refuses to run as root.
    _run(*_as_postgres("pgbouncer", "-d", str(RUN_DIR / "pgbouncer.ini")))
    _wait_ready(POOLER_PORT, what="PgBouncer")


def start() -> Urls:
    """Bring the primary, the replica and PgBouncer up (idempotent) and return their addresses
    of the ``postgres`` database."""
    reason = missing_prerequisite()
    if reason:
        raise TopologyError(reason)
    _ensure_primary()
    _ensure_replica()
    _ensure_pooler()
    return urls("postgres")


def stop() -> None:
    """Stop PgBouncer and both clusters; the clusters stay on disk for the next start."""
    pid = _pooler_pid()
    if pid is not None:
        os.kill(pid, signal.SIGTERM)  # immediate shutdown
        for _ in range(50):
            if _pooler_pid() is None:
                break
            time.sleep(0.1)
    for name in (REPLICA, PRIMARY):
        if _online(_cluster_state(name)):
            _run(
                "pg_ctlcluster", "--skip-systemctl-redirect", _version(), name, "stop", "-m", "fast"
            )


def drop() -> None:
    """Stop everything and delete both clusters and the run directory."""
    stop()
    for name in (REPLICA, PRIMARY):
        if _cluster_state(name) is not None:
            _run("pg_dropcluster", "--stop", _version(), name)
    shutil.rmtree(RUN_DIR, ignore_errors=True)


def status() -> dict[str, str]:
    """Each piece: 'online', 'down' or 'missing'."""
    return {
        PRIMARY: _cluster_state(PRIMARY) or "missing",
        REPLICA: _cluster_state(REPLICA) or "missing",
        "pgbouncer": "online" if _pooler_pid() is not None and _port_open(POOLER_PORT) else "down",
    }


def wait_for_replay(*, database: str = "postgres", seconds: float = 30) -> str:
    """Wait until the replica has replayed everything the primary has written so far; return the
    position (LSN) waited for."""
    with psycopg.connect(host=HOST, port=PRIMARY_PORT, user="postgres", dbname=database) as conn:
        # The insert position: everything committed so far, even what is not yet written out.
        target = conn.execute("SELECT pg_current_wal_insert_lsn()::text").fetchone()[0]  # type: ignore[index]
    deadline = time.monotonic() + seconds
    with psycopg.connect(
        host=HOST, port=REPLICA_PORT, user="postgres", dbname=database, autocommit=True
    ) as conn:
        while time.monotonic() < deadline:
            caught_up = conn.execute(
                "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target]
            ).fetchone()[0]  # type: ignore[index]
            if caught_up:
                return str(target)
            time.sleep(0.05)
    raise TopologyError(f"the replica did not replay up to {target} in {seconds:.0f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.pgtopology", description=__doc__)
    parser.add_argument("action", choices=["start", "stop", "status", "drop"])
    action = parser.parse_args(argv).action
    try:
        if action == "start":
            start()
        elif action == "stop":
            stop()
        elif action == "drop":
            drop()
    except TopologyError as error:
        print(f"pgtopology: {error}", file=sys.stderr)
        return 1
    for piece, state in status().items():
        print(f"{piece}: {state}")
    if action == "start":
        found = urls("kalabarg")
        print(f"DATABASE_URL={found.pooler}  DATABASE_POOL_MODE=transaction")
        print(f"DATABASE_REPLICA_URL={found.replica}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
