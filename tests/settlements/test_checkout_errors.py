"""Services raise a code, never an HTTP status; the POS API's table gives each code its status.
Every code the checkout can raise must be in that table (a missing one would be a 500)."""

import ast
from pathlib import Path

from settlements import api
from settlements.services import checkout as checkout_package
from stores.auth import TERMINAL_REFUSAL_STATUS
from stores.services import TERMINAL_REFUSAL_CODES

# normalize_card_number's refusals, which the checkout passes on with the field.
CARD_CODES = {
    "card_required",
    "card_not_digits",
    "card_length",
    "card_invalid",
    "card_unknown_bank",
}


def _codes_raised_by_the_checkout() -> set[str]:
    codes = set()
    for module in Path(checkout_package.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "CheckoutError"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                codes.add(node.args[0].value)
    return codes


def test_every_code_the_checkout_raises_has_an_http_status():
    codes = _codes_raised_by_the_checkout() | CARD_CODES | TERMINAL_REFUSAL_CODES

    assert len(codes) > 20
    assert codes <= set(api.POS_ERROR_CODES)


def test_terminal_refusals_have_one_status_table():
    assert set(TERMINAL_REFUSAL_STATUS) == TERMINAL_REFUSAL_CODES
    for code, status in TERMINAL_REFUSAL_STATUS.items():
        assert api.POS_ERROR_CODES[code] == status
