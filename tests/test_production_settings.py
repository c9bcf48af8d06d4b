"""A production start (DEBUG off on PostgreSQL) refuses missing or weak keys, naming the variable;
its other defaults are production's, and ``check --deploy`` passes with only the five variables
an operator must set."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.worker import worker_database_url

ROOT = Path(__file__).resolve().parent.parent
GOOD_SECRET = "secret-" + "Zq8r" * 15
GOOD_CARD_KEY = "card-" + "Hw3p" * 15
PRODUCTION = {"DATABASE_URL": "postgres://u@127.0.0.1:5432/x", "DEBUG": "0"}


def run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``code`` in a fresh interpreter whose environment holds PATH and ``env`` only (no .env
    file exists in a checkout; the suite's own variables are left out)."""
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "kalabarg.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def start(**env: str) -> subprocess.CompletedProcess[str]:
    return run_python("import django; django.setup()", **env)


@pytest.mark.parametrize(
    ("keys", "variable", "reason"),
    [
        ({"CARD_HASH_KEY": GOOD_CARD_KEY}, "SECRET_KEY", "must be set"),
        ({"SECRET_KEY": GOOD_SECRET}, "CARD_HASH_KEY", "must be set"),
        ({"SECRET_KEY": "", "CARD_HASH_KEY": GOOD_CARD_KEY}, "SECRET_KEY", "must be set"),
        (  # the old committed default
            {
                "SECRET_KEY": "kalabarg-insecure-development-key-change-me",
                "CARD_HASH_KEY": GOOD_CARD_KEY,
            },
            "SECRET_KEY",
            "is a development value",
        ),
        (  # Django's startproject keys
            {"SECRET_KEY": "django-insecure-" + "x" * 50, "CARD_HASH_KEY": GOOD_CARD_KEY},
            "SECRET_KEY",
            "is a development value",
        ),
        (  # .env.example's placeholder, padded to length
            {"SECRET_KEY": GOOD_SECRET, "CARD_HASH_KEY": "change-me-too" + "x" * 50},
            "CARD_HASH_KEY",
            "is a development value",
        ),
        (
            {"SECRET_KEY": "s" * 49, "CARD_HASH_KEY": GOOD_CARD_KEY},
            "SECRET_KEY",
            "must be at least 50",
        ),
        (
            {"SECRET_KEY": GOOD_SECRET, "CARD_HASH_KEY": "c" * 49},
            "CARD_HASH_KEY",
            "must be at least 50",
        ),
        (
            {"SECRET_KEY": GOOD_SECRET, "CARD_HASH_KEY": GOOD_SECRET},
            "CARD_HASH_KEY",
            "must differ from SECRET_KEY",
        ),
    ],
)
def test_a_production_start_refuses_a_missing_or_weak_key_naming_it(keys, variable, reason):
    result = start(**PRODUCTION, **keys)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert f"{variable} {reason}" in result.stderr


def test_a_production_start_with_two_strong_different_keys_runs():
    result = start(**PRODUCTION, SECRET_KEY=GOOD_SECRET, CARD_HASH_KEY=GOOD_CARD_KEY)

    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "env", [{"DEBUG": "1", "DATABASE_URL": "postgres://u@127.0.0.1:5432/x"}, {"DEBUG": "0"}]
)
def test_development_starts_need_no_keys_and_the_card_key_is_not_the_secret_key(env):
    """DEBUG (make demo) or the embedded SQLite default run on development keys — two of them,
    so the card hashes never depend on SECRET_KEY."""
    result = run_python(
        "import django; django.setup(); from django.conf import settings as s; "
        "print(bool(s.SECRET_KEY), bool(s.CARD_HASH_KEY), s.SECRET_KEY != s.CARD_HASH_KEY)",
        **env,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True", "True"]


def test_production_defaults_are_https_behind_the_proxy_whitenoise_and_a_csp():
    result = run_python(
        "import django; django.setup(); from django.conf import settings as s; "
        "m = s.MIDDLEWARE; "
        "print(s.SECURE_PROXY_SSL_HEADER, s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, "
        "s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
        "s.SECURE_REFERRER_POLICY, s.X_FRAME_OPTIONS, sep='|'); "
        "print(m[m.index('django.middleware.security.SecurityMiddleware') + 1]); "
        "print(s.STORAGES['staticfiles']['BACKEND']); "
        "print('csp.middleware.CSPMiddleware' in m, s.CONTENT_SECURITY_POLICY['DIRECTIVES']['style-src'])",
        **PRODUCTION,
        SECRET_KEY=GOOD_SECRET,
        CARD_HASH_KEY=GOOD_CARD_KEY,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "('HTTP_X_FORWARDED_PROTO', 'https')|True|31536000|True|True|True|same-origin|DENY",
        "whitenoise.middleware.WhiteNoiseMiddleware",
        "whitenoise.storage.CompressedManifestStaticFilesStorage",
        "True [\"'self'\"]",
    ]


def test_the_suite_turns_only_the_https_redirect_and_the_manifest_off(settings, client):
    """tests/conftest.py: the test client speaks plain HTTP and nothing ran collectstatic."""
    assert settings.SECURE_SSL_REDIRECT is False
    assert settings.STORAGES["staticfiles"]["BACKEND"].endswith(".StaticFilesStorage")
    response = client.get("/login/")
    assert response.status_code == 200
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"


def test_a_request_over_plain_http_is_redirected_to_https_except_the_health_check(settings, client):
    settings.SECURE_SSL_REDIRECT = True

    assert client.get("/login/").status_code == 301
    assert client.get("/login/").headers["Location"] == "https://testserver/login/"
    assert client.get("/login/", headers={"X-Forwarded-Proto": "https"}).status_code == 200
    assert client.get("/healthz").status_code != 301


@pytest.mark.postgres
@pytest.mark.django_db
def test_check_deploy_passes_with_only_the_five_production_variables():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={
            "PATH": os.environ["PATH"],
            "DEBUG": "0",
            "SECRET_KEY": GOOD_SECRET,
            "CARD_HASH_KEY": GOOD_CARD_KEY,
            "ALLOWED_HOSTS": "kalabarg.example.ir",
            "DATABASE_URL": worker_database_url(),
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
