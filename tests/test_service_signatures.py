"""Every public service and selector takes keyword-only, typed parameters and declares its return
type (docs/architecture.md), so a call site always names what it passes."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = (
    "households",
    "stores",
    "settlements",
    "notifications",
    "kalabarg/portal",
    "kalabarg/backoffice",
)
# Service modules that are not called services.py (one job each, named for it).
NAMED_SERVICES = (
    "households/objections.py",
    "households/otp.py",
    "households/importer.py",
    "kalabarg/portal/login.py",
    "kalabarg/backoffice/objections.py",
    "kalabarg/portal/notify.py",
)


def service_modules() -> list[Path]:
    found = {ROOT / name for name in NAMED_SERVICES}
    for app in APPS:
        base = ROOT / app
        found.update(base.glob("services.py"))
        found.update(base.glob("services/**/*.py"))
        found.update(base.glob("selectors.py"))
    return sorted(found)


def public_functions(path: Path) -> list[ast.FunctionDef]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and not node.name.startswith("_")
    ]


def test_the_walk_finds_the_services_of_every_app():
    names = {path.relative_to(ROOT).as_posix() for path in service_modules()}
    assert {
        "households/services.py",
        "stores/services.py",
        "settlements/selectors.py",
        "settlements/services/runs.py",
        "settlements/services/checkout/purchase.py",
        "notifications/services/dispatch.py",
    } <= names


@pytest.mark.parametrize(
    "path", service_modules(), ids=lambda path: path.relative_to(ROOT).as_posix()
)
def test_public_services_are_keyword_only_and_typed(path):
    loose = []
    for function in public_functions(path):
        positional = [arg.arg for arg in function.args.posonlyargs + function.args.args]
        parameters = function.args.kwonlyargs + function.args.args + function.args.posonlyargs
        untyped = [arg.arg for arg in parameters if arg.annotation is None]
        if positional or untyped or function.returns is None:
            loose.append(f"{function.name}: positional={positional} untyped={untyped}")
    assert loose == []
