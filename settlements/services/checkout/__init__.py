"""POS checkout: authorise a basket purchase by a card (or payment code) of a household head,
split it base / credit / compensation, post it, and reverse it — safely under retries.

One module per part:

- ``errors``      — ``CheckoutError`` (a stable code, a Persian message, the field; no HTTP status)
- ``idempotency`` — the request's record: replay, remember, the answer to a duplicate, retries
- ``pricing``     — the lines checked and priced, rounded per line, half up
- ``basket``      — the request as the checkout holds it, the payer's checks, the priced basket
- ``answers``     — the answers to a purchase and a reversal, and their receipts
- ``write``       — the write from Python, or in one call of ``checkout_record_purchase``
- ``reversal``    — ``reverse_purchase`` and its bonus claw-back
- ``purchase``    — ``checkout()``, the entry point
"""

from settlements.services.checkout.answers import (
    purchase_answer,
    purchase_answer_known_before_the_write,
    purchase_receipt,
)
from settlements.services.checkout.errors import CheckoutError
from settlements.services.checkout.idempotency import CheckoutResult, request_fingerprint
from settlements.services.checkout.pricing import MAX_LINES, MAX_QUANTITY, LineRequest
from settlements.services.checkout.purchase import checkout
from settlements.services.checkout.reversal import reverse_purchase

__all__ = [
    "MAX_LINES",
    "MAX_QUANTITY",
    "CheckoutError",
    "CheckoutResult",
    "LineRequest",
    "checkout",
    "purchase_answer",
    "purchase_answer_known_before_the_write",
    "purchase_receipt",
    "request_fingerprint",
    "reverse_purchase",
]
