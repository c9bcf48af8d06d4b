"""Admin lists that stay fast at millions of rows: never a full COUNT(*) on a big table."""

from typing import Any

from django.core.paginator import Paginator
from django.db import connection
from django.utils.functional import cached_property

# Past this many matches the list says "more than N" instead of counting exactly.
COUNT_CAP = 10_000


class CappedCountPaginator(Paginator):
    """Counts at most ``COUNT_CAP + 1`` rows; an unfiltered list uses PostgreSQL's row estimate."""

    @cached_property
    def count(self) -> int:
        queryset: Any = self.object_list
        model = getattr(queryset, "model", None)
        query = getattr(queryset, "query", None)
        if (
            model is not None
            and query is not None
            and not query.where
            and connection.vendor == "postgresql"
        ):
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                    [model._meta.db_table],
                )
                row = cursor.fetchone()
            if row and row[0] > COUNT_CAP:
                return int(row[0])
        try:
            return len(queryset.values("pk")[: COUNT_CAP + 1])
        except (AttributeError, TypeError):
            return len(self.object_list)
