"""Officers' passwords: at least 12 characters, not common, not all digits, not like the username."""

import io

import pytest
from django.contrib.auth.management.commands import createsuperuser
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse

from tests.lib.factories import OFFICER_PASSWORD, make_officer

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("kettle-1403", "password_too_short"),
        ("password1234", "password_too_common"),
        ("402918375610934", "password_entirely_numeric"),
        ("clerk.officer.2024", "password_too_similar"),
    ],
)
def test_a_weak_password_is_refused_with_its_reason(password, code):
    user, _ = make_officer(username="clerk.officer.2024")

    with pytest.raises(ValidationError) as excinfo:
        validate_password(password, user)

    assert code in {error.code for error in excinfo.value.error_list}


def test_a_long_uncommon_password_is_accepted():
    user, _ = make_officer()

    validate_password(OFFICER_PASSWORD, user)


def test_the_admin_password_form_refuses_a_short_password(admin_client):
    user, _ = make_officer()

    response = admin_client.post(
        reverse("admin:auth_user_password_change", args=[user.pk]),
        {"password1": "kalabarg", "password2": "kalabarg", "usable_password": "true"},
    )

    assert response.status_code == 200
    assert response.context["form"].errors["password2"]
    user.refresh_from_db()
    assert user.check_password(OFFICER_PASSWORD)


def test_createsuperuser_refuses_a_common_password_until_a_strong_one_is_typed(
    monkeypatch, django_user_model
):
    typed = iter(["password1234", "password1234", OFFICER_PASSWORD, OFFICER_PASSWORD])
    answers = iter(["root-officer", "", "n"])  # username, e-mail, "bypass validation?" -> no
    monkeypatch.setattr(createsuperuser.getpass, "getpass", lambda prompt="": next(typed))
    monkeypatch.setattr("builtins.input", lambda prompt="": next(answers))

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    errors = io.StringIO()
    call_command(
        "createsuperuser", interactive=True, stdin=Terminal(), stdout=io.StringIO(), stderr=errors
    )

    assert "این رمز عبور بسیار رایج است" in errors.getvalue()  # shown before asking again
    officer = django_user_model.objects.get(username="root-officer")
    assert officer.check_password(OFFICER_PASSWORD)
