"""Start-up configuration: the embedded default, and a clear ImproperlyConfigured for bad values."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SERVICE_VARIABLES = (
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "SMS_BACKEND",
    "REQUIRE_SERVICES",
    "DEBUG",
)


def start_django(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {key: value for key, value in os.environ.items() if key not in SERVICE_VARIABLES}
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.CELERY_TASK_ALWAYS_EAGER, s.CACHES['default']['BACKEND'], s.SMS_BACKEND)"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "kalabarg.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_with_no_environment_the_embedded_default_runs():
    result = start_django()

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.sqlite3",
        "True",
        "django.core.cache.backends.locmem.LocMemCache",
        "console",
    ]


def test_database_and_redis_urls_switch_to_the_real_services():
    result = start_django(
        DATABASE_URL="postgres://u@127.0.0.1:5432/x",
        REDIS_URL="redis://127.0.0.1:6379/0",
        # DEBUG off on PostgreSQL is a production start: it needs keys of its own.
        SECRET_KEY="s" * 50,
        CARD_HASH_KEY="c" * 50,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[:3] == [
        "django.db.backends.postgresql",
        "False",
        "django.core.cache.backends.redis.RedisCache",
    ]


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("DATABASE_URL", "mysql://x", "DATABASE_URL must be a URL with scheme"),
        ("REDIS_URL", "http://localhost", "REDIS_URL must be a URL with scheme"),
        ("SMS_BACKEND", "pigeon", "SMS_BACKEND must be console, memory or http"),
        ("DEBUG", "maybe", "DEBUG must be a boolean"),
        ("SESSION_IDLE_SECONDS", "soon", "SESSION_IDLE_SECONDS must be a whole number"),
        ("MONEY_DISPLAY_UNIT", "dollar", "MONEY_DISPLAY_UNIT must be toman or rial"),
    ],
)
def test_a_malformed_value_stops_start_up_with_improperly_configured(variable, value, message):
    result = start_django(**{variable: value})

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr
