"""Fixed-window rate limits in Django's cache (Redis under ``REDIS_URL``, local memory otherwise).

``cache.add`` starts a window with its expiry and ``cache.incr`` counts in it; both are atomic on
Redis, so concurrent requests on several web processes share one count. A limit is checked and
counted in one call; refused hits count too, so a client that keeps hammering stays refused
until the window ends.
"""

import hashlib
import math
import time
from dataclasses import dataclass

from django.core.cache import cache


@dataclass(frozen=True)
class Limit:
    """At most ``limit`` hits per ``window_seconds`` for one key of ``scope``."""

    scope: str
    limit: int
    window_seconds: int


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int


def _key(limit: Limit, subject: str) -> str:
    # Subjects (national codes, IPs) are hashed so the cache never holds them in clear.
    digest = hashlib.sha256(subject.encode()).hexdigest()[:32]
    window = int(time.time()) // limit.window_seconds
    return f"rl:{limit.scope}:{digest}:{window}"


def _retry_after(limit: Limit) -> int:
    return limit.window_seconds - int(time.time()) % limit.window_seconds or 1


def hit(limit: Limit, subject: str) -> Verdict:
    """Count one hit of ``subject`` against ``limit``; refused once more than ``limit`` in the window."""
    key = _key(limit, subject)
    if cache.add(key, 1, timeout=limit.window_seconds + 1):
        return Verdict(True, 0)
    try:
        count = cache.incr(key)
    except ValueError:  # the window expired between add and incr: start a new one
        cache.add(key, 1, timeout=limit.window_seconds + 1)
        return Verdict(True, 0)
    if count > limit.limit:
        return Verdict(False, _retry_after(limit))
    return Verdict(True, 0)


def exceeded(limit: Limit, subject: str) -> Verdict:
    """Whether ``subject`` has used up ``limit`` in this window (nothing is counted)."""
    count = cache.get(_key(limit, subject)) or 0
    if count >= limit.limit:
        return Verdict(False, _retry_after(limit))
    return Verdict(True, 0)


def hold(scope: str, subject: str, seconds: int) -> int:
    """Start a wait of ``seconds`` for ``subject``; 0 if started, else the seconds still to wait."""
    key = f"hold:{scope}:{hashlib.sha256(subject.encode()).hexdigest()[:32]}"
    until = time.time() + seconds
    if cache.add(key, until, timeout=seconds):
        return 0
    started_until = cache.get(key)
    if started_until is None:  # expired just now
        cache.add(key, until, timeout=seconds)
        return 0
    return max(1, math.ceil(started_until - time.time()))


def clear_hold(scope: str, subject: str) -> None:
    cache.delete(f"hold:{scope}:{hashlib.sha256(subject.encode()).hexdigest()[:32]}")
