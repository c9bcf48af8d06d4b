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
