"""OpenAPI links between the API's operations, added to the generated document (drf-spectacular
has no way to declare them on a view). They tell a client — and schemathesis's stateful run in
tests/api — which answer feeds which next request."""

from typing import Any

# (operation, status, link name, target operation, {target parameter: runtime expression})
LINKS: tuple[tuple[str, str, str, str, dict[str, str]], ...] = (
    (
        "pos_purchase",
        "201",
        "ReverseThePurchase",
        "pos_purchase_reversal",
        {"purchase_id": "$response.body#/purchase_id"},
    ),
    (
        "me_objection_create",
        "201",
        "GetTheObjection",
        "me_objection",
        {"objection_id": "$response.body#/id"},
    ),
    (
        # The newest purchase of the page; an empty page has no link to follow.
        "me_purchases",
        "200",
        "GetTheNewestPurchase",
        "me_purchase",
        {"purchase_id": "$response.body#/results/0/id"},
    ),
)


def add_links(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: put LINKS on their operations' responses. A link
    whose operation or response is gone is an error, not a silently smaller document."""
    operations = {
        operation["operationId"]: operation
        for path_item in result.get("paths", {}).values()
        for operation in path_item.values()
        if isinstance(operation, dict) and "operationId" in operation
    }
    for source, status, name, target, parameters in LINKS:
        if target not in operations:
            raise ValueError(f"OpenAPI link {name}: no operation {target!r}")
        try:
            response = operations[source]["responses"][status]
        except KeyError:
            raise ValueError(f"OpenAPI link {name}: no {status} answer of {source!r}") from None
        response.setdefault("links", {})[name] = {"operationId": target, "parameters": parameters}
    return result
