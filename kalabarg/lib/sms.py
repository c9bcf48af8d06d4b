"""SMS gateways behind one small interface: console (embedded default), memory (tests), HTTP.

The HTTP backend speaks a Kavenegar-style REST protocol (what the local fake gateway,
``manage.py fake_sms_gateway``, speaks too)::

    POST {SMS_HTTP_URL}/v1/{API_KEY}/sms/sendarray.json   form: receptor, sender, message,
         localmessageids — each a JSON array, one item per message (bulk, a different text each)
    POST {SMS_HTTP_URL}/v1/{API_KEY}/sms/status.json      form: messageid=1,2,3
    answer: {"return": {"status": 200, "message": "…"}, "entries": [{"messageid": 7, "status": 1, …}]}

``return.status`` 200 is success; 411 means an invalid receptor (a permanent failure: for a
bulk call the gateway refuses the whole call, so the client bisects the batch to find the bad
numbers); 5xx and network timeouts are transient. Our own message id travels as the
*local id*: a gateway that honours it sends a repeated local id only once, which is what
makes a resend after a crashed worker harmless (see docs/decisions.md, "SMS exactly once").
"""

from __future__ import annotations

import enum
import itertools
import json
import logging
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings

logger = logging.getLogger(__name__)


class Outcome(enum.StrEnum):
    SENT = "sent"  # accepted by the gateway; a delivery report may follow
    TRANSIENT = "transient"  # timeout, 5xx, connection refused: try again later
    PERMANENT = "permanent"  # invalid number and the like: never try again


class DeliveryState(enum.StrEnum):
    PENDING = "pending"  # still queued or in flight at the operator
    DELIVERED = "delivered"
    FAILED = "failed"  # undelivered, blocked, expired
    UNKNOWN = "unknown"  # the gateway does not know this id


@dataclass(frozen=True)
class OutgoingSms:
    """One message to send. ``local_id`` is our id, unique per send attempt generation."""

    local_id: str
    mobile: str
    body: str


@dataclass(frozen=True)
class SendResult:
    local_id: str
    outcome: Outcome
    provider_id: str = ""
    error_code: str = ""
    error: str = ""


@dataclass(frozen=True)
class StatusResult:
    provider_id: str
    state: DeliveryState
    provider_status: int = 0


class SmsGateway(Protocol):
    """What the rest of the project may ask of a gateway. ``send`` never raises for a gateway
    failure: every message gets a :class:`SendResult`, in the order given."""

    max_batch: int

    def send(self, messages: Sequence[OutgoingSms]) -> list[SendResult]: ...

    def status(self, provider_ids: Sequence[str]) -> list[StatusResult]: ...


# --- Console ------------------------------------------------------------------------------------

_CONSOLE_IDS = itertools.count(1)


# Runs of four or more digits (Latin or Persian): login codes and the like.
_CODE_LIKE = re.compile(r"\d{4,}")


def mask_codes(body: str) -> str:
    """``body`` with every run of four or more digits replaced by as many ``*``."""
    return _CODE_LIKE.sub(lambda match: "*" * len(match.group()), body)


class ConsoleGateway:
    """The embedded default: prints each message. Codes are masked unless ``DEBUG`` is on (a
    demo on a developer's machine needs to read its login code; a server's log must not hold it)."""

    max_batch = 500

    def __init__(self, *, sender: str) -> None:
        self.sender = sender

    def send(self, messages: Sequence[OutgoingSms]) -> list[SendResult]:
        results = []
        for message in messages:
            provider_id = f"console-{next(_CONSOLE_IDS)}"
            body = message.body if settings.DEBUG else mask_codes(message.body)
            print(f"[SMS from {self.sender} to {message.mobile}] {body}", flush=True)
            results.append(SendResult(message.local_id, Outcome.SENT, provider_id))
        return results

    def status(self, provider_ids: Sequence[str]) -> list[StatusResult]:
        return [StatusResult(pid, DeliveryState.DELIVERED, 10) for pid in provider_ids]


# --- Memory (tests) -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SentSms:
    local_id: str
    mobile: str
    body: str
    sender: str
    provider_id: str


_OUTBOX: list[SentSms] = []
_OUTBOX_BY_LOCAL_ID: dict[str, SentSms] = {}
_OUTBOX_LOCK = threading.Lock()


def memory_outbox() -> list[SentSms]:
    """A copy of what the memory backend has sent in this process, oldest first."""
    with _OUTBOX_LOCK:
        return list(_OUTBOX)


def clear_memory_outbox() -> None:
    with _OUTBOX_LOCK:
        _OUTBOX.clear()
        _OUTBOX_BY_LOCAL_ID.clear()


class MemoryGateway:
    """Keeps every message in a process-global list; a local id sent twice is stored once (like a
    gateway that honours local ids). Numbers starting with ``SMS_MEMORY_INVALID_PREFIX``
    (default ``0999``) fail permanently, so tests can exercise that path."""

    max_batch = 500

    def __init__(self, *, sender: str, invalid_prefix: str = "0999") -> None:
        self.sender = sender
        self.invalid_prefix = invalid_prefix

    def send(self, messages: Sequence[OutgoingSms]) -> list[SendResult]:
        results = []
        with _OUTBOX_LOCK:
            known = _OUTBOX_BY_LOCAL_ID
            for message in messages:
                if self.invalid_prefix and message.mobile.startswith(self.invalid_prefix):
                    results.append(
                        SendResult(
                            message.local_id, Outcome.PERMANENT, "", "411", "receptor invalid"
                        )
                    )
                    continue
                sent = known.get(message.local_id)
                if sent is None:
                    sent = SentSms(
                        message.local_id,
                        message.mobile,
                        message.body,
                        self.sender,
                        f"mem-{len(_OUTBOX) + 1}",
                    )
                    _OUTBOX.append(sent)
                    known[message.local_id] = sent
                results.append(SendResult(message.local_id, Outcome.SENT, sent.provider_id))
        return results

    def status(self, provider_ids: Sequence[str]) -> list[StatusResult]:
        with _OUTBOX_LOCK:
            known = {sms.provider_id for sms in _OUTBOX}
        return [
            StatusResult(pid, DeliveryState.DELIVERED if pid in known else DeliveryState.UNKNOWN)
            for pid in provider_ids
        ]


# --- HTTP (Kavenegar-style) -----------------------------------------------------------------------

# Kavenegar's per-message status codes.
_DELIVERED = {10}
_FAILED = {6, 11, 13, 14}
_UNKNOWN = {100}
INVALID_RECEPTOR = 411


class _Transient(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class HttpGateway:
    """A Kavenegar-style REST client on the standard library (no extra dependency): bulk send by
    ``sendarray`` with our local ids, status by provider ids; every call bounded by a timeout."""

    max_batch = 200

    def __init__(self, *, base_url: str, api_key: str, sender: str, timeout: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key or "-"
        self.sender = sender
        self.timeout = timeout

    def _call(self, method: str, form: dict[str, str]) -> list[dict[str, object]]:
        url = f"{self.base_url}/v1/{urllib.parse.quote(self.api_key)}/sms/{method}.json"
        data = urllib.parse.urlencode(form).encode()
        request = urllib.request.Request(url, data=data, method="POST")  # noqa: S310 (configured URL)
        request.add_header("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
        request.add_header("Accept", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                payload = json.loads(response.read().decode())
        except urllib.error.HTTPError as exc:
            try:
                payload = json.loads(exc.read().decode())
            except (ValueError, OSError):
                payload = {"return": {"status": exc.code, "message": str(exc.reason)}}
        except TimeoutError as exc:
            raise _Transient("timeout", f"gateway timed out after {self.timeout}s") from exc
        except (urllib.error.URLError, ConnectionError, OSError) as exc:
            raise _Transient("unreachable", f"gateway unreachable: {exc}") from exc
        except ValueError as exc:
            raise _Transient("bad_answer", "gateway answered something that is not JSON") from exc
        head = payload.get("return") or {}
        status = int(head.get("status") or 0)
        if status == 200:
            return list(payload.get("entries") or [])
        message = str(head.get("message") or "")
        if status >= 500 or status in (0, 429):
            raise _Transient(str(status), f"gateway error {status}: {message}")
        raise _Refused(status, message)

    def send(self, messages: Sequence[OutgoingSms]) -> list[SendResult]:
        if not messages:
            return []
        try:
            entries = self._call(
                "sendarray",
                {
                    "receptor": json.dumps([m.mobile for m in messages]),
                    "sender": json.dumps([self.sender] * len(messages), ensure_ascii=False),
                    "message": json.dumps([m.body for m in messages], ensure_ascii=False),
                    "localmessageids": json.dumps([m.local_id for m in messages]),
                },
            )
        except _Transient as exc:
            return [
                SendResult(m.local_id, Outcome.TRANSIENT, "", exc.code, str(exc)) for m in messages
            ]
        except _Refused as exc:
            if exc.status == INVALID_RECEPTOR and len(messages) > 1:
                # The gateway refuses a whole bulk call for one bad number: halve until found.
                middle = len(messages) // 2
                return self.send(messages[:middle]) + self.send(messages[middle:])
            outcome = Outcome.PERMANENT if exc.status == INVALID_RECEPTOR else Outcome.TRANSIENT
            # Other refusals (401 key, 418 credit, 412 sender) are the operator's to fix, not the
            # recipient's fault: transient, so the messages wait for the fix instead of being lost.
            return [
                SendResult(m.local_id, outcome, "", str(exc.status), str(exc) or "refused")
                for m in messages
            ]
        if len(entries) != len(messages):
            return [
                SendResult(m.local_id, Outcome.TRANSIENT, "", "bad_answer", "entries do not match")
                for m in messages
            ]
        return [
            SendResult(m.local_id, Outcome.SENT, str(entry.get("messageid") or ""))
            for m, entry in zip(messages, entries, strict=True)
        ]

    def status(self, provider_ids: Sequence[str]) -> list[StatusResult]:
        if not provider_ids:
            return []
        try:
            entries = self._call("status", {"messageid": ",".join(provider_ids)})
        except (_Transient, _Refused) as exc:
            logger.warning("SMS status poll failed: %s", exc)
            return []
        results = []
        for entry in entries:
            code = int(str(entry.get("status") or 0))
            if code in _DELIVERED:
                state = DeliveryState.DELIVERED
            elif code in _FAILED:
                state = DeliveryState.FAILED
            elif code in _UNKNOWN:
                state = DeliveryState.UNKNOWN
            else:
                state = DeliveryState.PENDING
            results.append(StatusResult(str(entry.get("messageid")), state, code))
        return results


def delivery_state(provider_status: int) -> DeliveryState:
    """A Kavenegar status code (as in delivery reports) as one of our delivery states."""
    if provider_status in _DELIVERED:
        return DeliveryState.DELIVERED
    if provider_status in _FAILED:
        return DeliveryState.FAILED
    if provider_status in _UNKNOWN:
        return DeliveryState.UNKNOWN
    return DeliveryState.PENDING


def get_gateway() -> SmsGateway:
    """The gateway named by ``settings.SMS_BACKEND`` (console | memory | http)."""
    backend = settings.SMS_BACKEND
    if backend == "memory":
        return MemoryGateway(
            sender=settings.SMS_SENDER,
            invalid_prefix=getattr(settings, "SMS_MEMORY_INVALID_PREFIX", "0999"),
        )
    if backend == "http":
        return HttpGateway(
            base_url=settings.SMS_HTTP_URL,
            api_key=settings.SMS_HTTP_API_KEY,
            sender=settings.SMS_SENDER,
            timeout=settings.SMS_HTTP_TIMEOUT_SECONDS,
        )
    return ConsoleGateway(sender=settings.SMS_SENDER)
