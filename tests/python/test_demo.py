"""A short run of the main job (`make demo`) against a fresh database: it must finish and its invariants hold."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from dualbook.cli import main


def test_short_demo_run_balances(role_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """DATABASE_URL is the application's; deploy, sequencer and report get their own roles' URLs."""
    for name, value in role_env.items():
        monkeypatch.setenv(name, value)
    from dualbook.demo import run_demo

    run_demo(None, seconds=3, clients=4)  # raises click's Exit(1) if an invariant fails


def test_demo_command_reports_unreachable_database() -> None:
    r = CliRunner().invoke(main, ["demo"], env={"DATABASE_URL": "postgresql://nobody:pw@127.0.0.1:1/x"})
    assert r.exit_code == 3
    assert "postgresql://nobody:***@127.0.0.1:1/x" in r.output and "pw@" not in r.output
