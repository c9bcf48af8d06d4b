"""Changes made by the set-based imports are on the trail, with the command that made them; the
rows a bulk load inserts are not copied one by one (docs/decisions.md, "The audit trail")."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from households.card_import import import_bank_cards
from households.importer import import_households
from households.models import BankCard, Person
from households.services import register_card
from kalabarg.audit import context
from tests.audit.factories import approve_in_admin, events_of, last_update
from tests.households.factories import (
    HEADER,
    make_household,
    next_card_number,
    next_national_code,
    row,
)

pytestmark = pytest.mark.postgres


@pytest.fixture
def command():
    """Runs the test as ``manage.py NAME`` would: the session carries the command's context."""
    started = []

    def begin(name: str) -> context.CommandContext:
        started.append(name)
        return context.begin_command(name)

    yield begin
    if started:
        context.end_command()


def _registry(*lines: str) -> io.StringIO:
    return io.StringIO("\n".join([HEADER, *lines]) + "\n")


@pytest.mark.django_db
def test_the_registry_import_records_a_changed_mobile_with_the_command_but_not_each_new_row(
    command,
):
    command("import_households")
    head_code = next_national_code()
    import_households(
        stream=_registry(row(household_id="H9", national_code=head_code, mobile="09120000001"))
    )
    person = Person.objects.get(national_code=head_code)

    import_households(
        stream=_registry(row(household_id="H9", national_code=head_code, mobile="09120000002"))
    )

    assert events_of(person, "insert") == []
    event = last_update(person, "mobile")
    assert (event.pgh_previous["mobile"], event.mobile) == ("09120000001", "09120000002")
    assert event.pgh_context["command"] == "import_households"


@pytest.mark.django_db
def test_rows_an_officer_uploads_in_the_admin_are_recorded_with_the_officer(admin_client):
    code = next_national_code()
    upload = SimpleUploadedFile(
        "registry.csv",
        f"{HEADER}\n{row(household_id='H7', national_code=code)}\n".encode(),
        content_type="text/csv",
    )

    response = admin_client.post(reverse("admin:households_household_import"), {"file": upload})
    assert response.status_code == 200
    approver = approve_in_admin("registry_upload")  # four-eyes: imported by the approval

    person = Person.objects.get(national_code=code)
    [event] = events_of(person, "insert")
    assert event.pgh_context["username"] == approver


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_card_import_on_its_worker_thread_records_a_closed_card_with_the_command(command):
    """The card import applies its chunks on a thread with a connection of its own: the
    command's context reaches that connection too."""
    head = make_household().members.get(is_head=True)
    number = next_card_number()
    card = register_card(person=head, card_number=number)
    command("import_bank_cards")

    result = import_bank_cards(
        stream=io.StringIO(
            f"card_number,national_code,status\n{number},{head.national_code},closed\n"
        ),
        overlap=True,
    )

    assert result.cards_changed == 1
    event = last_update(BankCard.objects.get(pk=card.pk), "status")
    assert (event.pgh_previous["status"], event.status) == ("active", "closed")
    assert event.pgh_context["command"] == "import_bank_cards"
