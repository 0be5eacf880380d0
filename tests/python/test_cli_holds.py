"""`dualbook hold`, `capture` and `void` against a real database, as the roles of a deployment."""

from __future__ import annotations

import json

from click.testing import CliRunner

from dualbook.cli import main
from dualbook.cli.common import EXIT_CONFLICT, EXIT_VALIDATION


def run(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env=env)
    return result.exit_code, result.stdout + result.stderr


def test_hold_capture_void_from_the_command_line(role_env: dict[str, str]) -> None:
    for args in (
        ["account", "create", "bank", "--currency", "USD", "--type", "asset"],
        ["account", "create", "wallet:1", "--currency", "USD", "--type", "liability", "--lower-limit", "0"],
        ["account", "create", "merchant:7", "--currency", "USD", "--type", "liability"],
        ["post", "--key", "topup:1", "--debit", "bank", "100", "--credit", "wallet:1", "100"],
    ):
        assert run(role_env, *args)[0] == 0, args

    code, out = run(role_env, "hold", "--key", "auth:1", "--debit", "wallet:1", "60", "--credit", "merchant:7", "60")
    assert code == 0 and "hold 1 placed with key auth:1" in out, out
    assert "Available" in out and "40.00" in out
    code, out = run(role_env, "hold", "--key", "auth:2", "--debit", "wallet:1", "41", "--credit", "merchant:7", "41")
    assert code == EXIT_CONFLICT and "LD203" in out, out

    code, out = run(role_env, "capture", "1", "--amount", "25.50", "--json")
    doc = json.loads(out)
    assert code == 0 and (doc["created"], doc["amount"], doc["released"]) == (True, 2550, 3450), out
    wallet = next(a for a in doc["accounts"] if a["account"] == "wallet:1")
    assert (wallet["balance"], wallet["pending_debit"], wallet["available"]) == (7450, 0, 7450)
    code, out = run(role_env, "capture", "1", "--amount", "25.50")
    assert code == 0 and "replay" in out, out
    code, out = run(role_env, "void", "1")
    assert code == EXIT_CONFLICT and "LD224" in out, out

    code, out = run(
        role_env, "hold", "--key", "auth:3", "--debit", "wallet:1", "10", "--credit", "merchant:7", "10", "--json"
    )
    assert code == 0, out
    hold_id = str(json.loads(out)["hold_id"])
    code, out = run(role_env, "void", hold_id, "--json")
    assert code == 0 and json.loads(out)["created"] is True, out
    code, out = run(role_env, "capture", hold_id)
    assert code == EXIT_CONFLICT and "LD221" in out, out
    code, out = run(role_env, "capture", "999")
    assert code == EXIT_CONFLICT and "LD220" in out, out
    code, out = run(role_env, "capture", hold_id, "--amount", "0", "--key", "other")
    assert code == EXIT_VALIDATION and "LD120" in out, out
