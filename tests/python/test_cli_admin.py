"""The CLI's currency and book commands (as the migrator: the application role is not asked to create either) and
`post --batch` (JSON lines through Ledger.post_entries, one result per line)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from dualbook.cli import main

Run = Callable[..., Result]


@pytest.fixture
def run(role_env: dict[str, str]) -> Run:
    def invoke(*args: str, input: str | None = None, **env: str) -> Result:
        return CliRunner().invoke(main, list(args), env={**role_env, **env}, input=input)

    return invoke


def ok(r: Result) -> Result:
    assert r.exit_code == 0, (r.exit_code, r.output)
    return r


def test_currency_create_list_show(run: Run, db_url: str) -> None:
    assert ok(run("currency", "create", "PTS", "--exponent", "0", "--name", "Points")).stdout == (
        "created currency PTS (exponent 0, Points)\n"
    )
    assert "already exists" in ok(run("currency", "create", "PTS", "--exponent", "0")).stdout
    r = run("currency", "create", "PTS", "--exponent", "2")
    assert r.exit_code == 6 and "LD212" in r.stderr
    r = run("currency", "create", "p", "--exponent", "2")
    assert r.exit_code == 5 and "LD101" in r.stderr
    listed = json.loads(ok(run("currency", "list", "--json")).stdout)
    assert {"code": "PTS", "exponent": 0, "name": "Points"} in listed
    assert "Points" in ok(run("currency", "list")).stdout
    assert json.loads(ok(run("currency", "show", "PTS", "--json")).stdout) == {
        "code": "PTS",
        "exponent": 0,
        "name": "Points",
    }
    assert run("currency", "show", "NOPE").exit_code == 5


def test_currency_and_book_create_connect_as_the_migrator(run: Run) -> None:
    # an unreachable migrator URL next to a working DATABASE_URL: create fails naming the migrator's URL
    nowhere = "postgresql://nobody@127.0.0.1:1/x"
    for args in (["currency", "create", "PTS", "--exponent", "0"], ["book", "create", "emea"]):
        r = run(*args, DUALBOOK_MIGRATOR_URL=nowhere)
        assert r.exit_code == 3 and "nobody@127.0.0.1:1" in r.stderr, r.output
    for args in (["currency", "--help"], ["book", "--help"], ["currency", "create", "--help"]):
        assert "migrator" in ok(run(*args)).stdout


def test_book_create_list_show(run: Run) -> None:
    assert ok(run("book", "create", "emea", "--name", "EMEA entity")).stdout.startswith("created book emea (id ")
    again = json.loads(ok(run("book", "create", "emea", "--name", "EMEA entity", "--json")).stdout)
    assert again["created"] is False and again["code"] == "emea"
    r = run("book", "create", "emea", "--name", "Other")
    assert r.exit_code == 6 and "LD213" in r.stderr
    codes = [b["code"] for b in json.loads(ok(run("book", "list", "--json")).stdout)]
    assert "default" in codes and "emea" in codes
    shown = json.loads(ok(run("book", "show", "emea", "--json")).stdout)
    assert shown["name"] == "EMEA entity" and shown["book_id"] == again["book_id"]
    assert "EMEA entity" in ok(run("book", "show", "emea")).stdout
    r = run("book", "show", "nope")
    assert r.exit_code == 6 and "LD210" in r.stderr
    ok(run("account", "create", "bank", "--currency", "EUR", "--type", "asset", "--book", "emea"))


def line(key: str | None, amount: int, src: str = "bank", dst: str = "wallet") -> str:
    doc: dict[str, Any] = {
        "legs": [
            {"account": src, "amount": amount, "currency": "USD"},
            {"account": dst, "amount": -amount, "currency": "USD"},
        ]
    }
    if key is not None:
        doc["key"] = key
    return json.dumps(doc)


@pytest.fixture
def accounts(run: Run) -> None:
    ok(run("account", "create", "bank", "--currency", "USD", "--type", "asset"))
    ok(run("account", "create", "wallet", "--currency", "USD", "--type", "liability", "--lower-limit", "0"))


def test_post_batch_from_a_file(run: Run, accounts: None, tmp_path: Path) -> None:
    path = tmp_path / "import.jsonl"
    path.write_text("\n".join([line("b1", 500), "", line("b2", 900, "wallet", "bank"), line(None, 100)]) + "\n")
    r = run("post", "--batch", str(path), "--json")
    assert r.exit_code == 6, r.output  # b2 overdraws the wallet: LD203, a conflict
    rows = json.loads(r.stdout)
    assert [(x["line"], x["status"]) for x in rows] == [(1, "posted"), (3, "refused"), (4, "posted")]
    assert rows[1]["error_code"] == "LD203" and rows[2]["key_generated"] is True
    assert json.loads(ok(run("balance", "wallet", "--json")).stdout)["balance"] == 600
    # again from stdin, without the bad line: the keyed entry replays
    r = ok(run("post", "--batch", "-", input=line("b1", 500) + "\n" + line("b3", 1) + "\n"))
    assert "replayed" in r.stdout and "posted" in r.stdout and "1 posted, 1 replayed, 0 refused, 0 rejected" in r.stderr


def test_post_batch_atomic(run: Run, accounts: None) -> None:
    text = line("a1", 5) + "\n" + line("a2", 900, "wallet", "bank") + "\n"
    r = run("post", "--batch", "-", "--atomic", input=text)
    assert r.exit_code == 6 and "line 2:" in r.stderr and "nothing was posted" in r.stderr, r.output
    assert json.loads(ok(run("balance", "wallet", "--json")).stdout)["balance"] == 0
    r = ok(run("post", "--batch", "-", "--atomic", input=line("a1", 5) + "\n"))
    assert "posted" in r.stdout


@pytest.mark.parametrize(
    ("args", "text", "fragment"),
    [
        (["--batch", "-"], "{not json}\n", "line 1: not valid JSON"),
        (["--batch", "-"], '{"legs": []}\n[1]\n', "line 2: must be a JSON object"),
        (["--batch", "-"], "\n\n", "no entries"),
        (["--batch", "-", "--key", "k"], "{}\n", "--batch takes every field"),
        (["--atomic", "--debit", "bank", "1", "--credit", "wallet", "1"], None, "--atomic goes with --batch"),
    ],
)
def test_post_batch_usage_errors(run: Run, args: list[str], text: str | None, fragment: str) -> None:
    r = run("post", *args, input=text)
    assert r.exit_code == 2 and fragment in r.stderr, r.output
