"""No test module imports another: shared helpers live in conftest.py, factories.py or a helper
module (``tests/worker.py``), so a test file can be moved, split or deleted on its own."""

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _is_test_module(dotted: str) -> bool:
    parts = dotted.split(".")
    return parts[0] == "tests" and parts[-1].startswith("test_")


def imports_of_test_modules(path: Path) -> list[str]:
    """The ``tests.…test_*`` modules that ``path`` imports, at any depth (inside functions too)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if _is_test_module(alias.name)]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if _is_test_module(node.module):
                found.append(node.module)
            elif node.module.split(".")[0] == "tests":  # from tests.app import test_x
                found += [
                    f"{node.module}.{alias.name}"
                    for alias in node.names
                    if alias.name.startswith("test_")
                ]
        elif isinstance(node, ast.ImportFrom) and node.level > 0:  # from .test_x import y
            module = node.module or ""
            names = [module] if module else [alias.name for alias in node.names]
            found += [f".{name}" for name in names if name.split(".")[-1].startswith("test_")]
    return found


def test_no_test_module_imports_another_test_module():
    offenders = {
        str(path.relative_to(TESTS.parent)): imported
        for path in sorted(TESTS.rglob("test_*.py"))
        if (imported := imports_of_test_modules(path))
    }

    assert offenders == {}, "move the shared helpers to conftest.py or factories.py"


def test_the_layout_check_sees_every_form_of_import(tmp_path):
    module = tmp_path / "test_sample.py"
    module.write_text(
        "import tests.stores.test_api\n"
        "from tests.settlements.test_checkout_api import URL\n"
        "from tests.households import test_import\n"
        "from .test_rules import phase\n"
        "def f():\n"
        "    from tests.benchmarks.test_bench_credit_run import helper\n"
        "from tests.settlements.factories import buy\n"
        "from tests.worker import WorkerProcess\n",
        encoding="utf-8",
    )

    assert imports_of_test_modules(module) == [
        "tests.stores.test_api",
        "tests.settlements.test_checkout_api",
        "tests.households.test_import",
        ".test_rules",
        "tests.benchmarks.test_bench_credit_run",
    ]
