"""The purchases admin: read-only, searched by store (name or id), terminal, card's last four,
household and a Jalali date range, never counting the whole table; each purchase's page shows its
lines, split, ledger entries and reversal."""

import datetime as dt

import jdatetime
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from kalabarg.lib.persian import to_persian_digits
from settlements.models import EntryKind, JournalEntry
from stores.models import PurchaseStatus
from tests.households.factories import make_household
from tests.lib.factories import PERSIAN
from tests.settlements.factories import (
    buy,
    charge,
    checkout_purchase,
    set_prices,
    this_month,
)
from tests.settlements.factories import (
    reverse as reverse_purchase,
)
from tests.stores.factories import make_store, make_terminal

pytestmark = pytest.mark.django_db

LIST = "admin:stores_purchase_changelist"


def rials(amount: int) -> str:
    return f"{to_persian_digits(f'{amount:,}').replace(',', '٬')} ریال"


def jalali(day: dt.date) -> str:
    return to_persian_digits(jdatetime.date.fromgregorian(date=day).strftime("%Y/%m/%d"))


@pytest.fixture
def two():  # type: ignore[no-untyped-def]
    """Two purchases by two households at two stores, one this month and one a year ago."""
    first, second = make_household(decile=1), make_household(decile=1)
    now = charge(this_month())
    old = charge("1402-06")
    near = make_terminal(make_store(name="فروشگاه سپیده"))
    far = make_terminal(make_store(name="هایپر ستاره"))
    recent = buy(first, cycle=now, base=1_000_000, current=1_500_000, terminal=near)
    past = buy(second, cycle=old, base=2_000_000, current=2_600_000, terminal=far)
    return {"recent": recent, "past": past, "near": near, "far": far}


def listed(admin_client, **params: str) -> list[int]:  # type: ignore[no-untyped-def]
    response = admin_client.get(reverse(LIST), params)
    assert response.status_code == 200
    return [purchase.pk for purchase in response.context["cl"].result_list]


def test_the_list_shows_newest_first_with_store_terminal_card_split_and_time(admin_client, two):
    response = admin_client.get(reverse(LIST))

    content = response.content.decode()
    assert [p.pk for p in response.context["cl"].result_list] == [two["recent"].pk, two["past"].pk]
    recent = two["recent"]
    assert "فروشگاه سپیده" in content
    assert recent.terminal.terminal_id.translate(PERSIAN) in content
    assert f"{recent.card_bin[:4]}-{recent.card_bin[4:]}**-****-{recent.card_last4}" in content
    for amount in (1_000_000, 1_500_000, 500_000):
        assert rials(amount) in content
    assert "_facets" not in content


def test_search_by_store_name(admin_client, two):
    assert listed(admin_client, store="ستاره") == [two["past"].pk]


def test_search_by_store_id_in_persian_digits(admin_client, two):
    store_id = str(two["near"].store_id).translate(PERSIAN)

    assert listed(admin_client, store=store_id) == [two["recent"].pk]


def test_search_by_terminal_id_in_the_form_and_in_the_box(admin_client, two):
    terminal_id = two["far"].terminal_id

    assert listed(admin_client, terminal=terminal_id.translate(PERSIAN)) == [two["past"].pk]
    assert listed(admin_client, q=terminal_id) == [two["past"].pk]


def test_search_by_card_last_four_and_by_bin_and_last_four(admin_client, two):
    recent = two["recent"]

    assert listed(admin_client, card=recent.card_last4) == [recent.pk]
    assert listed(admin_client, card=f"{recent.card_bin}-{recent.card_last4}") == [recent.pk]
    assert listed(admin_client, q=recent.card_last4.translate(PERSIAN)) == [recent.pk]
    assert listed(admin_client, card=f"000000-{recent.card_last4}") == []


def test_search_by_a_jalali_date_range(admin_client, two):
    day = timezone.localdate(two["past"].created_at)

    assert listed(admin_client, **{"from": jalali(day), "to": jalali(day)}) == [two["past"].pk]
    assert listed(admin_client, **{"from": jalali(day + dt.timedelta(days=1))}) == [
        two["recent"].pk
    ]


def test_search_by_a_members_national_code_and_by_household(admin_client, two):
    household = two["past"].household
    code = household.members.get(is_head=True).national_code

    assert listed(admin_client, q=code) == [two["past"].pk]
    assert listed(admin_client, household=str(household.pk)) == [two["past"].pk]


def test_criteria_combine(admin_client, two):
    terminal_id = two["near"].terminal_id

    assert listed(admin_client, terminal=terminal_id, store="ستاره") == []
    assert listed(admin_client, terminal=terminal_id, card=two["recent"].card_last4) == [
        two["recent"].pk
    ]


def test_a_value_that_cannot_be_read_is_explained_and_lists_nothing(admin_client, two):
    response = admin_client.get(reverse(LIST), {"terminal": "123", "from": "۱۴۰۲/۱۳/۰۱"})

    content = response.content.decode()
    assert list(response.context["cl"].result_list) == []
    assert "شناسه پایانه باید ۸ رقم باشد" in content
    assert 'aria-invalid="true"' in content


def test_the_status_filter_lists_reversed_purchases(admin_client, two):
    reverse_purchase(two["recent"])

    assert listed(admin_client, status="reversed") == [two["recent"].pk]
    assert listed(admin_client, status="completed") == [two["past"].pk]


def test_the_list_never_counts_the_whole_table(admin_client, two):
    with CaptureQueriesContext(connection) as queries:
        admin_client.get(reverse(LIST))

    counts = [
        q["sql"] for q in queries if "COUNT(" in q["sql"].upper() and "stores_purchase" in q["sql"]
    ]
    assert counts == []


def test_the_purchase_page_shows_its_lines_split_and_ledger_entry(admin_client):
    household = make_household(decile=1)
    charge(this_month())
    set_prices("rice", 450_000, 720_000)
    set_prices("cheese", 1_500_000, 2_300_000)
    purchase = checkout_purchase(household, lines={"rice": 2, "cheese": 1})
    entry = JournalEntry.objects.get(purchase=purchase, kind=EntryKind.PURCHASE)

    response = admin_client.get(reverse("admin:stores_purchase_change", args=[purchase.pk]))

    content = response.content.decode()
    assert response.status_code == 200
    for amount in (450_000, 720_000, 900_000, 1_440_000, 1_500_000, 2_300_000):  # lines
        assert rials(amount) in content
    for amount in (2_400_000, 3_740_000, 1_340_000):  # base total = cash, current, credit
        assert rials(amount) in content
    assert reverse("admin:settlements_journalentry_change", args=[entry.pk]) in content
    assert "برگشت نخورده است" in content
    assert reverse("backoffice:household", args=[household.pk]) in content


def test_the_purchase_page_shows_its_reversal(admin_client):
    household = make_household(decile=1)
    cycle = charge(this_month())
    purchase = reverse_purchase(buy(household, cycle=cycle, base=1_000_000, current=1_500_000))
    reversal = JournalEntry.objects.get(purchase=purchase, kind=EntryKind.REVERSAL)

    response = admin_client.get(reverse("admin:stores_purchase_change", args=[purchase.pk]))

    content = response.content.decode()
    assert purchase.status == PurchaseStatus.REVERSED
    assert "برگشت‌خورده" in content
    assert reverse("admin:settlements_journalentry_change", args=[reversal.pk]) in content


def test_purchases_cannot_be_added_changed_or_deleted(admin_client, two):
    purchase = two["recent"]

    add = admin_client.get(reverse("admin:stores_purchase_add"))
    change = admin_client.post(
        reverse("admin:stores_purchase_change", args=[purchase.pk]), {"status": "reversed"}
    )
    delete = admin_client.get(reverse("admin:stores_purchase_delete", args=[purchase.pk]))

    assert (add.status_code, change.status_code, delete.status_code) == (403, 403, 403)
    purchase.refresh_from_db()
    assert purchase.status == PurchaseStatus.COMPLETED


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("params", "index"),
    [
        ({"store": "STORE"}, "purchase_store_recent_idx"),
        ({"terminal": "TERMINAL"}, "purchase_terminal_recent_idx"),
        ({"card": "CARD"}, "purchase_card_recent_idx"),
        ({"household": "HOUSEHOLD"}, "purchase_household_recent_idx"),
        ({"status": "reversed"}, "purchase_reversed_recent_idx"),
    ],
)
def test_each_search_reads_an_index_of_its_own(admin_client, two, params, index):
    """The list's query, explained with sequential scans off: an index leads with each criterion
    (a plan over 5,000,000 rows is in docs/benchmarks.md)."""
    recent = two["recent"]
    values = {
        "STORE": str(recent.store_id),
        "TERMINAL": recent.terminal.terminal_id,
        "CARD": recent.card_last4,
        "HOUSEHOLD": str(recent.household_id),
    }
    typed = {key: values.get(value, value) for key, value in params.items()}
    with CaptureQueriesContext(connection) as queries:
        admin_client.get(reverse(LIST), typed)
    [listing] = [
        q["sql"]
        for q in queries
        if 'ORDER BY "stores_purchase"."created_at" DESC' in q["sql"] and "INNER JOIN" in q["sql"]
    ]

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {listing}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
        # Purchases are partitioned by month: the plan reads each month's copy of the index.
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = %s",
            [index],
        )
        copies = {index} | {row[0] for row in cursor.fetchall()}

    assert any(name in plan for name in copies), plan
