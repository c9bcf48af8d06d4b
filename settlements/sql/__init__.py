"""The PL/pgSQL sources the migrations load: reviewed, diffed and linted as SQL, not as strings.

Migrations are history, so a migration loads a file by name (``RunPython`` calling
``schema_editor.execute(load(name))``); a later change to a function is a new migration that
loads its file again (``CREATE OR REPLACE``). ``tests/settlements/test_sql_sources.py``
checks that the function installed in the database is its file, byte for byte."""

from pathlib import Path

HERE = Path(__file__).resolve().parent


def load(name: str) -> str:
    """The text of ``settlements/sql/<name>``."""
    return (HERE / name).read_text(encoding="utf-8")


def function_body(name: str) -> str:
    """The body of the one function in ``name``: the text between its ``$$`` markers."""
    parts = load(name).split("$$")
    if len(parts) != 3:
        raise ValueError(f"{name} must hold exactly one $$-quoted body")
    return parts[1]
