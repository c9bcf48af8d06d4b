"""Wrong payment codes per terminal: a terminal may not try 8-digit codes until one matches.

At most ``PAYMENT_CODE_MAX_FAILURES_PER_HOUR`` refused payment codes per terminal per (fixed,
clock) hour, counted in the cache (Redis in production: every web process shares the count).
Only payment-code purchases look at the count, and only a refused code writes — a card purchase,
the hot path, neither reads nor writes anything here. Once a terminal reaches the limit its
payment-code purchases, even with a right code, are refused until the hour ends, and the terminal
is flagged for officers (``Terminal.payment_code_blocked_until``).
"""

import datetime as dt

from django.conf import settings
from django.utils import timezone

from kalabarg.lib import ratelimit
from settlements.services.checkout.errors import CheckoutError
from stores.services import flag_payment_code_attempts

WINDOW_SECONDS = 60 * 60
ATTEMPTS_EXCEEDED = "payment_code_attempts_exceeded"
# The codes that mean "a payment code was tried and matched no one's live code".
FAILURES = frozenset({"payment_code_invalid"})


def _limit() -> ratelimit.Limit:
    return ratelimit.Limit(
        "pos-payment-code-failures", settings.PAYMENT_CODE_MAX_FAILURES_PER_HOUR, WINDOW_SECONDS
    )


def refuse_if_blocked(*, terminal_id: int) -> None:
    """Refuse a payment-code purchase from a terminal that has used up its wrong tries."""
    verdict = ratelimit.exceeded(_limit(), str(terminal_id))
    if not verdict.allowed:
        raise CheckoutError(
            ATTEMPTS_EXCEEDED,
            "این پایانه بیش از حد مجاز کد خرید نادرست فرستاده است؛ "
            "تا پایان این ساعت با کارت بانکی پرداخت کنید",
            field="payment_code",
            retry_after=verdict.retry_after,
        )


def count_failure(*, terminal_id: int) -> None:
    """Count one refused payment code of the terminal; flag it once the limit is reached."""
    limit = _limit()
    ratelimit.hit(limit, str(terminal_id))
    verdict = ratelimit.exceeded(limit, str(terminal_id))
    if not verdict.allowed:
        flag_payment_code_attempts(
            terminal_id=terminal_id,
            until=timezone.now() + dt.timedelta(seconds=verdict.retry_after),
        )
