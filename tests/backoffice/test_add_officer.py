"""``manage.py add_officer USERNAME --role ROLE``: a staff user in exactly the given roles, with a
checked password, and a reminder to enrol the authenticator app."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError
from django_otp.plugins.otp_totp.models import TOTPDevice

pytestmark = pytest.mark.django_db

PASSWORD = "amber-kettle-river-1403"


class Terminal(io.StringIO):
    """Standard input that is a terminal: the command asks with getpass."""

    def isatty(self) -> bool:
        return True


def add_officer(*args: str, stdin: io.StringIO | None = None) -> str:
    out = io.StringIO()
    call_command("add_officer", *args, stdin=stdin or io.StringIO(), stdout=out)
    return out.getvalue()


def roles_of(username: str) -> list[str]:
    user = get_user_model().objects.get(username=username)
    return sorted(user.groups.values_list("name", flat=True))


def test_a_new_officer_is_a_staff_user_in_the_role_with_the_password_given():
    out = add_officer(
        "zahra", "--role", "welfare_officer", "--password-stdin", stdin=io.StringIO(PASSWORD + "\n")
    )

    officer = get_user_model().objects.get(username="zahra")
    assert (officer.is_staff, officer.is_active, officer.is_superuser) == (True, True, False)
    assert officer.check_password(PASSWORD)
    assert roles_of("zahra") == ["welfare_officer"]
    assert "zahra created; roles: welfare_officer" in out


def test_a_new_officer_is_reminded_to_enrol_the_authenticator():
    out = add_officer(
        "zahra", "--role", "auditor", "--password-stdin", stdin=io.StringIO(PASSWORD + "\n")
    )

    assert "manage.py officer_totp zahra" in out


def test_an_enrolled_officer_is_not_reminded_again():
    officer = get_user_model().objects.create_user("zahra", password=PASSWORD, is_staff=True)
    TOTPDevice.objects.create(user=officer, name="phone", confirmed=True)

    out = add_officer("zahra", "--role", "auditor")

    assert "officer_totp" not in out


def test_at_a_terminal_the_password_is_asked_twice(monkeypatch):
    answers = iter([PASSWORD, PASSWORD])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))

    add_officer("zahra", "--role", "price_officer", stdin=Terminal())

    assert get_user_model().objects.get(username="zahra").check_password(PASSWORD)


def test_two_different_passwords_create_nobody(monkeypatch):
    answers = iter([PASSWORD, PASSWORD + "x"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))

    with pytest.raises(CommandError, match="differ"):
        add_officer("zahra", "--role", "price_officer", stdin=Terminal())

    assert not get_user_model().objects.filter(username="zahra").exists()


def test_a_weak_password_is_refused_with_the_reason():
    with pytest.raises(CommandError, match="password refused"):
        add_officer(
            "zahra", "--role", "price_officer", "--password-stdin", stdin=io.StringIO("12345678\n")
        )

    assert not get_user_model().objects.filter(username="zahra").exists()


def test_without_a_terminal_it_asks_for_password_stdin():
    with pytest.raises(CommandError, match="--password-stdin"):
        add_officer("zahra", "--role", "price_officer", stdin=io.StringIO())


def test_an_unknown_role_is_refused():
    with pytest.raises(CommandError, match="invalid choice"):
        add_officer("zahra", "--role", "admin", "--password-stdin", stdin=io.StringIO(PASSWORD))


def test_an_existing_officer_gets_exactly_the_new_roles_and_keeps_password_and_other_groups():
    officer = get_user_model().objects.create_user("zahra", password=PASSWORD, is_staff=False)
    officer.groups.add(
        Group.objects.get(name="welfare_officer"), Group.objects.create(name="tehran")
    )

    out = add_officer("zahra", "--role", "store_officer", "--role", "price_officer")

    officer.refresh_from_db()
    assert roles_of("zahra") == ["price_officer", "store_officer", "tehran"]
    assert officer.is_staff
    assert officer.check_password(PASSWORD)
    assert "zahra updated; roles: price_officer, store_officer" in out


def test_set_password_changes_an_existing_officers_password():
    get_user_model().objects.create_user("zahra", password=PASSWORD, is_staff=True)
    new = "cedar-lantern-harbour-1404"

    add_officer(
        "zahra", "--role", "auditor", "--set-password", "--password-stdin", stdin=io.StringIO(new)
    )

    assert get_user_model().objects.get(username="zahra").check_password(new)
