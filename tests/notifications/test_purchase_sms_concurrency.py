"""Purchase messages stay exactly once when builders overlap, and while purchases go on
(PostgreSQL, threads with their own connections)."""

import pytest

from notifications.models import SmsKind, SmsMessage
from notifications.services.purchases import queue_purchase_messages
from stores.models import Purchase
from tests.concurrency import in_threads
from tests.households.factories import make_household
from tests.settlements.factories import buy, charge, this_month

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_builders_running_at_once_while_purchases_commit_text_each_purchase_once():
    households = [make_household(decile=4) for _ in range(4)]
    cycle = charge(this_month())
    for household in households[:2]:
        buy(household, cycle=cycle, base=100_000, current=200_000)

    def work(index: int) -> object:
        if index < 2:  # two more purchases commit while three builders run
            return buy(households[2 + index], cycle=cycle, base=100_000, current=200_000).pk
        return queue_purchase_messages()

    results = in_threads(5, work)
    assert not [r for r in results if isinstance(r, Exception)], results
    queue_purchase_messages()  # the next minute's run picks up whatever committed last

    purchases = set(Purchase.objects.values_list("pk", flat=True))
    keys = list(
        SmsMessage.objects.filter(kind=SmsKind.PURCHASE_MADE).values_list("dedupe_key", flat=True)
    )
    assert sorted(keys) == sorted(f"purchase:{pk}" for pk in purchases)
    assert len(purchases) == 4
    built = [id_ for r in results[2:] for id_ in r]  # type: ignore[union-attr]
    assert len(built) == len(set(built))
