"""Portal test helpers: the SMS sent (login codes, decisions), a cache per test, signed-in clients."""

import re
from dataclasses import dataclass

import pytest
from django.core.cache import cache
from django.test import Client
from rest_framework.test import APIClient

from households import services
from households.models import Person


@dataclass
class SentSms:
    mobile: str
    kind: str
    body: str


class Outbox(list[SentSms]):
    def login_code(self, mobile: str) -> str:
        """The digits of the last login code sent to ``mobile``."""
        for sms in reversed(self):
            if sms.mobile == mobile and sms.kind == "login_code":
                from kalabarg.lib.persian import to_latin_digits

                match = re.search(r"\d{6}", to_latin_digits(sms.body))
                assert match, sms.body
                return match.group(0)
        raise AssertionError(f"no login code was sent to {mobile}")


@pytest.fixture
def sms_outbox(monkeypatch: pytest.MonkeyPatch) -> Outbox:
    """Every SMS the portal hands to the gateway in this test (a test's transaction never commits,
    so they are recorded when handed over; test_sms_goes_out_on_commit covers the commit)."""
    from kalabarg.portal import notify

    outbox = Outbox()

    def capture(person: Person, body: str, kind: str) -> None:
        outbox.append(SentSms(person.mobile, kind, body))

    monkeypatch.setattr(notify, "_send", capture)
    return outbox


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit counters and resend waits live in the cache: every test starts with none."""
    cache.clear()
    yield
    cache.clear()


def signed_in_client(person: Person) -> Client:
    """A browser session signed in as ``person`` (as after a successful SMS login)."""
    client = Client()
    session = client.session
    session["portal_person_id"] = person.pk
    session.save()
    return client


def api_client(person: Person) -> APIClient:
    key, _ = services.issue_access_token(person=person)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client
