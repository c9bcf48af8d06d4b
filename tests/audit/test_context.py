"""Who is named on the trail: commands by their name, tasks by theirs, the portal's member;
and the triggers stay installed without being re-created at every migrate."""

import pytest
from django.db import connection
from pgtrigger import core, registry

from kalabarg.audit import context, middleware
from kalabarg.audit.apps import install_triggers
from kalabarg.celery import app
from kalabarg.portal.auth import SESSION_PERSON
from notifications.models import SmsTemplate
from tests.audit.factories import last_update


@app.task(name="tests.audit.rewrite_template")
def rewrite_template(template_id: int, body: str) -> None:
    SmsTemplate.objects.filter(pk=template_id).update(body=body)


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        (["manage.py", "import_households", "file.csv"], "import_households"),
        (["/srv/kalabarg/manage.py", "shell"], "shell"),
        (["manage.py", "runserver"], None),
        (["manage.py"], None),
        (["/usr/bin/gunicorn", "kalabarg.wsgi"], None),
        (["celery", "-A", "kalabarg", "worker"], None),
    ],
)
def test_a_management_command_is_named_from_the_command_line(argv, command):
    assert context.command_from_argv(argv) == command


def test_only_the_bulk_loads_skip_copying_their_inserted_rows():
    assert {"import_households", "import_bank_cards"} <= context.BULK_COMMANDS
    assert "shell" not in context.BULK_COMMANDS


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_tasks_changes_carry_the_tasks_name():
    template = SmsTemplate.objects.get(kind="login_code")

    rewrite_template.delay(template.pk, "کد: {code}")

    event = last_update(template, "body")
    assert event.pgh_context["task"] == "tests.audit.rewrite_template"


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_shell_session_is_named_on_its_changes_and_forgotten_after():
    template = SmsTemplate.objects.get(kind="login_code")
    context.begin_command("shell")
    try:
        SmsTemplate.objects.filter(pk=template.pk).update(body="الف {code}")
    finally:
        context.end_command()
    SmsTemplate.objects.filter(pk=template.pk).update(body="ب {code}")

    named, anonymous = [
        event
        for event in type(last_update(template))
        .objects.filter(pgh_obj_id=template.pk, pgh_label="update")
        .order_by("pgh_id")
    ][-2:]
    assert named.pgh_context["command"] == "shell"
    assert anonymous.pgh_context is None


def test_the_middleware_reads_the_portals_session_key():
    assert middleware.PORTAL_SESSION_PERSON == SESSION_PERSON


@pytest.mark.postgres
@pytest.mark.django_db
def test_migrate_leaves_installed_triggers_alone_and_all_are_installed():
    assert install_triggers() == []
    statuses = {
        trigger.get_installation_status(model)[0] for model, trigger in registry.registered()
    }
    assert statuses == {core.INSTALLED}
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'pgtrigger_audit_%%'")
        assert cursor.fetchone()[0] == 36  # twelve models, insert + update + delete
