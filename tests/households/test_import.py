import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command

from households import selectors
from households.importer import import_households
from households.models import DecileAssignment, Household, Person, Province
from tests.households.factories import (
    HEADER,
    make_household,
    member,
    next_mobile,
    next_national_code,
    row,
)

pytestmark = pytest.mark.django_db


def run(*lines: str):
    return import_households(stream=io.StringIO("\n".join([HEADER, *lines]) + "\n"))


def snapshot() -> list[tuple]:
    return [
        *Household.objects.order_by("pk").values_list(
            "pk", "registry_code", "province_id", "city_id", "updated_at"
        ),
        *Person.objects.order_by("pk").values_list(
            "pk", "national_code", "first_name", "is_head", "updated_at"
        ),
        *DecileAssignment.objects.order_by("pk").values_list(
            "pk", "household_id", "decile", "effective_from"
        ),
    ]


def test_a_good_file_creates_households_members_and_deciles():
    result = run(
        row(national_code="0084575948"), member(national_code="0013542419"), row(household_id="H2")
    )

    assert (result.rows_read, result.rows_applied, result.errors) == (3, 3, [])
    h1 = Household.objects.get(registry_code="H1")
    assert h1.members.count() == 2
    assert h1.members.get(is_head=True).national_code == "0084575948"
    assert selectors.decile_on(household_id=h1.pk, on_date=dt.date(2022, 3, 21)) == 3
    assert Person.objects.get(national_code="0084575948").birth_date == dt.date(1981, 8, 3)


def test_persian_digits_and_arabic_letters_are_normalised():
    result = run(
        row(
            national_code="۰۰۸۴۵۷۵۹۴۸",
            first_name="علي",
            mobile="۰۹۱۲۱۲۳۴۵۶۷",
            decile="۴",
            decile_effective_from="۱۴۰۲/۰۶/۰۱",
        )
    )

    assert result.errors == []
    person = Person.objects.get(national_code="0084575948")
    assert (person.first_name, person.mobile) == ("علی", "09121234567")
    assert person.household.deciles.get().effective_from == dt.date(2023, 8, 23)


def test_importing_the_same_file_twice_changes_nothing():
    lines = [row(), member(), member(), row(household_id="H2")]
    run(*lines)
    before = snapshot()

    result = run(*lines)

    assert result.errors == []
    assert snapshot() == before


def test_a_changed_name_and_a_new_decile_date_update_the_household_and_keep_history():
    code = next_national_code()
    mobile = next_mobile()
    run(row(national_code=code, mobile=mobile))

    run(
        row(
            national_code=code,
            mobile=mobile,
            first_name="زهرا",
            decile="5",
            decile_effective_from="1402/06/01",
        )
    )

    person = Person.objects.get(national_code=code)
    assert person.first_name == "زهرا"
    assert list(
        person.household.deciles.order_by("effective_from").values_list("decile", flat=True)
    ) == [3, 5]


@pytest.mark.parametrize(
    ("bad_line", "field", "code"),
    [
        (member(national_code="1234567890"), "national_code", "national_code_invalid"),
        (member(province="آتلانتیس"), "province", "province_unknown"),
        (member(city="اصفهان"), "city", "city_unknown"),
        (member(decile="11"), "decile", "decile_out_of_range"),
        (member(decile="0"), "decile", "decile_out_of_range"),
        (member(relation="cousin"), "relation", "relation_invalid"),
        (member(birth_date="1402/07/31"), "birth_date", "birth_date_invalid"),
        (member(decile_effective_from="tomorrow"), "decile_effective_from", "decile_date_invalid"),
        (member(mobile="0912"), "mobile", "mobile_invalid"),
        (row(mobile=""), "mobile", "head_mobile_required"),
        (member(is_head="1"), "is_head", "head_relation_mismatch"),
        (row(), "is_head", "second_head"),
        (member(decile="7"), "decile", "household_decile_mismatch"),
    ],
)
def test_each_bad_row_is_rejected_with_its_line_and_reason_and_the_good_rows_are_applied(
    bad_line, field, code
):
    result = run(row(), member(), bad_line, row(household_id="H2"))

    assert [(e.line, e.field, e.code) for e in result.errors] == [(4, field, code)]
    assert result.rows_applied == 3
    assert Person.objects.count() == 3
    assert all(error.message for error in result.errors)


def test_a_national_code_repeated_in_the_file_rejects_the_later_row():
    code = next_national_code()

    result = run(row(national_code=code), row(household_id="H2", national_code=code))

    assert [(e.line, e.code) for e in result.errors] == [(3, "national_code_duplicate_in_file")]


def test_a_person_already_in_another_household_is_not_moved():
    existing = make_household(members=1)
    child = existing.members.get(is_head=False)

    result = run(
        row(household_id="NEW"), member(household_id="NEW", national_code=child.national_code)
    )

    assert [(e.line, e.code) for e in result.errors] == [(3, "person_in_other_household")]
    assert Person.objects.get(pk=child.pk).household_id == existing.pk


def test_a_new_household_without_a_valid_head_is_rejected_whole():
    result = run(member(household_id="ORPHAN"), member(household_id="ORPHAN"))

    assert [e.code for e in result.errors] == ["household_without_head"] * 2
    assert not Household.objects.filter(registry_code="ORPHAN").exists()


def test_a_second_head_for_an_existing_household_is_rejected():
    run(row(household_id="H9"))

    result = run(row(household_id="H9"))

    assert [e.code for e in result.errors] == ["second_head"]
    assert Person.objects.filter(household__registry_code="H9").count() == 1


def test_the_head_can_be_handed_over_when_the_file_demotes_the_old_head():
    old_code, new_code = next_national_code(), next_national_code()
    old_mobile = next_mobile()
    run(
        row(household_id="H5", national_code=old_code, mobile=old_mobile),
        member(household_id="H5", national_code=new_code),
    )

    result = run(
        member(household_id="H5", national_code=old_code, relation="spouse", mobile=old_mobile),
        row(household_id="H5", national_code=new_code),
    )

    assert result.errors == []
    assert Person.objects.get(national_code=new_code).is_head
    assert not Person.objects.get(national_code=old_code).is_head


def test_a_file_without_the_required_columns_is_refused_whole(tmp_path):
    path = tmp_path / "short.csv"
    path.write_text("household_id,national_code\nH1,0084575948\n", encoding="utf-8")

    with pytest.raises(CommandError, match="decile"):
        call_command("import_households", str(path))

    assert Household.objects.count() == 0


def test_the_command_exits_non_zero_and_writes_an_error_report(tmp_path):
    path = tmp_path / "households.csv"
    path.write_text("\n".join([HEADER, row(), member(decile="12")]) + "\n", encoding="utf-8")
    errors = tmp_path / "errors.csv"

    with pytest.raises(SystemExit) as exit_info:
        call_command(
            "import_households",
            str(path),
            "--errors",
            str(errors),
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )

    assert exit_info.value.code == 1
    report = errors.read_text(encoding="utf-8").splitlines()
    assert report[0] == "line,national_code,field,code,message"
    assert report[1].startswith("3,") and "decile_out_of_range" in report[1]
    assert Person.objects.count() == 1


def test_the_command_succeeds_quietly_on_a_clean_file(tmp_path):
    path = tmp_path / "households.csv"
    path.write_text("\ufeff" + "\n".join([HEADER, row(), member()]) + "\n", encoding="utf-8")
    out = io.StringIO()

    call_command("import_households", str(path), stdout=out, stderr=io.StringIO())

    assert "2 applied, 0 rejected" in out.getvalue()


def test_small_chunks_keep_each_household_whole():
    lines = []
    for number in range(10):
        lines += [
            row(household_id=f"C{number}"),
            member(household_id=f"C{number}"),
            member(household_id=f"C{number}"),
        ]

    result = import_households(stream=io.StringIO("\n".join([HEADER, *lines]) + "\n"), chunk_rows=4)

    assert result.errors == []
    assert Person.objects.count() == 30
    assert Province.objects.count() == 31


def test_a_chunk_the_database_refuses_is_retried_per_household_so_the_rest_still_lands(monkeypatch):
    from django.db import IntegrityError

    from households import importer

    real_apply = importer._apply_rows

    def refuse_household_bad(rows, **kwargs):
        if any(r.household_code == "BAD" for r in rows):
            raise IntegrityError("simulated refusal")
        real_apply(rows, **kwargs)

    monkeypatch.setattr(importer, "_apply_rows", refuse_household_bad)

    result = run(
        row(household_id="OK1"),
        row(household_id="BAD"),
        member(household_id="BAD"),
        row(household_id="OK2"),
    )

    assert [(e.line, e.code) for e in result.errors] == [
        (3, "database_refused"),
        (4, "database_refused"),
    ]
    assert set(Household.objects.values_list("registry_code", flat=True)) == {"OK1", "OK2"}
