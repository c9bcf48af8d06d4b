"""The pages keep what they build in the cache, keyed by the refresh's id; ids repeat between
tests on SQLite (a rolled-back insert gives its id back), so every test starts with an empty cache."""

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _empty_cache():  # type: ignore[no-untyped-def]
    cache.clear()
    yield
    cache.clear()
