"""Shared test set-up: service markers that skip locally and fail in CI (REQUIRE_SERVICES=1)."""

import pytest
from django.conf import settings


def _missing_service(item: pytest.Item) -> str | None:
    if item.get_closest_marker("postgres") and not settings.IS_POSTGRES:
        return "needs PostgreSQL: set DATABASE_URL=postgres://…"
    if item.get_closest_marker("redis") and not settings.REDIS_URL:
        return "needs Redis: set REDIS_URL=redis://…"
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    reason = _missing_service(item)
    if reason is None:
        return
    if settings.REQUIRE_SERVICES:
        pytest.fail(f"REQUIRE_SERVICES=1 but this test {reason}", pytrace=False)
    pytest.skip(reason)


def pytest_sessionstart(session: pytest.Session) -> None:
    if settings.REQUIRE_SERVICES and not (settings.IS_POSTGRES and settings.REDIS_URL):
        raise pytest.UsageError("REQUIRE_SERVICES=1 needs DATABASE_URL (PostgreSQL) and REDIS_URL")
