"""The read paths against a real streaming replica, and the POS checkout through PgBouncer in
transaction mode with prepared statements on.

Not collected by the ordinary run (the name does not start with ``test_``): tests/infra/test_topology.py
starts the topology (ops/pgtopology.py) and runs this module in a child pytest whose
``DATABASE_URL`` is PgBouncer in front of the primary, ``DATABASE_POOL_MODE=transaction`` and
``DATABASE_REPLICA_URL`` the replica. The ``replica`` alias mirrors the test database's name, so
it reads the copy the replica replayed; the tests commit (``transaction=True``) so there is
something to replay, and wait for the replay before reading.
"""

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection, connections, transaction
from django.db.models import Sum
from django.urls import reverse
from rest_framework.test import APIClient

from households import services as household_services
from kalabarg.figures.models import CycleFigure, RefreshStatus
from kalabarg.figures.refresh import refresh_figures
from kalabarg.lib import replica
from ops import pgtopology
from stores.models import Store
from tests.concurrency import in_threads
from tests.figures.factories import a_cycle, completed_refresh, figure
from tests.households.factories import make_household, next_card_number
from tests.settlements.factories import URL, charge, seeded_phases, set_prices, this_month
from tests.stores.factories import make_store, make_terminal, make_terminal_with_key

if "replica" not in settings.DATABASES or settings.DATABASE_POOL_MODE != "transaction":
    pytest.fail(
        "run through tests/infra/test_topology.py (it sets DATABASE_URL to PgBouncer, "
        "DATABASE_POOL_MODE=transaction and DATABASE_REPLICA_URL)",
        pytrace=False,
    )

pytestmark = pytest.mark.django_db(
    transaction=True, serialized_rollback=True, databases=["default", "replica"]
)

STORE_NAME = "فروشگاه همتای خوانشی"
PROVINCE = "فارس"


@pytest.fixture(autouse=True)
def _replica_up_and_no_cached_page() -> Iterator[None]:
    replica.mark_replica_up()
    cache.clear()  # the figures pages are cached per refresh: each test reads the database
    yield
    replica.mark_replica_up()


@contextmanager
def statements_by_alias() -> Iterator[dict[str, list[str]]]:
    """Every statement Django runs in this thread, by the alias it ran on."""
    seen: dict[str, list[str]] = {"default": [], "replica": []}

    def recorder(alias: str) -> Callable[..., Any]:
        def record(execute: Callable[..., Any], sql: str, *args: Any) -> Any:
            seen[alias].append(sql)
            return execute(sql, *args)

        return record

    with ExitStack() as stack:
        for alias in seen:
            stack.enter_context(connections[alias].execute_wrapper(recorder(alias)))
        yield seen


def touching(statements: list[str], table: str) -> list[str]:
    return [sql for sql in statements if f'"{table}"' in sql]


def replayed() -> None:
    """Wait until the replica has replayed what the primary committed so far."""
    pgtopology.wait_for_replay(database=settings.DATABASES["default"]["NAME"])


def test_the_replica_alias_is_a_standby_of_the_primary_behind_pgbouncer():
    with connections["replica"].cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery(), current_setting('port')")
        in_recovery, port = cursor.fetchone()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery(), current_setting('port')")
        primary_in_recovery, primary_port = cursor.fetchone()

    assert (in_recovery, int(port)) == (True, pgtopology.REPLICA_PORT)
    assert (primary_in_recovery, int(primary_port)) == (False, pgtopology.PRIMARY_PORT)
    assert int(settings.DATABASES["default"]["PORT"]) == pgtopology.POOLER_PORT


def test_the_store_finder_page_and_api_read_the_replica(client):
    make_store(name=STORE_NAME)
    replayed()

    with statements_by_alias() as seen:
        page = client.get(reverse("portal:stores"), {"q": "همتای"})
        api = client.get("/api/v1/stores/", {"q": "همتای"})

    assert page.status_code == 200 and STORE_NAME in page.content.decode()
    assert api.status_code == 200 and api.json()["results"][0]["name"] == STORE_NAME
    assert len(touching(seen["replica"], "stores_store")) == 2
    assert touching(seen["default"], "stores_store") == []


def test_the_transparency_page_reads_the_replica(client):
    cycle = a_cycle("1402-06")
    figure(cycle, province_name=PROVINCE, decile=2, households=40, charged=40, participating=20)
    completed_refresh()
    replayed()

    with statements_by_alias() as seen:
        response = client.get("/transparency/")

    assert response.status_code == 200 and PROVINCE in response.content.decode()
    assert touching(seen["replica"], "figures_cyclefigure")
    assert touching(seen["default"], "figures_cyclefigure") == []


def test_the_programme_dashboard_reads_the_replica_and_the_officer_from_the_primary(admin_client):
    cycle = a_cycle("1402-06")
    figure(cycle, province_name=PROVINCE, decile=2, households=40, charged=40, participating=20)
    completed_refresh()
    replayed()

    with statements_by_alias() as seen:
        response = admin_client.get("/admin/programme/")

    assert response.status_code == 200 and PROVINCE in response.content.decode()
    assert touching(seen["replica"], "figures_cyclefigure")
    assert touching(seen["default"], "figures_cyclefigure") == []
    # The session and the officer (written a moment ago, at login) are read on the primary.
    assert touching(seen["default"], "django_session")
    assert touching(seen["replica"], "django_session") == []
    assert touching(seen["replica"], "auth_user") == []


def test_an_objects_history_trail_reads_the_replica(admin_client):
    terminal = make_terminal()
    Store.objects.filter(pk=terminal.store_id).update(name="نام تازه")  # raw: no trail of Store
    terminal.psp_name = "سامان کیش"
    terminal.save()
    replayed()

    with statements_by_alias() as seen:
        response = admin_client.get(reverse("admin:stores_terminal_history", args=[terminal.pk]))

    assert response.status_code == 200 and "سامان کیش" in response.content.decode()
    assert touching(seen["replica"], "audit_terminalevent")
    assert touching(seen["default"], "audit_terminalevent") == []


def test_a_write_inside_the_scope_goes_to_the_primary_and_a_transaction_reads_its_own_rows():
    store = make_store(name=STORE_NAME)
    replayed()

    with replica.reads_from_replica(), statements_by_alias() as seen:
        Store.objects.filter(pk=store.pk).update(
            name="نوشته روی اصلی"
        )  # the replica refuses writes
        read_in_scope = Store.objects.get(pk=store.pk).name  # the replica, a moment behind
        with transaction.atomic():
            Store.objects.filter(pk=store.pk).update(name="درون تراکنش")
            read_in_transaction = Store.objects.get(pk=store.pk).name

    assert read_in_transaction == "درون تراکنش"
    assert read_in_scope in {STORE_NAME, "نوشته روی اصلی"}  # whichever the replica had replayed
    assert len(touching(seen["replica"], "stores_store")) == 1
    assert (
        len(touching(seen["default"], "stores_store")) == 3
    )  # two updates, the read in the transaction


def test_a_page_falls_back_to_the_primary_when_the_replica_cannot_be_reached(client):
    make_store(name=STORE_NAME)
    replica_settings = connections["replica"].settings_dict
    port = replica_settings["PORT"]
    connections["replica"].close()
    replica_settings["PORT"] = str(pgtopology.REPLICA_PORT + 100)  # nothing listens there
    try:
        with statements_by_alias() as seen:
            response = client.get(reverse("portal:stores"), {"q": "همتای"})
        usable_after = replica.replica_usable()
    finally:
        replica_settings["PORT"] = port
        connections["replica"].close()

    assert response.status_code == 200 and STORE_NAME in response.content.decode()
    assert touching(seen["default"], "stores_store")
    assert usable_after is False  # the replica is left alone for DATABASE_REPLICA_RETRY_SECONDS


def test_purchases_through_pgbouncer_reuse_their_prepared_statements_on_shared_server_connections():
    seeded_phases()
    clients = 6  # more client connections than PgBouncer's server connections (POOL_SIZE)
    cards = []
    for _ in range(clients):
        household = make_household(decile=2)
        cards.append(next_card_number())
        household_services.register_card(person=household.members.get(), card_number=cards[-1])
    charge(this_month())
    set_prices("rice", 500_000, 800_000)
    _, key = make_terminal_with_key()

    def purchases(index: int) -> list[tuple[int, int, int, int]]:
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
        seen = []
        for number in range(4):
            # One transaction: PgBouncer keeps it on one server connection, so the look-up after
            # the purchase sees the statements prepared there.
            with transaction.atomic():
                response = api.post(
                    URL, {"card_number": cards[index], "lines": [{"item": "rice", "quantity": "1"}]},
                    format="json", HTTP_IDEMPOTENCY_KEY=f"pool-{index}-{number}",
                )  # fmt: skip
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT pg_backend_pid(), count(*), "
                        "COALESCE(max(generic_plans + custom_plans), 0) "
                        "FROM pg_prepared_statements WHERE name LIKE 'kb\\_%%'"
                    )
                    pid, prepared, most_runs = cursor.fetchone()
            seen.append((response.status_code, pid, prepared, most_runs))
        return seen

    results = in_threads(clients, purchases)

    assert all(isinstance(r, list) for r in results), results
    rows = [(index, *row) for index, found in enumerate(results) for row in found]  # type: ignore[union-attr]
    assert {status for _, status, *_ in rows} == {201}, rows
    server_pids = {pid for _, _, pid, _, _ in rows}
    assert 2 <= len(server_pids) <= pgtopology.POOL_SIZE, rows
    threads_of = {pid: {index for index, _, p, _, _ in rows if p == pid} for pid in server_pids}
    assert max(len(threads) for threads in threads_of.values()) >= 2, threads_of  # shared
    # The context read and the write are prepared on every server connection that ran a purchase,
    # and executed there again and again (by whichever client), not prepared afresh each time.
    assert min(prepared for *_, prepared, _ in rows) >= 2, rows
    assert max(runs for *_, runs in rows) >= 4, rows


def test_a_credit_run_and_a_figures_refresh_run_through_pgbouncer():
    """Batch work (its staging tables live within one transaction) works through the pooler."""
    seeded_phases()
    for _ in range(3):
        make_household(decile=2)

    cycle = charge(this_month())
    refresh = refresh_figures(trigger="pooler", cycles=[cycle])

    assert refresh.status == RefreshStatus.COMPLETED
    assert CycleFigure.objects.filter(cycle=cycle).aggregate(n=Sum("charged"))["n"] == 3
