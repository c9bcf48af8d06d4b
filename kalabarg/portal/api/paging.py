"""The schema of the household API's paginated lists (``NoCountPagination``: no full count)."""

from typing import Any

from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

from kalabarg.lib.api import PAGE_PARAMETERS

__all__ = ["PAGE_PARAMETERS", "page_schema"]


def page_schema(name: str, result: Any) -> Any:
    """A page of ``result`` items as the schema shows it."""
    return inline_serializer(
        name,
        {
            "page": serializers.IntegerField(),
            "page_size": serializers.IntegerField(),
            "next": serializers.CharField(allow_null=True),
            "previous": serializers.CharField(allow_null=True),
            "results": result,
        },
    )
