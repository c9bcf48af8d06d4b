"""Shared test set-up: service markers that skip locally and fail in CI (REQUIRE_SERVICES=1), and
the test client whose force_login is a whole officer login (password and TOTP code)."""

import importlib.util
import os
from typing import Any

import pytest
from django.conf import settings
from django.http import HttpRequest
from django.test import Client, override_settings

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def _missing_service(item: pytest.Item) -> str | None:
    if item.get_closest_marker("postgres") and not settings.IS_POSTGRES:
        return "needs PostgreSQL: set DATABASE_URL=postgres://…"
    if item.get_closest_marker("redis") and not settings.REDIS_URL:
        return "needs Redis: set REDIS_URL=redis://…"
    if item.get_closest_marker("topology"):
        from ops.pgtopology import missing_prerequisite

        if reason := missing_prerequisite():
            return f"starts its own PostgreSQL clusters and PgBouncer: {reason}"
    if item.get_closest_marker("browser"):
        if not os.access(CHROMIUM, os.X_OK):
            return f"needs Debian's Chromium at {CHROMIUM}: apt-get install chromium"
        if importlib.util.find_spec("playwright") is None:
            return "needs the playwright package: uv sync"
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    reason = _missing_service(item)
    if reason is None:
        return
    if settings.REQUIRE_SERVICES:
        pytest.fail(f"REQUIRE_SERVICES=1 but this test {reason}", pytrace=False)
    pytest.skip(reason)


def pytest_configure(config: pytest.Config) -> None:
    # WhiteNoise warns at start-up that STATIC_ROOT is missing: the suite never runs collectstatic
    # (except tests/e2e/test_production_web.py, into a directory of its own).
    config.addinivalue_line("filterwarnings", "ignore:No directory at:UserWarning")
    _test_client_settings.enable()


def pytest_unconfigure(config: pytest.Config) -> None:
    _test_client_settings.disable()


def pytest_sessionstart(session: pytest.Session) -> None:
    if settings.REQUIRE_SERVICES and not (settings.IS_POSTGRES and settings.REDIS_URL):
        raise pytest.UsageError("REQUIRE_SERVICES=1 needs DATABASE_URL (PostgreSQL) and REDIS_URL")


# The production defaults minus two things the in-process test client cannot have: the HTTPS
# redirect (the test client speaks plain HTTP, so every request would get a 301) and the manifest
# static storage (it needs `collectstatic` first). Enabled from pytest_configure, before
# collection, because some modules request pages at import (tests/api/test_contract.py loads the
# OpenAPI document). Subprocesses (gunicorn, workers) get the real settings:
# tests/e2e/test_production_web.py runs gunicorn exactly as production.
_test_client_settings = override_settings(
    SECURE_SSL_REDIRECT=False,
    STORAGES={
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    },
)


@pytest.fixture(autouse=True)
def _celery_eager_unless_a_real_worker(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """Tasks run in-process in tests, except in tests that start a real worker (``celery_worker``)."""
    from kalabarg.celery import app

    eager = request.node.get_closest_marker("celery_worker") is None
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = eager
    yield
    app.conf.task_always_eager = previous


class OfficerClient(Client):
    """The test client, where ``force_login`` of an officer stands for a whole admin login.

        ``force_login`` skips the password; with ``OFFICER_TOTP_REQUIRED`` (on in tests, as in
        production) the admin also wants a confirmed TOTP code, so for a staff user this also marks
        the session verified by a TOTP device, as the login form does (``login`` checks the password
    only, like the stock client). The login itself (password,
        code, lockout) is tested through the form in tests/lib/test_officer_login.py."""

    def login(self, **credentials: Any) -> bool:
        # django-axes' backend refuses to authenticate without a request (it counts failures
        # per address); the stock client.login passes none.
        credentials.setdefault("request", HttpRequest())
        return super().login(**credentials)

    def force_login(self, user: Any, backend: str | None = None) -> None:
        super().force_login(user, backend)
        if not user.is_staff:
            return
        from django_otp import DEVICE_ID_SESSION_KEY
        from django_otp.plugins.otp_totp.models import TOTPDevice

        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name="test", confirmed=True)
        session = self.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()


@pytest.fixture
def client() -> OfficerClient:
    return OfficerClient()


@pytest.fixture
def admin_client(db: None, admin_user: Any) -> OfficerClient:
    officer = OfficerClient()
    officer.force_login(admin_user)
    return officer
