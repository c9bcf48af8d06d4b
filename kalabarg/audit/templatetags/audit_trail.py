"""``{% audit_trail object %}``: the object's trail with values, on its admin history page."""

from typing import Any

from django import template
from django.db import connection

from kalabarg.audit import selectors
from kalabarg.lib.replica import with_replica_fallback

register = template.Library()


@register.inclusion_tag("audit/object_trail.html")
def audit_trail(obj: Any) -> dict[str, Any]:
    return {
        # The history page's trail reads the replica (the page itself stays on the primary).
        "entries": (
            with_replica_fallback(lambda: selectors.object_trail(obj)) if obj is not None else []
        ),
        "audited": obj is not None and selectors.event_model_for(type(obj)) is not None,
        "recorded_here": connection.vendor == "postgresql",
        "limit": selectors.OBJECT_TRAIL_LIMIT,
    }
