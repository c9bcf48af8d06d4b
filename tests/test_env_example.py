"""`.env.example` lists every variable that the settings (and the web server's config) read."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
READERS = (ROOT / "kalabarg" / "settings.py", ROOT / "gunicorn.conf.py")
VARIABLE = re.compile(r"^#?\s*([A-Z][A-Z0-9_]*)=", re.MULTILINE)


def _first_string_argument(call: ast.Call) -> str | None:
    if call.args and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str):
        return call.args[0].value
    return None


def _is_environment_read(call: ast.Call, helpers: set[str]) -> bool:
    """``env.str(...)``/``env(...)``, a settings helper taking the variable's name
    (``_bool``, ``_int``, …), or ``os.environ.get``/``os.getenv``."""
    func = call.func
    if isinstance(func, ast.Name):
        return func.id == "env" or func.id in helpers
    if isinstance(func, ast.Attribute):
        owner = func.value
        if isinstance(owner, ast.Name) and owner.id == "env":
            return func.attr not in {"read_env", "db_url_config", "cache_url_config"}
        if isinstance(owner, ast.Name) and owner.id == "os" and func.attr == "getenv":
            return True
        return (
            isinstance(owner, ast.Attribute)
            and owner.attr == "environ"
            and func.attr in {"get", "__getitem__"}
        )
    return False


def variables_read(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    helpers = {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.args.args and node.args.args[0].arg == "name"
    }
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _is_environment_read(node, helpers):
            name = _first_string_argument(node)
            if name is not None and name != "DJANGO_SETTINGS_MODULE":
                found.add(name)
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Attribute)
            and node.value.attr == "environ"
            and isinstance(node.slice, ast.Constant)
        ):
            found.add(str(node.slice.value))
    return found


def test_the_settings_reader_finds_variables_read_through_every_kind_of_call():
    read = variables_read(ROOT / "kalabarg" / "settings.py")
    assert {"SECRET_KEY", "DEBUG", "DB_CONN_MAX_AGE", "DATABASE_URL", "ALLOWED_HOSTS"} <= read


def test_env_example_lists_every_variable_the_settings_read():
    listed = set(VARIABLE.findall((ROOT / ".env.example").read_text(encoding="utf-8")))
    read = set().union(*(variables_read(path) for path in READERS))
    assert sorted(read - listed) == []


def test_env_example_lists_no_variable_that_nothing_reads():
    listed = set(VARIABLE.findall((ROOT / ".env.example").read_text(encoding="utf-8")))
    read = set().union(*(variables_read(path) for path in READERS))
    assert sorted(listed - read) == []
