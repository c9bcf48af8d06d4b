"""The idempotency record of a POS request: replay, remember, the answer to a duplicate, retries.

Every request carries an ``Idempotency-Key``. Its record is written in the same transaction as
the purchase, so a retry with the same key and body gets the original answer, one with another
body gets ``idempotency_key_reused``, and a concurrent duplicate waits on the record's unique key
and then gets the same answer (or ``request_in_progress`` if the first is still in flight).
"""

import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from kalabarg.lib.hot_sql import hot_cursor
from settlements.selectors import PurchaseContext
from settlements.services.checkout.errors import CheckoutError
from stores.models import IdempotencyRecord, Terminal

logger = logging.getLogger(__name__)

TRANSIENT_ATTEMPTS = 3


@dataclass(frozen=True)
class CheckoutResult:
    """An answer to a POS request: its status (201 purchase, 200 reversal), body, and whether it
    is a replay of an earlier answer under the same key."""

    status: int
    body: dict[str, Any]
    replayed: bool


def request_fingerprint(*, body: dict[str, Any]) -> str:
    """Keyed hash of the canonical request body (it holds a card number, so never a plain hash)."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hmac.new(settings.CARD_HASH_KEY.encode(), canonical.encode(), hashlib.sha256).hexdigest()


def retrying(*, work: Callable[[], CheckoutResult]) -> CheckoutResult:
    """Retry serialization failures, deadlocks and lock timeouts a bounded number of times."""
    for attempt in range(1, TRANSIENT_ATTEMPTS + 1):
        try:
            return work()
        except OperationalError:
            if attempt == TRANSIENT_ATTEMPTS:
                raise
            logger.warning("checkout attempt %s hit a transient database error; retrying", attempt)
    raise AssertionError("unreachable")


def _key_reused() -> CheckoutError:
    return CheckoutError(
        "idempotency_key_reused",
        "این کلید یکتایی پیش‌تر برای درخواست دیگری به کار رفته است",
        field="Idempotency-Key",
    )


def replay(
    *, terminal: Terminal, key: str, operation: str, fingerprint: str
) -> CheckoutResult | None:
    """The answer remembered under ``key``, if any; a refusal if it was for another request."""
    record = IdempotencyRecord.objects.filter(terminal=terminal, key=key).first()
    if record is None:
        return None
    if record.operation != operation or record.fingerprint != fingerprint:
        raise _key_reused()
    return CheckoutResult(record.response_status, record.response_body, replayed=True)


def replay_from_context(
    *, context: PurchaseContext, operation: str, fingerprint: str
) -> CheckoutResult | None:
    """As :func:`replay`, from the record the checkout's context read already found."""
    if context.replay_operation is None:
        return None
    if context.replay_operation != operation or context.replay_fingerprint != fingerprint:
        raise _key_reused()
    return CheckoutResult(context.replay_status or 200, context.replay_body, replayed=True)


def remember(
    *,
    terminal: Terminal,
    key: str,
    operation: str,
    fingerprint: str,
    purchase_id: int,
    status: int,
    body: dict[str, Any],
) -> None:
    """The idempotency record, in the purchase's transaction: one plain statement."""
    body_param = "CAST(%s AS jsonb)" if connection.vendor == "postgresql" else "%s"
    with hot_cursor() as cursor:
        cursor.execute(
            "INSERT INTO stores_idempotencyrecord (terminal_id, key, operation, fingerprint, purchase_id, "
            f"response_status, response_body, created_at) VALUES (%s, %s, %s, %s, %s, %s, {body_param}, %s)",
            [
                terminal.pk,
                key,
                operation,
                fingerprint,
                purchase_id,
                status,
                json.dumps(body, ensure_ascii=False),
                connection.ops.adapt_datetimefield_value(timezone.now()),
            ],
        )


def with_idempotency(
    *,
    terminal: Terminal,
    key: str,
    operation: str,
    fingerprint: str,
    work: Callable[[], tuple[int, dict[str, Any]]],
    status: int,
    checked: bool = False,
) -> CheckoutResult:
    """Run ``work`` and remember its answer under the key, in one transaction, retrying transient
    errors. ``checked``: the caller has already looked the key up (the checkout's context read)."""
    if not checked:
        earlier = replay(terminal=terminal, key=key, operation=operation, fingerprint=fingerprint)
        if earlier is not None:
            return earlier

    def attempt() -> CheckoutResult:
        with transaction.atomic():
            purchase_id, body = work()
            remember(
                terminal=terminal,
                key=key,
                operation=operation,
                fingerprint=fingerprint,
                purchase_id=purchase_id,
                status=status,
                body=body,
            )
        return CheckoutResult(status, body, replayed=False)

    try:
        return retrying(work=attempt)
    except IntegrityError:
        return answer_to_duplicate(
            terminal=terminal, key=key, operation=operation, fingerprint=fingerprint
        )


def answer_to_duplicate(
    *, terminal: Terminal, key: str, operation: str, fingerprint: str
) -> CheckoutResult:
    """The same key committed concurrently (our insert waited for it, then collided): its answer."""
    earlier = replay(terminal=terminal, key=key, operation=operation, fingerprint=fingerprint)
    if earlier is not None:
        return earlier
    raise CheckoutError(
        "request_in_progress", "درخواستی با همین کلید در حال انجام است؛ کمی بعد دوباره بفرستید"
    )
