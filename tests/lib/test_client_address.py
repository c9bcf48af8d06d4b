"""The client's address for per-IP limits: X-Forwarded-For is believed only from a trusted proxy."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kalabarg.lib.client_address import client_address


@pytest.fixture(autouse=True)
def _proxy(settings):  # type: ignore[no-untyped-def]
    settings.TRUSTED_PROXIES = ["10.0.0.1", "10.9.0.0/16"]


def test_a_forwarded_for_header_from_an_untrusted_peer_is_ignored():
    meta = {"REMOTE_ADDR": "203.0.113.9", "HTTP_X_FORWARDED_FOR": "198.51.100.1"}

    assert client_address(meta=meta) == "203.0.113.9"


def test_behind_a_trusted_proxy_the_client_is_the_address_it_forwarded():
    meta = {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "198.51.100.1"}

    assert client_address(meta=meta) == "198.51.100.1"


def test_addresses_the_client_wrote_left_of_the_proxys_are_not_believed():
    # The client sent "X-Forwarded-For: 1.2.3.4"; the proxy appended the peer it saw.
    meta = {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "1.2.3.4, 198.51.100.1"}

    assert client_address(meta=meta) == "198.51.100.1"


def test_a_chain_of_trusted_proxies_is_walked_from_the_right():
    meta = {
        "REMOTE_ADDR": "10.0.0.1",
        "HTTP_X_FORWARDED_FOR": "1.2.3.4, 198.51.100.1, 10.9.3.4",
    }

    assert client_address(meta=meta) == "198.51.100.1"


def test_a_trusted_proxy_without_the_header_is_the_client():
    assert client_address(meta={"REMOTE_ADDR": "10.0.0.1"}) == "10.0.0.1"


def test_a_malformed_trusted_proxies_setting_stops_start_up():
    root = Path(__file__).resolve().parent.parent.parent
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "kalabarg.settings"}
    env["TRUSTED_PROXIES"] = "127.0.0.1, not-an-address"

    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=root, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "TRUSTED_PROXIES" in result.stderr
