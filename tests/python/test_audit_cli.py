"""`dualbook audit`: seal (one pass, periodic), verify (database, offline file, anchored), export and status,
their JSON, their exit codes, and their usage errors.

Every command runs as its documented role (docs/security.md), as in production: DATABASE_URL is the application's
(which may do none of this), the sealer connects through DUALBOOK_SEQUENCER_URL as dualbook_sequencer, verify,
export and status through DUALBOOK_AUDITOR_URL as dualbook_auditor. Only the set-up and the tampering use the
superuser."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from dualbook import Ledger
from dualbook.audit import verify as auditspec
from dualbook.cli import main
from dualbook.db import roles

from .auditkit import chart, history, tamper

Run = Callable[..., Result]


@pytest.fixture
def run(role_env: dict[str, str]) -> Run:
    env = {k: v for k, v in role_env.items() if k != "DUALBOOK_MIGRATOR_URL"}

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(main, ["audit", *args], env=env)

    return invoke


@pytest.fixture
def posted(db_url: str) -> dict[str, int]:
    with Ledger.connect(db_url, max_size=2) as lg:
        chart(lg)
        return history(lg)


def test_seal_one_pass(run: Run, posted: dict[str, int]) -> None:
    r = run("seal")
    assert r.exit_code == 0, r.output
    assert r.output == f"sealed 6 entries into 2 seal(s), through entry {posted['pay2']}\n"
    r = run("seal", "--json")
    assert r.exit_code == 0
    assert json.loads(r.output) == {
        "status": "idle",
        "entries": 0,
        "seals": 0,
        "sealed_through": posted["pay2"],
        "waiting_for": [],
    }
    assert run("seal").output.startswith("nothing new to seal")


def test_seal_periodically(run: Run, posted: dict[str, int]) -> None:
    r = run("seal", "--every", "0.05", "--passes", "3", "--max", "4", "--json")
    assert r.exit_code == 0, r.output
    passes = [json.loads(line) for line in r.output.splitlines()]
    assert [p["status"] for p in passes] == ["sealed", "idle", "idle"]
    assert passes[0]["entries"] == 6  # one pass calls the sealer again while a call fills --max


@pytest.mark.parametrize(
    "args",
    [
        ("seal", "--passes", "2"),
        ("seal", "--every", "0"),
        ("seal", "--max", "0"),
        ("seal", "--wait", "601"),
        ("verify", "--file", "/nonexistent.jsonl"),
        ("export",),
    ],
)
def test_usage_errors(run: Run, args: tuple[str, ...]) -> None:
    r = run(*args)
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output


def test_verify_export_and_status(run: Run, posted: dict[str, int], tmp_path: Path, db_url: str) -> None:
    assert run("seal").exit_code == 0
    r = run("verify")
    assert r.exit_code == 0, r.output
    assert r.output.startswith("ok: 2 book(s), 2 seal(s), 6 of 6 entries sealed")
    assert "head of default: " in r.output and "head of emea: " in r.output

    out = tmp_path / "ledger.jsonl"
    r = run("export", "--out", str(out))
    assert r.exit_code == 0, r.output
    assert r.output.startswith("exported ") and "(6 entries, 2 seals)" in r.output
    assert not (tmp_path / "ledger.jsonl.partial").exists()
    first = json.loads(out.read_text().splitlines()[0])
    assert (first["type"], first["format"], first["version"]) == ("manifest", "dualbook-audit-export", 1)

    r = run("verify", "--file", str(out))
    assert r.exit_code == 0, r.output
    assert r.output.startswith("ok: 2 book(s), 2 seal(s), 6 of 6 entries sealed")
    r = run("verify", "--anchor", str(out), "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert doc["ok"] is True and doc["first_divergence"] is None and set(doc["heads"]) == {"default", "emea"}

    r = run("status", "--json")
    assert r.exit_code == 0
    status = {b["book"]: b for b in json.loads(r.output)}
    assert status["default"]["seals"] == 1 and status["default"]["entries"] == status["default"]["sealed"] == 5
    assert status["default"]["head"] == doc["heads"]["default"]
    r = run("status")
    assert r.exit_code == 0 and "default" in r.output and doc["heads"]["emea"] in r.output

    r = run("verify", "--file", str(out), "--anchor", str(out))
    assert r.exit_code == 2 and "not both" in r.output


def test_verify_reports_the_first_divergence(run: Run, posted: dict[str, int], tmp_path: Path, db_url: str) -> None:
    assert run("seal").exit_code == 0
    before = tmp_path / "before.jsonl"
    assert run("export", "--out", str(before)).exit_code == 0
    tamper(db_url, f"UPDATE ledger_private.posting SET amount = 2600 WHERE entry_id = {posted['pay']} AND leg = 1")

    r = run("verify")
    assert r.exit_code == 1
    lines = r.output.splitlines()
    assert lines[0].startswith(f"FIRST DIVERGENCE: leg_changed: book default: entry {posted['pay']} leg 1: differs")
    assert "amount 2600 USD" in lines[0]
    assert lines[1].endswith("further finding(s); --all lists them")

    r = run("verify", "--all")
    assert r.exit_code == 1 and "books:account_balance" in r.output and "books:entry_balanced" in r.output

    r = run("verify", "--anchor", str(before), "--json")
    assert r.exit_code == 1
    kinds = [f["kind"] for f in json.loads(r.output)["findings"]]
    assert kinds[0] == "leg_changed" and "anchor_leg_changed" in kinds

    after = tmp_path / "after.jsonl"
    assert run("export", "--out", str(after)).exit_code == 0
    r = run("verify", "--file", str(after))
    assert r.exit_code == 1 and r.output.startswith("FIRST DIVERGENCE: leg_changed: book default: entry")


def test_export_to_an_impossible_place(run: Run, posted: dict[str, int], tmp_path: Path) -> None:
    r = run("export", "--out", str(tmp_path / "no" / "such" / "dir" / "x.jsonl"))
    assert r.exit_code == 1
    assert "Traceback" not in r.output and "x.jsonl" in r.output


def test_export_to_stdout(run: Run, posted: dict[str, int]) -> None:
    r = run("export", "--out", "-")
    assert r.exit_code == 0
    lines = r.output.splitlines()
    assert json.loads(lines[0])["type"] == "manifest" and json.loads(lines[-1])["type"] == "end"


@pytest.mark.parametrize(
    ("args", "variable", "role"),
    [
        (("seal",), "DUALBOOK_SEQUENCER_URL", "dualbook_sequencer"),
        (("verify",), "DUALBOOK_AUDITOR_URL", "dualbook_auditor"),
        (("status",), "DUALBOOK_AUDITOR_URL", "dualbook_auditor"),
        (("export", "--out", "-"), "DUALBOOK_AUDITOR_URL", "dualbook_auditor"),
    ],
)
def test_each_command_connects_as_its_role(
    role_env: dict[str, str], posted: dict[str, int], args: tuple[str, ...], variable: str, role: str
) -> None:
    """Each command takes its own role's URL: pointed at the application's role instead, it is refused (42501,
    exit 7), so the passing tests above did run as the sequencer and the auditor."""
    env = {k: v for k, v in role_env.items() if k != "DUALBOOK_MIGRATOR_URL"}
    r = CliRunner().invoke(main, ["audit", *args], env={**env, variable: role_env["DATABASE_URL"]})
    assert r.exit_code == 7, r.output
    assert "42501" in r.output and "Traceback" not in r.output
    r = CliRunner().invoke(main, ["audit", *args], env=env)
    assert r.exit_code == 0, r.output


def test_the_auditor_cannot_seal_and_the_sealer_cannot_read(role_env: dict[str, str], posted: dict[str, int]) -> None:
    """Least privilege both ways: the auditor only reads, the sealer only seals."""
    env = {k: v for k, v in role_env.items() if k != "DUALBOOK_MIGRATOR_URL"}
    r = CliRunner().invoke(
        main, ["audit", "seal"], env={**env, "DUALBOOK_SEQUENCER_URL": role_env["DUALBOOK_AUDITOR_URL"]}
    )
    assert r.exit_code == 7 and "42501" in r.output
    r = CliRunner().invoke(
        main, ["audit", "status"], env={**env, "DUALBOOK_AUDITOR_URL": role_env["DUALBOOK_SEQUENCER_URL"]}
    )
    assert r.exit_code == 7 and "42501" in r.output


@pytest.mark.parametrize("command", ["seal", "verify", "export", "status"])
def test_help_names_roles_that_exist(command: str) -> None:
    """The help of each command names the role it runs as, and only roles the deployment creates."""
    r = CliRunner().invoke(main, ["audit", command, "--help"])
    assert r.exit_code == 0
    named = set(re.findall(r"dualbook_[a-z]+", r.output))
    assert named and named <= set(roles.ALL_ROLES), named
    assert ("dualbook_sequencer" if command == "seal" else "dualbook_auditor") in named


def _nested(depth: int) -> str:
    return '{"a": ' * depth + "1" + "}" * depth


@pytest.mark.parametrize("depth", [1_000, 5_000, 12_000])
def test_deeply_nested_metadata_is_verified(
    run: Run, posted: dict[str, int], tmp_path: Path, db_url: str, depth: int
) -> None:
    """JSON nested deeper than Python's recursion limit, stored in an entry's metadata (written here by the
    superuser, so whatever the API accepts): every audit command still verifies it, with no traceback."""
    tamper(
        db_url,
        f"UPDATE ledger_private.entry SET metadata = '{_nested(depth)}'::jsonb WHERE entry_id = {posted['pay2']}",
    )
    assert run("seal").exit_code == 0
    r = run("verify")
    assert r.exit_code == 0, r.output
    out = tmp_path / "deep.jsonl"
    r = run("export", "--out", str(out))
    assert r.exit_code == 0, r.output
    for args in (("verify", "--file", str(out)), ("verify", "--anchor", str(out)), ("status",)):
        r = run(*args)
        assert r.exit_code == 0, (args, r.output, r.exception)
    assert auditspec.main([str(out)]) == 0

    # and a change inside the nesting is still found
    tamper(
        db_url,
        f"UPDATE ledger_private.entry SET metadata = '{_nested(depth).replace('1', '2')}'::jsonb "
        f"WHERE entry_id = {posted['pay2']}",
    )
    r = run("verify", "--anchor", str(out), "--json")
    assert r.exit_code == 1
    kinds = [f["kind"] for f in json.loads(r.output)["findings"]]
    assert kinds[0] == "entry_changed" and "anchor_entry_changed" in kinds


def test_a_hostile_export_nested_beyond_any_limit(run: Run, tmp_path: Path) -> None:
    """An export file (not written by dualbook) whose lines nest 100,000 deep, as records and inside the
    metadata text: format findings and exit 1, never a RecursionError."""
    deep = "[" * 100_000 + "]" * 100_000
    manifest = json.dumps(
        {"type": "manifest", "format": "dualbook-audit-export", "version": 1, "encoding": "dualbook/v1"}
    )
    entry = json.dumps(
        {
            "type": "entry",
            "book_id": 1,
            "entry_id": "1",
            "idempotency_key": "k",
            "request_hash": "0" * 64,
            "description": None,
            "metadata": '{"a": ' + deep + "}",
            "effective_date": "2026-01-01",
            "recorded_at": "2026-01-01T00:00:00.000000Z",
            "reverses_entry_id": None,
        }
    )
    path = tmp_path / "hostile.jsonl"
    path.write_text(f"{manifest}\n{deep}\n{entry}\n")
    r = run("verify", "--file", str(path), "--all")
    assert r.exit_code == 1, r.output
    assert isinstance(r.exception, SystemExit), r.exception  # a clean exit, not an uncaught exception
    assert "FIRST DIVERGENCE: format: line 2: nested too deeply" in r.output
    assert auditspec.main([str(path)]) == 1
