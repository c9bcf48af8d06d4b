"""The PL/pgSQL sources the households app's migrations load, as ``settlements/sql`` holds the
ledger's: a migration loads a file by name, and a later change to a function is a new migration
that loads its file again (``CREATE OR REPLACE``). ``tests/households/test_registry_references.py``
checks that the functions installed in the database are their file, byte for byte."""

from pathlib import Path

HERE = Path(__file__).resolve().parent


def load(name: str) -> str:
    """The text of ``households/sql/<name>``."""
    return (HERE / name).read_text(encoding="utf-8")
