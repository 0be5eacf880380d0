"""The package's folders are its architecture, and the import rules between them hold.

* the client (``dualbook``: ``Ledger``, ``AsyncLedger``, results, errors, money, retry, group posting) imports
  nothing from the CLI, the operations code (``db``), the audit, the tools or the test support;
* operations (``dualbook.db``) import the client's errors at most, never the CLI, the audit or the tools;
* the offline audit verifier (``dualbook.audit.verify``) uses the standard library only, so an auditor runs it with
  no database driver installed;
* nothing but the CLI imports the CLI;
* the HTTP service (``dualbook.service``) imports the client and ``dualbook.db`` (the packaged plan) only, and
  nothing imports the service but its own modules and the ``serve`` command (so the client, the operations and
  the tools run without its dependencies installed);
* no module is longer than 600 lines.

Imports are read from the source (every ``import`` statement, at any depth, so a lazy import inside a function
counts too).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "pyadapter" / "dualbook"
CLIENT = {
    "dualbook",
    "dualbook.ledger",
    "dualbook.aio",
    "dualbook.calls",
    "dualbook.results",
    "dualbook.errors",
    "dualbook.money",
    "dualbook.retry",
    "dualbook.reports",
    "dualbook.group",
    "dualbook.holds",
    "dualbook.holdcalls",
    "dualbook.agroup",
    "dualbook.reads",
}
MAX_LINES = 600


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py")) if "migrations" not in p.parts}


def _imports(path: Path) -> set[str]:
    """Every module an import statement of the file names (absolute names; relative imports resolved)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)  # `from pkg import module`
    return found


def _dualbook_imports(path: Path) -> set[str]:
    modules = set(_modules())
    return {m for m in _imports(path) if m in modules}


def _in(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_the_package_has_the_rooms_of_the_architecture() -> None:
    modules = _modules()
    for package in (
        "dualbook.cli",
        "dualbook.db",
        "dualbook.audit",
        "dualbook.tools",
        "dualbook.testing",
        "dualbook.service",
    ):
        assert package in modules, f"{package} is missing"
    assert set(modules) >= CLIENT


def test_the_client_imports_only_the_client() -> None:
    for name in sorted(CLIENT):
        outside = sorted(_dualbook_imports(_modules()[name]) - CLIENT)
        assert not outside, f"{name} (client) imports {outside}"


def test_operations_import_no_cli_audit_or_tools() -> None:
    for name, path in _modules().items():
        if _in(name, "dualbook.db"):
            bad = [
                m
                for m in _dualbook_imports(path)
                if any(_in(m, p) for p in ("dualbook.cli", "dualbook.audit", "dualbook.tools", "dualbook.testing"))
            ]
            assert not bad, f"{name} imports {bad}"


def test_only_the_cli_imports_the_cli() -> None:
    for name, path in _modules().items():
        if not _in(name, "dualbook.cli"):
            bad = [m for m in _dualbook_imports(path) if _in(m, "dualbook.cli")]
            assert not bad, f"{name} imports the CLI: {bad}"


def test_the_service_imports_only_the_client_and_operations() -> None:
    allowed = CLIENT | {m for m in _modules() if _in(m, "dualbook.service") or _in(m, "dualbook.db")}
    for name, path in _modules().items():
        if _in(name, "dualbook.service"):
            bad = sorted(_dualbook_imports(path) - allowed)
            assert not bad, f"{name} (service) imports {bad}"


def test_only_the_serve_command_imports_the_service() -> None:
    for name, path in _modules().items():
        if not _in(name, "dualbook.service") and name != "dualbook.cli.serve":
            bad = [m for m in _dualbook_imports(path) if _in(m, "dualbook.service")]
            assert not bad, f"{name} imports the service: {bad}"


def test_the_offline_verifier_needs_only_the_standard_library() -> None:
    allowed = set(sys.stdlib_module_names) | {"__future__"}
    seen: set[str] = set()
    todo = ["dualbook.audit.verify"]
    modules = _modules()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for imported in _imports(modules[name]):
            if imported in modules:
                assert _in(imported, "dualbook.audit") or imported == "dualbook", f"{name} imports {imported}"
                if imported != "dualbook":
                    todo.append(imported)
            elif imported.split(".")[0] != "dualbook":
                assert imported.split(".")[0] in allowed, f"{name} imports {imported}, not in the standard library"


def test_the_offline_verifier_runs_without_the_driver(tmp_path: Path) -> None:
    """``python -m dualbook.audit.verify`` with psycopg, click and rich made unimportable still runs."""
    blocker = tmp_path / "sitecustomize.py"
    blocker.write_text(
        "import sys\nfor m in ('psycopg', 'psycopg_pool', 'click', 'rich'):\n    sys.modules[m] = None\n"
    )
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    env = {"PYTHONPATH": f"{tmp_path}:{PACKAGE.parent}", "PATH": "/usr/bin:/bin"}
    r = subprocess.run(
        [sys.executable, "-m", "dualbook.audit.verify", str(empty)], capture_output=True, text=True, env=env
    )
    assert "ModuleNotFoundError" not in r.stderr and "ImportError" not in r.stderr, r.stderr
    assert r.returncode in (0, 1), r.stderr  # an empty file is not a valid export: a finding, not a crash
    assert "Traceback" not in r.stderr, r.stderr


@pytest.mark.parametrize("name", sorted(_modules()))
def test_no_module_is_longer_than_600_lines(name: str) -> None:
    lines = len(_modules()[name].read_text().splitlines())
    assert lines <= MAX_LINES, f"{name} has {lines} lines (at most {MAX_LINES}: split it along what it does)"
