"""The import's pipeline (issue 18): rows validated in a thread of their own, chunks written by
two connections at once on PostgreSQL, and an unchanged row not written again. The results must
be those of applying the chunks one after the other."""

import io
import threading

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from households import importer
from households.importer import ImportFileError, import_households
from households.models import DecileAssignment, Household, Person
from tests.households.factories import HEADER, member, row


def _file(*lines: str) -> io.StringIO:
    return io.StringIO("\n".join([HEADER, *lines]) + "\n")


def _households(count: int, *, prefix: str = "P") -> list[str]:
    lines = []
    for number in range(count):
        lines += [row(household_id=f"{prefix}{number}"), member(household_id=f"{prefix}{number}")]
    return lines


@pytest.mark.django_db
def test_rows_are_validated_in_a_thread_other_than_the_callers(monkeypatch):
    # Given a row parser that notes the thread it runs in
    threads: set[str] = set()
    real_parse = importer._parse_row

    def noting_parse(line, values, ref):  # type: ignore[no-untyped-def]
        threads.add(threading.current_thread().name)
        return real_parse(line, values, ref)

    monkeypatch.setattr(importer, "_parse_row", noting_parse)

    # When a file is imported
    result = import_households(stream=_file(*_households(3)), chunk_rows=2)

    # Then every row was validated, none of them in the caller's thread
    assert result.rows_applied == 6
    assert threads and threading.current_thread().name not in threads


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_broken_line_stops_the_import_after_the_chunks_before_it():
    # Given a file whose fifth household's line cannot be read (a cell over the csv module's
    # size limit), in chunks of 2 rows
    lines = _households(6)
    lines[8] = lines[8] + "x" * 200_000

    # When it is imported
    with pytest.raises(ImportFileError):
        import_households(stream=_file(*lines), chunk_rows=2)

    # Then the households of the chunks read before the broken line are applied, no other
    assert set(Household.objects.values_list("registry_code", flat=True)) == {"P0", "P1", "P2"}


@pytest.mark.django_db
def test_reimporting_an_unchanged_file_writes_nothing():
    # Given a file already imported
    lines = _households(3)
    import_households(stream=_file(*lines))

    # When it is imported again
    with CaptureQueriesContext(connection) as queries:
        again = import_households(stream=_file(*lines))

    # Then every row counts as applied, and no statement wrote to the registry
    assert again.rows_applied == 6 and again.errors == []
    written = [q["sql"] for q in queries if q["sql"].lstrip().startswith(("INSERT", "UPDATE"))]
    assert written == []


@pytest.mark.django_db
def test_only_the_changed_person_of_a_household_is_written_again():
    # Given an imported household of three
    head, child, other = (
        row(household_id="W1"),
        member(household_id="W1"),
        member(household_id="W1"),
    )
    import_households(stream=_file(head, child, other))
    untouched = Person.objects.get(national_code=other.split(",")[1]).updated_at

    # When the file comes again with the child's name changed
    changed = child.replace("مریم", "زهرا", 1)
    result = import_households(stream=_file(head, changed, other))

    # Then the child has the new name and the others were not rewritten
    assert result.rows_applied == 3
    assert Person.objects.get(national_code=child.split(",")[1]).first_name == "زهرا"
    assert Person.objects.get(national_code=other.split(",")[1]).updated_at == untouched


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_writers_apply_chunks_as_one_writer_would(monkeypatch):
    # Given chunks noted by the thread that writes them, and a file in chunks of 2 rows whose
    # household S is split over two chunks (a later row of it comes after other households)
    writers: set[str] = set()
    real_chunk = importer._import_chunk

    def noting_chunk(households):  # type: ignore[no-untyped-def]
        writers.add(threading.current_thread().name)
        return real_chunk(households)

    monkeypatch.setattr(importer, "_import_chunk", noting_chunk)
    lines = [row(household_id="S"), *_households(8), member(household_id="S")]
    lines.append(member(household_id="P3", decile="0"))  # rejected

    # When it is imported (two writers: PostgreSQL, no caller's transaction)
    result = import_households(stream=_file(*lines), chunk_rows=2)

    # Then the chunks were written by the writer threads, and the outcome is the serial one
    assert writers and all(name.startswith("import-write") for name in writers)
    assert (result.rows_read, result.rows_applied) == (19, 18)
    assert [(e.line, e.code) for e in result.errors] == [(20, "decile_out_of_range")]
    assert Person.objects.count() == 18
    assert Household.objects.get(registry_code="S").members.count() == 2
    assert DecileAssignment.objects.count() == 9
