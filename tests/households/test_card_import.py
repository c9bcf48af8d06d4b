"""The banks' card-owner feed: any card in a registered person's name is stored; errors by line."""

import io
import logging

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from households.card_import import hash_card_file, import_bank_cards, import_hashed_cards
from households.models import BankCard, CardStatus
from kalabarg.lib.identifiers import card_hash, mask_national_code
from kalabarg.lib.persian import to_persian_digits
from tests.households.factories import (
    decide_in_admin,
    make_household,
    next_card_number,
    next_national_code,
)

pytestmark = pytest.mark.django_db

HEADER = "card_number,national_code,status"


def run(*lines: str, chunk_rows: int = 50_000):
    text = "\n".join([HEADER, *lines]) + "\n"
    return import_bank_cards(stream=io.StringIO(text), chunk_rows=chunk_rows)


def stored(number: str) -> BankCard | None:
    return BankCard.objects.filter(card_hash=card_hash(number, key=settings.CARD_HASH_KEY)).first()


def snapshot() -> list[tuple]:
    return list(
        BankCard.objects.order_by("pk").values_list(
            "pk", "person_id", "card_hash", "bin", "last4", "status", "registered_at"
        )
    )


def with_bad_luhn(number: str) -> str:
    return number[:-1] + str((int(number[-1]) + 1) % 10)


def test_cards_of_any_member_are_stored_as_hash_bin_and_last_four_only():
    household = make_household(members=1)
    head = household.members.get(is_head=True)
    child = household.members.get(is_head=False)
    first, second, childs = next_card_number(), next_card_number("610433"), next_card_number()

    result = run(
        f"{first},{head.national_code},active",
        f"{second},{head.national_code},closed",
        f"{childs},{child.national_code},active",
    )

    assert (result.rows_read, result.rows_applied, result.errors, result.moved) == (3, 3, [], [])
    card = stored(first)
    assert card is not None and (card.person, card.status) == (head, CardStatus.ACTIVE)
    assert (card.bin, card.last4) == (first[:6], first[-4:])
    values = " ".join(str(v) for v in BankCard.objects.values_list("card_hash", "bin", "last4"))
    assert first not in values
    assert stored(second).status == CardStatus.CLOSED
    assert stored(childs).person == child


def test_persian_digits_and_an_uppercase_status_are_accepted():
    head = make_household().members.get(is_head=True)
    number = next_card_number()

    result = run(f"{to_persian_digits(number)},{to_persian_digits(head.national_code)},ACTIVE")

    assert result.errors == []
    assert stored(number).person == head


def test_every_bad_row_is_reported_with_line_field_and_code_and_the_good_rows_are_applied():
    head = make_household().members.get(is_head=True)
    good, repeated = next_card_number(), next_card_number()
    unknown_person = next_national_code()

    result = run(
        f"{with_bad_luhn(next_card_number())},{head.national_code},active",  # line 2
        f"{next_card_number('123456')},{head.national_code},active",  # line 3: unknown BIN
        f"{next_card_number()},{unknown_person},active",  # line 4
        f"{next_card_number()},{head.national_code},lost",  # line 5
        f"{next_card_number()},12345,active",  # line 6
        f"{good},{head.national_code},active",  # line 7
        f"{repeated},{head.national_code},active",  # line 8
        f"{repeated},{head.national_code},closed",  # line 9: the same card again
    )

    assert [(e.line, e.field, e.code) for e in result.errors] == [
        (2, "card_number", "card_invalid"),
        (3, "card_number", "card_unknown_bank"),
        (4, "national_code", "person_unknown"),
        (5, "status", "status_invalid"),
        (6, "national_code", "national_code_length"),
        (9, "card_number", "card_duplicate_in_file"),
    ]
    assert all(error.message for error in result.errors)
    assert result.errors[2].national_code == unknown_person
    assert (result.rows_read, result.rows_applied) == (8, 2)
    assert stored(good).person == head
    assert stored(repeated).status == CardStatus.ACTIVE  # the first line counts
    assert BankCard.objects.count() == 2


def test_a_card_repeated_in_a_later_chunk_is_still_a_duplicate():
    head = make_household().members.get(is_head=True)
    number = next_card_number()

    result = run(
        f"{number},{head.national_code},active",
        f"{next_card_number()},{head.national_code},active",
        f"{number},{head.national_code},closed",
        chunk_rows=1,
    )

    assert [(e.line, e.code) for e in result.errors] == [(4, "card_duplicate_in_file")]
    assert stored(number).status == CardStatus.ACTIVE


def test_importing_the_same_file_twice_changes_nothing():
    head = make_household(members=1).members.get(is_head=True)
    lines = [f"{next_card_number()},{head.national_code},{s}" for s in ("active", "closed")]
    first = run(*lines)
    before = snapshot()

    again = run(*lines)

    assert (first.cards_changed, again.cards_changed, again.errors) == (2, 0, [])
    assert snapshot() == before


def test_a_card_owned_by_another_national_code_is_moved_and_reported(caplog):
    old_owner = make_household().members.get(is_head=True)
    new_owner = make_household().members.get(is_head=True)
    number = next_card_number()
    run(f"{number},{old_owner.national_code},active")

    with caplog.at_level(logging.WARNING, logger="households.card_import"):
        result = run(f"{number},{new_owner.national_code},active")

    assert result.errors == []
    assert BankCard.objects.filter(card_hash=stored(number).card_hash).count() == 1
    assert stored(number).person == new_owner
    [move] = result.moved
    assert (move.line, move.from_national_code, move.to_national_code) == (
        2,
        old_owner.national_code,
        new_owner.national_code,
    )
    assert [(r.line, r.code) for r in result.report_rows()] == [(2, "card_moved")]
    assert mask_national_code(old_owner.national_code) in caplog.text
    assert mask_national_code(new_owner.national_code) in caplog.text
    assert old_owner.national_code not in caplog.text
    assert run(f"{number},{new_owner.national_code},active").moved == []


def test_a_file_with_another_header_is_refused_whole():
    with pytest.raises(Exception, match="card_number,national_code,status"):
        import_bank_cards(stream=io.StringIO("national_code,card_number,status\n"))


def test_the_command_writes_the_report_and_exits_1_when_a_row_was_rejected(tmp_path, capsys):
    head = make_household().members.get(is_head=True)
    good = next_card_number()
    path = tmp_path / "cards.csv"
    path.write_text(
        f"{HEADER}\n{good},{head.national_code},active\n{good[:-1]},{head.national_code},active\n",
        encoding="utf-8",
    )
    report = tmp_path / "rejected.csv"

    with pytest.raises(SystemExit) as exit_info:
        call_command("import_bank_cards", str(path), "--errors", str(report))

    assert exit_info.value.code == 1
    assert stored(good).person == head
    lines = report.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "line,national_code,field,code,message"
    assert lines[1].startswith(f"3,{head.national_code},card_number,card_length,")
    assert "2 rows read, 1 applied, 1 rejected" in capsys.readouterr().out

    path.write_text(f"{HEADER}\n{good},{head.national_code},closed\n", encoding="utf-8")
    call_command("import_bank_cards", str(path))  # no rejected row: no exit 1
    assert stored(good).status == CardStatus.CLOSED


def test_the_command_refuses_a_missing_file(tmp_path):
    with pytest.raises(CommandError, match="file not found"):
        call_command("import_bank_cards", str(tmp_path / "none.csv"))


def test_officer_uploads_a_card_file_in_the_admin_and_sees_the_rejected_rows(admin_client):
    head = make_household().members.get(is_head=True)
    good = next_card_number()
    content = f"{HEADER}\n{good},{head.national_code},active\n{good},{head.national_code},lost\n"
    upload = SimpleUploadedFile("cards.csv", content.encode("utf-8"), content_type="text/csv")

    changelist = admin_client.get(reverse("admin:households_bankcard_changelist"))
    response = admin_client.post(reverse("admin:households_bankcard_import"), {"file": upload})

    assert reverse("admin:households_bankcard_import") in changelist.content.decode()
    assert response.status_code == 200
    assert "status_invalid" in response.content.decode()  # reported when the file is read
    assert stored(good) is None  # until a second officer approves it
    change = response.context["change"]
    decide_in_admin(change)
    change.refresh_from_db()
    assert change.result["rows_applied"] == 1
    assert stored(good).person == head


def test_an_officer_without_the_card_permission_cannot_upload(client, django_user_model):
    officer = django_user_model.objects.create_user("clerk", password="x", is_staff=True)
    client.force_login(officer)

    response = client.post(reverse("admin:households_bankcard_import"), {})

    assert response.status_code == 403


def test_the_hashed_form_keeps_no_card_number_and_reports_unreadable_rows_by_line():
    head = make_household().members.get(is_head=True)
    good, bad = next_card_number(), with_bad_luhn(next_card_number())
    text = f"{HEADER}\n{good},{head.national_code},active\n{bad},{head.national_code},active\n"

    hashed = hash_card_file(stream=io.StringIO(text))

    assert (hashed.rows_read, hashed.rows_kept) == (2, 1)
    assert [(error.line, error.code) for error in hashed.errors] == [(3, "card_invalid")]
    assert good not in hashed.text and bad not in hashed.text
    assert hashed.text.splitlines() == [
        "line,card_hash,bin,last4,national_code,status",
        f"2,{card_hash(good, key=settings.CARD_HASH_KEY)},{good[:6]},{good[-4:]},"
        f"{head.national_code},active",
    ]
    assert BankCard.objects.count() == 0  # reading the file writes nothing


def test_the_hashed_form_applies_as_the_file_itself_would():
    old_owner = make_household().members.get(is_head=True)
    head = make_household(members=1).members.get(is_head=True)
    moved, closed, repeated = next_card_number(), next_card_number(), next_card_number()
    run(f"{moved},{old_owner.national_code},active")
    text = "\n".join(
        [
            HEADER,
            f"{moved},{head.national_code},active",
            f"{closed},{head.national_code},closed",
            f"{repeated},{head.national_code},active",
            f"{next_card_number()},{next_national_code()},active",
            f"{repeated},{head.national_code},active",
        ]
    )

    result = import_hashed_cards(text=hash_card_file(stream=io.StringIO(text)).text, chunk_rows=2)

    assert [(e.line, e.code) for e in result.errors] == [
        (5, "person_unknown"),
        (6, "card_duplicate_in_file"),
    ]
    assert [move.line for move in result.moved] == [2]
    assert (result.rows_read, result.rows_applied) == (5, 3)
    assert stored(moved).person == head and stored(closed).status == CardStatus.CLOSED


def test_a_tampered_row_of_the_hashed_form_is_refused_not_staged():
    head = make_household().members.get(is_head=True)
    digest = "a" * 64
    text = (
        "line,card_hash,bin,last4,national_code,status\n"
        f"2,{digest},603799,1234,{head.national_code},active\n"
        f"3,{digest}\tx,603799,1234,{head.national_code},active\n"
    )

    result = import_hashed_cards(text=text)

    assert [(e.line, e.code) for e in result.errors] == [(3, "hashed_row_invalid")]
    assert result.rows_applied == 1 and BankCard.objects.get().card_hash == digest


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_on_postgresql_the_database_work_overlaps_reading_and_gives_the_same_result():
    """Outside a transaction the chunks are applied on a worker thread with its own connection
    (and its own staging table): same rows, same errors, same moves as the serial path."""
    old_owner = make_household().members.get(is_head=True)
    head = make_household(members=1).members.get(is_head=True)
    moved, closed, repeated = next_card_number(), next_card_number(), next_card_number()
    run(f"{moved},{old_owner.national_code},active")
    lines = [
        f"{moved},{head.national_code},active",
        f"{closed},{head.national_code},closed",
        f"{repeated},{head.national_code},active",
        f"{next_card_number()},{next_national_code()},active",
        f"{repeated},{head.national_code},active",
    ]
    text = "\n".join([HEADER, *lines]) + "\n"

    result = import_bank_cards(stream=io.StringIO(text), chunk_rows=2, overlap=True)

    assert [(e.line, e.code) for e in result.errors] == [
        (5, "person_unknown"),
        (6, "card_duplicate_in_file"),
    ]
    assert [m.line for m in result.moved] == [2]
    assert (result.rows_read, result.rows_applied) == (5, 3)
    assert stored(moved).person == head and stored(closed).status == CardStatus.CLOSED
    again = import_bank_cards(stream=io.StringIO(text), chunk_rows=2, overlap=True)
    assert (again.cards_changed, again.moved) == (0, [])
