"""The demo seed's tests sign in through the portal: each starts with an empty cache."""

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _fresh_cache():  # type: ignore[no-untyped-def]
    """Rate-limit counters and resend waits live in the cache: every test starts with none."""
    cache.clear()
    yield
    cache.clear()
