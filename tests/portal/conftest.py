"""Portal test helpers: the SMS sent (login codes, decisions), a cache per test, signed-in clients."""

import re
from dataclasses import dataclass

import pytest
from django.core.cache import cache
from django.test import Client
from rest_framework.test import APIClient

from households import services
from households.models import Person
from kalabarg.portal.auth import mobile_digest


@dataclass
class SentSms:
    id: int
    mobile: str
    kind: str
    body: str


class Outbox:
    """The SMS queued in this test, oldest first (read from the notifications outbox table: a
    test's transaction never commits, so the gateway itself sends only in live-server tests)."""

    def _all(self) -> list[SentSms]:
        from notifications.models import SmsMessage

        return [
            SentSms(m.pk, m.mobile, m.kind, m.body)
            for m in SmsMessage.objects.order_by("id").only("mobile", "kind", "body")
        ]

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())

    def __getitem__(self, index: int) -> SentSms:
        return self._all()[index]

    def login_code(self, mobile: str) -> str:
        """The digits of the last login code sent to ``mobile``: the outbox holds it masked, so
        from the body waiting in the cache to be sent, or else the one the memory gateway got."""
        from kalabarg.lib.persian import to_latin_digits
        from kalabarg.lib.sms import memory_outbox
        from notifications.services.personal import secret_body_key

        for sms in reversed(self._all()):
            if sms.mobile == mobile and sms.kind == "login_code":
                body = cache.get(secret_body_key(message_id=sms.id)) or next(
                    (s.body for s in memory_outbox() if s.local_id.startswith(f"{sms.id}-")), ""
                )
                match = re.search(r"\d{6}", to_latin_digits(body))
                assert match, sms.body
                return match.group(0)
        raise AssertionError(f"no login code was sent to {mobile}")


@pytest.fixture
def sms_outbox(settings) -> Outbox:  # type: ignore[no-untyped-def]
    """The SMS the portal queued in this test (memory gateway, nothing leaves the machine)."""
    from kalabarg.lib.sms import clear_memory_outbox

    settings.SMS_BACKEND = "memory"
    clear_memory_outbox()
    return Outbox()


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
    session["portal_mobile_digest"] = mobile_digest(person)
    session.save()
    return client


def api_client(person: Person) -> APIClient:
    key, _ = services.issue_access_token(person=person)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client
