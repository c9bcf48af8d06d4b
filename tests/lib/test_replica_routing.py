"""The settings of the pooler and the replica, and the router's choices (issue 18). Each case
starts Django in a child process with its own environment (the aliases are fixed at start-up);
nothing connects. The router against a real replica and PgBouncer: tests/infra."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection
from django.test import RequestFactory

from kalabarg.lib import replica
from stores.models import Store

ROOT = Path(__file__).resolve().parents[2]
POSTGRES = {
    "DATABASE_URL": "postgres://u@127.0.0.1:5432/x",
    "SECRET_KEY": "s" * 50,
    "CARD_HASH_KEY": "c" * 50,
}
REPLICA_URL = "postgres://r@127.0.0.1:5433/x"


def in_django(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_", "REDIS_", "CELERY_", "REQUIRE_SERVICES", "DEBUG"))
    }
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()\n" + code],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "kalabarg.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


DATABASES = (
    "from django.conf import settings; import json; "
    "print(json.dumps({alias: {key: db.get(key) for key in "
    "('HOST', 'PORT', 'OPTIONS', 'TEST', 'DISABLE_SERVER_SIDE_CURSORS')} "
    "for alias, db in settings.DATABASES.items()}))"
)


def test_without_a_replica_url_there_is_only_the_primary_and_psycopg_prepares_on_its_own():
    result = in_django(DATABASES, **POSTGRES)

    assert result.returncode == 0, result.stderr
    databases = json.loads(result.stdout)
    assert list(databases) == ["default"]
    assert databases["default"]["OPTIONS"]["prepare_threshold"] == 5
    assert databases["default"]["DISABLE_SERVER_SIDE_CURSORS"] is None


def test_a_replica_url_adds_a_replica_alias_that_mirrors_the_test_database_and_fails_fast():
    result = in_django(DATABASES, **POSTGRES, DATABASE_REPLICA_URL=REPLICA_URL)

    assert result.returncode == 0, result.stderr
    replica_db = json.loads(result.stdout)["replica"]
    assert (replica_db["HOST"], replica_db["PORT"]) == ("127.0.0.1", 5433)
    assert replica_db["TEST"]["MIRROR"] == "default"
    assert replica_db["OPTIONS"] == {"prepare_threshold": 5, "connect_timeout": 2}


def test_transaction_pooling_turns_off_server_side_cursors_and_psycopgs_own_preparing():
    result = in_django(DATABASES, **POSTGRES, DATABASE_POOL_MODE="transaction")

    assert result.returncode == 0, result.stderr
    default = json.loads(result.stdout)["default"]
    assert default["DISABLE_SERVER_SIDE_CURSORS"] is True
    assert default["OPTIONS"]["prepare_threshold"] is None


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({**POSTGRES, "DATABASE_POOL_MODE": "session"}, "DATABASE_POOL_MODE must be none or"),
        ({"DATABASE_REPLICA_URL": REPLICA_URL}, "DATABASE_REPLICA_URL needs a PostgreSQL"),
        ({"DATABASE_POOL_MODE": "transaction"}, "DATABASE_POOL_MODE needs a PostgreSQL"),
        ({**POSTGRES, "DATABASE_REPLICA_URL": "mysql://x/y"}, "DATABASE_REPLICA_URL must be a URL"),
    ],
)
def test_a_bad_pooler_or_replica_setting_stops_start_up(env, message):
    result = in_django("", **env)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and message in result.stderr


def test_a_management_command_refuses_to_run_through_a_transaction_pooler():
    """Its audit context is session state (kalabarg.audit.context): it must connect directly."""
    clean = {key: value for key, value in os.environ.items() if not key.startswith("DATABASE_")}
    result = subprocess.run(
        [sys.executable, "manage.py", "showmigrations", "stores"],
        cwd=ROOT,
        env={**clean, **POSTGRES, "DATABASE_POOL_MODE": "transaction"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode != 0
    assert "manage.py showmigrations needs a direct connection" in result.stderr


ROUTES = """
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from kalabarg.lib import replica
from kalabarg.lib.replica import ReplicaRouter
from stores.models import Store
router = ReplicaRouter()
routes = {"outside": router.db_for_read(Store)}
with replica.reads_from_replica():
    routes["inside"] = router.db_for_read(Store)
    routes["session"] = router.db_for_read(Session)
    routes["user"] = router.db_for_read(User)
    routes["write"] = router.db_for_write(Store)
    with replica.on_primary():
        routes["on_primary"] = router.db_for_read(Store)
    replica.mark_replica_down()
    routes["down"] = router.db_for_read(Store)
routes["migrate_replica"] = router.allow_migrate("replica", "stores")
print(json.dumps(routes))
"""


def test_reads_go_to_the_replica_only_in_the_scope_and_never_for_the_signed_in_identity():
    result = in_django("import json\n" + ROUTES, **POSTGRES, DATABASE_REPLICA_URL=REPLICA_URL)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "outside": "default",
        "inside": "replica",
        "session": "default",
        "user": "default",
        "write": "default",
        "on_primary": "default",
        "down": "default",
        "migrate_replica": False,
    }


@pytest.mark.django_db
def test_without_a_replica_a_read_only_view_reads_the_one_database():
    """The embedded default (and CI's ordinary run): the scope changes nothing."""
    Store.objects.all().delete()

    @replica.read_only_view
    def view(request):  # type: ignore[no-untyped-def]
        from django.http import HttpResponse

        return HttpResponse(str(Store.objects.count()))

    response = view(RequestFactory().get("/"))

    assert response.content == b"0"
    assert replica.ReplicaRouter().db_for_read(Store) == "default"
    assert connection.alias == "default"
