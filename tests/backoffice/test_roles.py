"""The six roles as groups: made by the migration, kept in step by ``sync_roles`` (idempotent, on
every migrate), rule-based so later models fall into them, and never granting what ``NEVER`` names."""

import importlib
import io
import re
from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.core.management.sql import emit_post_migrate_signal
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from kalabarg.backoffice.roles import ROLES, sync_roles

pytestmark = pytest.mark.django_db

SIX = {
    "welfare_officer",
    "price_officer",
    "store_officer",
    "finance_officer",
    "supervisor",
    "auditor",
}
OFFICERS = SIX - {"supervisor", "auditor"}


def held(name: str) -> set[str]:
    return {
        f"{p.content_type.app_label}.{p.codename}"
        for p in Group.objects.get(name=name).permissions.select_related("content_type")
    }


def test_the_roles_are_the_six_of_the_issue_by_their_exact_names():
    assert set(ROLES) == SIX


def test_after_migrate_the_six_groups_exist():
    assert set(Group.objects.filter(name__in=SIX).values_list("name", flat=True)) == SIX


def test_the_migration_makes_the_groups_on_the_models_of_its_own_state():
    Group.objects.filter(name__in=SIX).delete()
    state = MigrationLoader(connection).project_state(("backoffice", "0001_roles"), at_end=True)
    migration = importlib.import_module("kalabarg.backoffice.migrations.0001_roles")

    migration.create_roles(state.apps, SimpleNamespace(connection=connection))

    assert set(Group.objects.filter(name__in=SIX).values_list("name", flat=True)) == SIX
    assert "approvals.approve_changerequest" in held("supervisor")
    assert "households.change_objection" in held("welfare_officer")


def test_migrate_puts_back_roles_that_went_missing():
    Group.objects.filter(name__in=SIX).delete()

    emit_post_migrate_signal(0, False, "default")  # what `migrate` (and a flush) ends with

    assert Group.objects.filter(name__in=SIX).count() == 6


def test_sync_roles_a_second_time_changes_nothing():
    first = sync_roles()
    groups = dict(Group.objects.filter(name__in=SIX).values_list("name", "pk"))
    permissions = Permission.objects.count()

    second = sync_roles()

    assert second == first
    assert dict(Group.objects.filter(name__in=SIX).values_list("name", "pk")) == groups
    assert Permission.objects.count() == permissions
    assert {name: held(name) for name in SIX} == first


def test_sync_roles_takes_back_a_permission_given_to_a_group_by_hand():
    group = Group.objects.get(name="price_officer")
    group.permissions.add(Permission.objects.get(codename="delete_basketitem"))

    sync_roles()

    assert "stores.delete_basketitem" not in held("price_officer")


def test_sync_roles_leaves_officers_in_their_groups_and_other_groups_alone():
    officer = get_user_model().objects.create_user("zahra", is_staff=True)
    officer.groups.add(Group.objects.get(name="welfare_officer"))
    other = Group.objects.create(name="night_shift")
    other.permissions.add(Permission.objects.get(codename="view_household"))

    sync_roles()

    assert list(officer.groups.values_list("name", flat=True)) == ["welfare_officer"]
    assert list(other.permissions.values_list("codename", flat=True)) == ["view_household"]


def test_the_supervisor_alone_may_approve_change_requests():
    approvers = Group.objects.filter(permissions__codename="approve_changerequest")

    assert list(approvers.values_list("name", flat=True)) == ["supervisor"]


def test_every_officer_may_see_and_file_change_requests():
    for name in OFFICERS:
        assert {"approvals.view_changerequest", "approvals.add_changerequest"} <= held(name)


def test_no_role_may_write_the_ledger():
    writes = {
        f"settlements.{action}_{model}"
        for action in ("add", "change", "delete")
        for model in ("account", "journalentry", "posting", "ledgerdigest", "balancerollup")
    }

    assert {name: held(name) & writes for name in SIX} == {name: set() for name in SIX}


def test_the_auditor_only_looks():
    assert {codename.split(".")[1].split("_")[0] for codename in held("auditor")} == {"view"}


def test_the_supervisor_looks_and_approves_only_and_may_refresh_the_figures():
    supervisor = held("supervisor")
    actions = {codename.split(".")[1].split("_")[0] for codename in supervisor}

    assert actions == {"view", "approve", "add"}
    # The one add: "refresh now" on the programme dashboard, which recomputes, never moves money.
    assert {c for c in supervisor if ".add_" in c} == {"figures.add_figuresrefresh"}


def test_the_finance_officer_may_start_runs_and_only_read_the_ledger():
    finance = held("finance_officer")

    assert "settlements.add_creditrun" in finance  # settlements.admin.runs.can_run
    assert {"settlements.view_journalentry", "settlements.view_posting"} <= finance


def test_no_role_holds_second_factor_secrets_sessions_or_the_scheduler():
    hidden = {"otp_totp", "sessions", "django_celery_beat"}
    groups = Group.objects.filter(name__in=SIX, permissions__content_type__app_label__in=hidden)

    assert not groups.exists()


@pytest.mark.parametrize(
    ("app_label", "model", "roles"),
    [
        ("audit", "trailentry", {"supervisor", "auditor"}),
        ("settlements", "payout", {"finance_officer", "supervisor", "auditor"}),
        ("stores", "refund", {"store_officer", "supervisor", "auditor"}),
    ],
)
def test_the_view_permission_of_a_later_model_reaches_the_roles_its_rules_name(
    app_label, model, roles
):
    content_type = ContentType.objects.create(app_label=app_label, model=model)
    Permission.objects.create(codename=f"view_{model}", name=model, content_type=content_type)

    sync_roles()

    granted = Group.objects.filter(name__in=SIX, permissions__codename=f"view_{model}")
    assert set(granted.values_list("name", flat=True)) == roles


def test_the_sync_roles_command_says_what_changed():
    Group.objects.get(name="auditor").permissions.clear()
    out = io.StringIO()

    call_command("sync_roles", stdout=out)

    assert "auditor:" in out.getvalue()
    assert "+ households.view_household" in out.getvalue()
    assert re.search(r"^price_officer: \d+ permissions \(unchanged\)$", out.getvalue(), re.M)


def test_finance_and_the_supervisor_alone_approve_store_settlements_and_none_deletes_them():
    approvers = Group.objects.filter(permissions__codename="approve_storesettlement")
    deleters = Group.objects.filter(
        name__in=SIX,
        permissions__codename__in=[
            "delete_storesettlement",
            "delete_settlementrun",
            "delete_payoutbatch",
        ],
    )

    assert set(approvers.values_list("name", flat=True)) == {"finance_officer", "supervisor"}
    assert not deleters.exists()
    assert {
        "settlements.add_settlementrun",
        "settlements.add_payoutbatch",
        "settlements.change_storesettlement",
    } <= held("finance_officer")
