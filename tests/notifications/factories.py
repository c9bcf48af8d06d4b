"""Test data for SMS (factory-boy): heads of household in given deciles, a phase covering them,
and outbox messages as the dispatcher leaves them."""

import datetime as dt

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from households.models import Person
from notifications.models import MessageStatus, SmsMessage
from settlements.models import Phase
from tests.households.factories import HouseholdFactory
from tests.settlements.factories import PhaseBandFactory, PhaseFactory


class SmsMessageFactory(DjangoModelFactory):
    """A message in the outbox, to the head of a new household; sent unless told otherwise."""

    class Meta:
        model = SmsMessage

    person = factory.LazyFunction(lambda: HouseholdFactory().members.get(is_head=True))
    kind = "login_code"
    mobile = factory.LazyAttribute(lambda message: message.person.mobile)
    body = "x"
    status = MessageStatus.SENT
    dedupe_key = factory.Sequence(lambda n: f"test-{n}")
    next_attempt_at = factory.LazyFunction(timezone.now)
    created_at = factory.SelfAttribute("next_attempt_at")
    updated_at = factory.SelfAttribute("next_attempt_at")
    sent_at = factory.SelfAttribute("next_attempt_at")


def heads_in_deciles(counts: dict[int, int]) -> list[Person]:
    heads = []
    for decile, count in counts.items():
        for _ in range(count):
            household = HouseholdFactory(decile=decile)
            heads.append(Person.objects.get(household=household, is_head=True))
    return heads


def phase_for_notices() -> Phase:
    """A phase in force today: deciles 1–3 and 4–5 with different amounts."""
    phase = PhaseFactory(
        name="مرحله پیامک",
        starts_on=dt.date(2020, 1, 1),
        band__min_decile=1, band__max_decile=3, band__credit_per_cycle_rial=4_000_000,
        band__bonus_threshold_rial=2_000_000, band__bonus_amount_rial=1_200_000,
        band__cash_subsidy_rial=0,
    )  # fmt: skip
    PhaseBandFactory(
        phase=phase, min_decile=4, max_decile=5, credit_per_cycle_rial=3_000_000,
        bonus_threshold_rial=2_500_000, bonus_amount_rial=1_500_000, cash_subsidy_rial=0,
    )  # fmt: skip
    return phase


def point_sms_at(*, monkeypatch, settings, worker, gateway_url: str) -> None:  # type: ignore[no-untyped-def]
    """Send this test's SMS through ``worker``'s private queue to the fake HTTP gateway at
    ``gateway_url``, with short leases and small batches (the worker inherits the environment)."""
    settings.SMS_QUEUE = worker.queue
    for name, value in {
        "SMS_QUEUE": worker.queue,
        "SMS_BACKEND": "http",
        "SMS_HTTP_URL": gateway_url,
        "SMS_LEASE_SECONDS": "3",
        "SMS_BATCH_SIZE": "20",
        "SMS_RATE_PER_SECOND": "100000",
        "SMS_HTTP_TIMEOUT_SECONDS": "5",
    }.items():
        monkeypatch.setenv(name, value)
