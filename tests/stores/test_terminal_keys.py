import hashlib
import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from approvals.models import ChangeRequest
from stores import services
from stores.models import Terminal
from tests.approvals.factories import checker
from tests.conftest import OfficerClient
from tests.stores.factories import make_terminal, make_terminal_with_key

pytestmark = pytest.mark.django_db

TERMINALS = "admin:stores_terminal_changelist"


def _issue(terminal_id: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("issue_terminal_key", terminal_id, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_the_command_prints_a_key_that_authenticates_the_terminal():
    terminal = make_terminal()

    out, err = _issue(terminal.terminal_id)

    key = out.strip()
    assert out == key + "\n"
    assert services.terminal_for_key(key=key) == terminal
    assert "revoked" in err


def test_issuing_a_key_again_revokes_the_old_one():
    terminal, old_key = make_terminal_with_key()

    out, _ = _issue(terminal.terminal_id)

    assert services.terminal_for_key(key=old_key) is None
    assert services.terminal_for_key(key=out.strip()) == terminal


def test_only_a_sha256_hash_of_the_key_is_stored():
    terminal = make_terminal()

    key = _issue(terminal.terminal_id)[0].strip()

    row = Terminal.objects.filter(pk=terminal.pk).values().get()
    assert row["api_key_hash"] == hashlib.sha256(key.encode()).hexdigest()
    assert not any(key in str(value) for value in row.values())
    assert not any(key.partition(".")[2] in str(value) for value in row.values())


def test_an_unknown_terminal_id_is_a_clear_command_error():
    make_terminal(terminal_id="12345678")

    with pytest.raises(CommandError, match="no terminal with id '87654321'"):
        _issue("87654321")


def test_the_admin_action_asks_for_a_key_that_a_second_officer_sees_once(admin_client):
    terminal, old_key = make_terminal_with_key()

    asked = admin_client.post(
        reverse(TERMINALS),
        {"action": "issue_api_key", "_selected_action": [str(terminal.pk)], "index": "0"},
    )
    admin_client.post(
        reverse(TERMINALS),
        {
            "action": "issue_api_key",
            "_selected_action": [str(terminal.pk)],
            "confirm": "yes",
            "reason": "پایانه تعویض شد",
        },
    )
    assert "admin/reason_confirmation.html" in [t.name for t in asked.templates]
    assert services.terminal_for_key(key=old_key) == terminal  # nothing issued before approval

    second = OfficerClient()
    second.force_login(checker())
    change = ChangeRequest.objects.get(kind="terminal_key")
    shown = second.post(reverse("admin:approvals_changerequest_approve", args=[change.pk]))
    again = second.get(reverse("admin:approvals_changerequest_change", args=[change.pk]))

    key = shown.content.decode().split('id="shown-once">')[1].split("<")[0]
    assert services.terminal_for_key(key=key) == terminal
    assert services.terminal_for_key(key=old_key) is None
    assert key not in again.content.decode()


def test_the_admin_action_refuses_to_issue_keys_for_several_terminals(admin_client):
    first, first_key = make_terminal_with_key()
    second, second_key = make_terminal_with_key()

    response = admin_client.post(
        reverse(TERMINALS),
        {
            "action": "issue_api_key",
            "_selected_action": [str(first.pk), str(second.pk)],
            "index": "0",
        },
        follow=True,
    )

    assert "دقیقاً یک پایانه" in response.content.decode()
    assert services.terminal_for_key(key=first_key) == first
    assert services.terminal_for_key(key=second_key) == second
