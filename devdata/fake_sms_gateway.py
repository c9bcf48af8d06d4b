"""A local fake of the Kavenegar-style gateway, for tests, the benchmark and demos.

It speaks the protocol of :class:`kalabarg.lib.sms.HttpGateway` (``sendarray``, ``send``,
``status``) and can be made unreliable: a latency per call, a share of calls answered 5xx, a
share of calls that never answer in time (a timeout), and numbers with a prefix refused as
invalid (411, the whole call, as the real gateway does). Like a gateway that honours local ids,
it accepts a local id once: a repeat is answered with the first message id and not counted again.

    python manage.py fake_sms_gateway --port 9999 --latency-ms 20 --fail-rate 0.05 --invalid-prefix 0999

``GET /_fake/state`` answers what it accepted (for tests in another process).
"""

from __future__ import annotations

import json
import random
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class FakeGatewayState:
    latency_ms: int = 0
    fail_rate: float = 0.0  # share of calls answered 500
    timeout_rate: float = 0.0  # share of calls that sleep past the client's timeout
    timeout_sleep_s: float = 3.0
    invalid_prefix: str = ""
    seed: int = 0
    accepted: dict[str, dict[str, Any]] = field(default_factory=dict)  # by local id
    calls: int = 0
    send_calls: int = 0
    failed_calls: int = 0
    timed_out_calls: int = 0
    invalid_calls: int = 0
    repeats: int = 0  # local ids sent again (absorbed)
    next_id: int = 1000
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.random = random.Random(self.seed)  # noqa: S311 (fault injection, not security)

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "accepted": list(self.accepted.values()),
                "calls": self.calls,
                "send_calls": self.send_calls,
                "failed_calls": self.failed_calls,
                "timed_out_calls": self.timed_out_calls,
                "invalid_calls": self.invalid_calls,
                "repeats": self.repeats,
            }

    def reset(self) -> None:
        with self.lock:
            self.accepted.clear()
            self.calls = self.send_calls = self.failed_calls = 0
            self.timed_out_calls = self.invalid_calls = self.repeats = 0


def _answer(status: int, message: str, entries: list[dict[str, Any]] | None = None) -> bytes:
    return json.dumps(
        {"return": {"status": status, "message": message}, "entries": entries}, ensure_ascii=False
    ).encode()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def _reply(self, http_status: int, body: bytes) -> None:
        self.send_response(http_status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path.startswith("/_fake/state"):
            self._reply(200, json.dumps(self.server.state.snapshot(), ensure_ascii=False).encode())
        else:
            self._reply(404, _answer(404, "not found"))

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in urllib.parse.parse_qs(self.rfile.read(length).decode()).items()}
        state = self.server.state
        method = self.path.rstrip("/").rsplit("/", 1)[-1].removesuffix(".json")
        with state.lock:
            state.calls += 1
            roll = state.random.random()
        if state.latency_ms:
            time.sleep(state.latency_ms / 1000)
        if method in ("sendarray", "send"):
            with state.lock:
                state.send_calls += 1
            if roll < state.timeout_rate:
                with state.lock:
                    state.timed_out_calls += 1
                time.sleep(state.timeout_sleep_s)
                self._reply(504, _answer(504, "timeout"))
                return
            if roll < state.timeout_rate + state.fail_rate:
                with state.lock:
                    state.failed_calls += 1
                self._reply(500, _answer(500, "خطای داخلی سامانه پیامک"))
                return
            self._send(method, form)
        elif method == "status":
            self._status(form)
        else:
            self._reply(404, _answer(404, "not found"))

    def _send(self, method: str, form: dict[str, str]) -> None:
        state = self.server.state
        try:
            if method == "sendarray":
                receptors = json.loads(form["receptor"])
                texts = json.loads(form["message"])
                local_ids = json.loads(form.get("localmessageids") or "[]") or [""] * len(receptors)
            else:
                receptors = form["receptor"].split(",")
                texts = [form["message"]] * len(receptors)
                local_ids = (
                    (form.get("localid") or "").split(",")
                    if form.get("localid")
                    else [""] * len(receptors)
                )
            if not (len(receptors) == len(texts) == len(local_ids)) or not receptors:
                raise ValueError
        except (KeyError, ValueError):
            self._reply(400, _answer(400, "پارامترها ناقص است"))
            return
        if state.invalid_prefix and any(str(r).startswith(state.invalid_prefix) for r in receptors):
            with state.lock:
                state.invalid_calls += 1
            self._reply(411, _answer(411, "گیرنده نامعتبر است"))
            return
        entries = []
        with state.lock:
            for receptor, text, local_id in zip(receptors, texts, local_ids, strict=True):
                key = str(local_id) or f"anon-{state.next_id}"
                known = state.accepted.get(key)
                if known is None:
                    state.next_id += 1
                    known = {
                        "messageid": state.next_id,
                        "receptor": receptor,
                        "message": text,
                        "localid": key,
                        "status": 1,
                    }
                    state.accepted[key] = known
                else:
                    state.repeats += 1
                entries.append({**known, "statustext": "در صف ارسال", "sender": form.get("sender")})
        self._reply(200, _answer(200, "تایید شد", entries))

    def _status(self, form: dict[str, str]) -> None:
        state = self.server.state
        ids = {int(i) for i in (form.get("messageid") or "").split(",") if i.strip().isdigit()}
        with state.lock:
            known = {m["messageid"]: m for m in state.accepted.values() if m["messageid"] in ids}
        entries = [{"messageid": i, "status": 10 if i in known else 100} for i in sorted(ids)]
        self._reply(200, _answer(200, "تایید شد", entries))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: FakeGatewayState


class FakeGateway:
    """The fake in a background thread: ``with FakeGateway(port=0) as fake: fake.url …``."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, **options: Any) -> None:
        self.state = FakeGatewayState(**options)
        self.server = _Server((host, port), _Handler)
        self.server.state = self.state
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeGateway:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> FakeGateway:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
