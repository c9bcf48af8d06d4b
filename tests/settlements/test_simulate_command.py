"""``manage.py simulate_phase`` (issue 17): the what-if of a rule from the command line, as a table
or one JSON object, beside the last closed cycle's actual cost. The figures are those of
``tests.settlements.factories.what_if_data`` as computed by hand in
``tests/settlements/test_projection.py``."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.settlements.factories import what_if_data

pytestmark = pytest.mark.django_db

EXAMPLE = (
    "--deciles",
    "1-6",
    "--credit-rial",
    "1500000",
    "--threshold-rial",
    "1000000",
    "--bonus-rial",
    "600000",
    "--basis",
    "member",
)


def _run(*arguments: str) -> str:
    out = StringIO()
    call_command("simulate_phase", *arguments, stdout=out)
    return out.getvalue()


def test_json_prints_one_object_with_the_projected_figures_in_whole_rials():
    what_if_data()

    printed = json.loads(_run(*EXAMPLE, "--json"))

    assert {
        key: printed[key]
        for key in ("households", "credit_rial", "bonus_rial", "compensation_rial", "total_rial")
    } == {
        "households": 5,
        "credit_rial": 12_000_000,
        "bonus_rial": 1_000_000,
        "compensation_rial": 1_166_667,
        "total_rial": 14_166_667,
    }
    assert printed["cycle"] == "1402-06"


def test_json_carries_the_closed_cycles_actual_cost_beside_the_projection():
    what_if_data()

    printed = json.loads(_run(*EXAMPLE, "--json"))

    assert (printed["actual"]["cycle"], printed["actual"]["total_rial"]) == ("1402-06", 9_700_000)


def test_the_table_shows_each_decile_and_the_totals_in_toman_and_rial_beside_the_actual_cost():
    what_if_data()

    table = _run(*EXAMPLE)

    lines = table.splitlines()
    decile_six = next(line for line in lines if line.split()[:1] == ["6"])
    assert decile_six.split()[:7] == ["6", "1", "1", "150,000", "40,000", "16,666.7", "206,666.7"]
    total = next(line for line in lines if line.startswith("total "))
    assert total.split()[1:3] == ["14,166,667", "1,416,666.7"]  # projected: rial, toman
    assert total.split()[3:5] == ["9,700,000", "970,000"]  # actual: rial, toman
    assert "1402-06" in table


def test_a_single_decile_is_a_range_of_one():
    what_if_data()

    printed = json.loads(
        _run(
            "--deciles",
            "2",
            "--credit-rial",
            "1500000",
            "--threshold-rial",
            "1000000",
            "--bonus-rial",
            "600000",
            "--json",
        )
    )

    assert (printed["households"], printed["credit_rial"]) == (2, 7_500_000)  # B and F, 5 members


@pytest.mark.parametrize(
    ("option", "value", "refusal"),
    [
        ("--deciles", "7-3", "deciles: دهک آغاز نباید از دهک پایان بزرگ‌تر باشد [deciles_reversed]"),
        ("--deciles", "1to6", "[deciles_invalid]"),
        ("--threshold-rial", "0", "threshold_rial: "),
        (
            "--credit-rial",
            "-5",
            "credit_rial: مبلغ باید عدد صحیح نامنفی ریال باشد [amount_invalid]",
        ),
        ("--bonus-rial", "many", "bonus_rial: "),
        ("--basis", "family", "[basis_invalid]"),
    ],
)
def test_bad_options_are_refused_naming_the_field_with_a_persian_message_and_a_code(
    option, value, refusal
):
    arguments = list(EXAMPLE)
    arguments[arguments.index(option) + 1] = value

    with pytest.raises(CommandError) as refused:
        _run(*arguments)

    assert refusal in str(refused.value)
