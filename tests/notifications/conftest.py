"""SMS tests use the in-memory gateway unless they say otherwise, with an empty outbox."""

import pytest

from kalabarg.lib.sms import clear_memory_outbox


@pytest.fixture(autouse=True)
def _memory_sms(settings):  # type: ignore[no-untyped-def]
    settings.SMS_BACKEND = "memory"
    settings.SMS_RATE_PER_SECOND = 100_000
    clear_memory_outbox()
    yield
    clear_memory_outbox()


@pytest.fixture
def fake_gateway(settings):  # type: ignore[no-untyped-def]
    """The local fake gateway in a thread; SMS_BACKEND=http points at it."""
    from devdata.fake_sms_gateway import FakeGateway

    with FakeGateway(port=0, invalid_prefix="0999", timeout_sleep_s=1.5) as fake:
        settings.SMS_BACKEND = "http"
        settings.SMS_HTTP_URL = fake.url
        settings.SMS_HTTP_TIMEOUT_SECONDS = 1
        yield fake
