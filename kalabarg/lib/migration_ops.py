"""Schema operations that Django's autodetector would do more expensively."""

from django.db import migrations


def drop_foreign_key_index(*, table: str, column: str, name: str) -> migrations.RunSQL:
    """Drop a foreign key's own index, and nothing else.

    ``AlterField(db_index=False)`` on a foreign key drops and re-adds its constraint, and adding
    it back validates every row of the table under lock (minutes on purchase lines at national
    scale); it also dropped a partial unique index on the same column (the objections' "one open
    objection a household") without making it again (``sqlmigrate``, Django 5.2). Pair this
    with the ``AlterField`` in ``SeparateDatabaseAndState.state_operations``. The index's name is
    Django's, the same on PostgreSQL and SQLite."""
    return migrations.RunSQL(
        f'DROP INDEX IF EXISTS "{name}"',
        reverse_sql=f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" ("{column}")',
    )
