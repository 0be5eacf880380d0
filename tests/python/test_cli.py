"""The `dualbook` CLI against a real, freshly deployed ledger: every command, its JSON, and its exit codes."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click
import psycopg
import pytest
from click.testing import CliRunner, Result

from dualbook import Ledger
from dualbook import errors as E
from dualbook.cli import main
from dualbook.cli.common import (
    EXIT_CLUSTER,
    EXIT_CONFIG,
    EXIT_CONFLICT,
    EXIT_INFRASTRUCTURE,
    EXIT_VALIDATION,
    error_line,
    exit_code,
    handle_errors,
)
from dualbook.cli.output import UNBOUNDED_WIDTH, Col, console, print_table
from dualbook.db.cluster import Cluster
from dualbook.testing import drop_database

Run = Callable[..., Result]
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


@pytest.fixture
def run(role_env: dict[str, str]) -> Run:
    """Invoke the CLI on the test database, each command as its production role (writes as dualbook_app, reads
    as dualbook_reader, ...); extra environment variables as keywords, stdin as input=."""

    def invoke(*args: str, input: str | None = None, **env: str) -> Result:
        return CliRunner().invoke(main, list(args), env={**role_env, **env}, input=input)

    return invoke


@pytest.fixture
def books(run: Run) -> Run:
    """A small chart of accounts, created through the CLI."""
    for args in [
        ("bank", "--currency", "USD", "--type", "asset"),
        ("wallet:1", "--currency", "USD", "--type", "liability", "--lower-limit", "0"),
        ("wallet:2", "--currency", "USD", "--type", "liability", "--lower-limit", "0"),
        ("fees", "--currency", "USD", "--type", "income"),
        ("eur:bank", "--currency", "EUR", "--type", "asset"),
    ]:
        r = run("account", "create", *args)
        assert r.exit_code == 0, r.output
    return run


def ok(r: Result) -> Result:
    assert r.exit_code == 0, (r.exit_code, r.output)
    return r


def as_json(r: Result) -> Any:
    return json.loads(ok(r).stdout)


def fails(r: Result, code: int, *fragments: str) -> str:
    """The run exited with `code` and printed exactly one error line (no traceback); returns that line."""
    assert r.exit_code == code, (r.exit_code, r.output)
    lines = r.stderr.strip().splitlines()
    if code == 2:  # click's usage errors
        assert "Error:" in r.stderr
    else:
        assert len(lines) == 1 and lines[0].startswith("dualbook: error: "), r.stderr
    assert "Traceback" not in r.output
    for fragment in fragments:
        assert fragment in r.stderr, (fragment, r.stderr)
    return lines[-1]


# --- help ---------------------------------------------------------------------------------------------------
def _commands(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    ctx = click.Context(group)
    for name in group.list_commands(ctx):  # the root group loads each command's module on first use
        cmd = group.get_command(ctx, name)
        assert cmd is not None, name
        yield (*path, name), cmd
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, (*path, name))


def test_every_help_ends_with_an_example() -> None:
    commands = [((), main), *_commands(main)]
    assert {" ".join(p) for p, _ in commands} >= {
        "account create",
        "account list",
        "account show",
        "account close",
        "post",
        "reverse",
        "balance",
        "entry",
        "trial-balance",
        "check",
        "demo",
        "db start",
        "deploy",
    }
    for path, cmd in commands:
        doc = (cmd.help or "").rstrip().splitlines()
        assert "Example:" in [line.strip() for line in doc], path
        tail = doc[[line.strip() for line in doc].index("Example:") + 1 :]
        assert tail and all(line.startswith("        ") for line in tail), (path, tail)
        r = CliRunner().invoke(main, [*path, "--help"])
        assert r.exit_code == 0 and "Example:" in r.output, path


# --- accounts -----------------------------------------------------------------------------------------------
def test_account_create_is_idempotent_and_speaks_json(run: Run) -> None:
    r = ok(run("account", "create", "bank", "--currency", "USD", "--type", "asset"))
    assert r.stdout.startswith("created account bank (id ")
    r = ok(run("account", "create", "bank", "--currency", "USD", "--type", "asset"))
    assert "already exists" in r.stdout and "nothing changed" in r.stdout
    doc = as_json(
        run(
            "account",
            "create",
            "wallet:9",
            "--currency",
            "USD",
            "--type",
            "liability",
            "--lower-limit",
            "-12.50",
            "--upper-limit",
            "1000",
            "--metadata",
            '{"owner": "alice"}',
            "--json",
        )
    )
    assert doc["created"] is True and doc["lower_limit"] == -1250 and doc["upper_limit"] == 100_000
    assert doc["lower_limit_formatted"] == "-12.50" and doc["upper_limit_formatted"] == "1000.00"
    assert as_json(run("account", "show", "wallet:9", "--json"))["lower_limit_formatted"] == "-12.50"
    fails(run("account", "create", "bank", "--currency", "EUR", "--type", "asset"), EXIT_CONFLICT, "LD206")
    fails(run("account", "create", "x", "--currency", "USD", "--type", "nonsense"), EXIT_VALIDATION, "LD101")
    fails(run("account", "create", "x", "--currency", "ZZZ", "--type", "asset"), EXIT_VALIDATION, "LD108")
    fails(
        run("account", "create", "x", "--currency", "USD", "--type", "asset", "--lower-limit", "0.001"),
        EXIT_VALIDATION,
        "--lower-limit",
    )
    fails(run("account", "create", "x", "--currency", "USD", "--type", "asset", "--metadata", "[1]"), 2, "--metadata")
    fails(run("account", "create", "x", "--type", "asset"), 2, "--currency")


def test_account_list_show_close(books: Run) -> None:
    run = books
    r = ok(run("account", "list"))
    lines = r.stdout.splitlines()
    assert lines[0].split() == [
        "Code",
        "Currency",
        "Type",
        "Status",
        "Balance",
        "Postings",
        "Lower",
        "limit",
        "Upper",
        "limit",
        "Queued",
    ]
    assert [line.split()[0] for line in lines[2:]] == ["bank", "eur:bank", "fees", "wallet:1", "wallet:2"]
    assert all(line == line.rstrip() for line in lines)
    rows = as_json(run("account", "list", "--prefix", "wallet:", "--json"))
    assert [row["code"] for row in rows] == ["wallet:1", "wallet:2"]
    assert rows[0]["balance"] == 0 and rows[0]["balance_formatted"] == "0.00" and rows[0]["lower_limit"] == 0
    assert len(as_json(run("account", "list", "--limit", "2", "--json"))) == 2
    r = ok(run("account", "list", "--limit", "2"))
    assert "showing the first 2" in r.stderr
    assert "no accounts" in ok(run("account", "list", "--prefix", "zzz")).stdout
    assert as_json(run("account", "list", "--prefix", "zzz", "--json")) == []

    r = ok(run("account", "show", "wallet:1"))
    assert "Lower limit: 0.00 USD" in r.stdout and "Upper limit: unbounded" in r.stdout
    assert "Status:      open" in r.stdout

    ok(run("post", "--key", "t", "--debit", "bank", "5", "--credit", "wallet:1", "5"))
    fails(run("account", "close", "wallet:1"), EXIT_CONFLICT, "LD207", "account: wallet:1")
    r = ok(run("account", "close", "wallet:2"))
    assert r.stdout.startswith("closed account wallet:2 at ")
    closed = as_json(run("account", "close", "wallet:2", "--json"))  # closing again: a no-op, same time
    assert closed["status"] == "closed" and closed["closed_at"] in r.stdout
    assert ok(run("balance", "wallet:2")).stdout == "wallet:2: 0.00 USD (closed)\n"
    fails(run("post", "--debit", "bank", "1", "--credit", "wallet:2", "1"), EXIT_CONFLICT, "LD202", "leg: 2")
    fails(run("account", "close", "nobody"), EXIT_CONFLICT, "LD201")
    fails(run("account", "show", "nobody"), EXIT_CONFLICT, "LD201", "account: nobody")


# --- posting ------------------------------------------------------------------------------------------------
def test_post_generates_and_prints_a_key(books: Run) -> None:
    run = books
    r = ok(run("post", "--debit", "bank", "100", "--credit", "wallet:1", "100", "--description", "top-up"))
    m = re.match(rf"posted entry (\d+) with key (cli:{UUID}) \(generated", r.stdout)
    assert m, r.stdout
    assert re.search(r"wallet:1\s+100\.00\s+USD", r.stdout)
    entry = as_json(run("entry", "--key", m.group(2), "--json"))
    assert entry["entry_id"] == int(m.group(1)) and entry["description"] == "top-up"
    doc = as_json(run("post", "--debit", "bank", "1", "--credit", "wallet:1", "1", "--json"))
    assert doc["key_generated"] is True and re.fullmatch(rf"cli:{UUID}", doc["key"])
    assert doc["key"] != m.group(2)  # a new key each time: running it again posts again


def test_post_replay_is_reported(books: Run) -> None:
    run = books
    args = ("post", "--key", "topup:1", "--debit", "bank", "100", "--credit", "wallet:1", "100")
    first = ok(run(*args))
    assert first.stdout.startswith("posted entry ") and "generated" not in first.stdout
    again = ok(run(*args))
    assert again.stdout.startswith("replay: key topup:1 was already posted as entry ")
    assert "nothing was written" in again.stdout
    doc = as_json(run(*args, "--json"))
    assert doc["replay"] is True and doc["created"] is False and doc["key_generated"] is False
    assert as_json(run("balance", "wallet:1", "--json"))["balance"] == 10_000  # posted once
    fails(
        run("post", "--key", "topup:1", "--debit", "bank", "101", "--credit", "wallet:1", "101"),
        EXIT_CONFLICT,
        "LD205 idempotency_conflict",
    )


def test_post_json_output(books: Run) -> None:
    run = books
    doc = as_json(
        run(
            "post",
            "--key",
            "pay:1",
            "--debit",
            "bank",
            "12.34",
            "--credit",
            "wallet:1",
            "12.09",
            "--credit",
            "fees",
            "0.25",
            "--metadata",
            '{"order": 7}',
            "--effective-date",
            "2026-01-31",
            "--json",
        )
    )
    assert doc["created"] is True and doc["replay"] is False and doc["key"] == "pay:1"
    assert doc["attempts"] == 1 and doc["recovered"] is False and doc["book"] == "default"
    assert doc["balances"] == {
        "bank": {"currency": "USD", "balance": 1234, "balance_formatted": "12.34"},
        "fees": {"currency": "USD", "balance": 25, "balance_formatted": "0.25"},
        "wallet:1": {"currency": "USD", "balance": 1209, "balance_formatted": "12.09"},
    }
    entry = as_json(run("entry", str(doc["entry_id"]), "--json"))
    assert entry["effective_date"] == "2026-01-31" and entry["metadata"] == {"order": 7}
    assert [(leg["account"], leg["amount"], leg["side"]) for leg in entry["legs"]] == [
        ("bank", 1234, "debit"),
        ("wallet:1", -1209, "credit"),
        ("fees", -25, "credit"),
    ]
    assert entry["legs"][1]["amount_formatted"] == "-12.09"


def test_post_document_from_stdin_and_file(books: Run, tmp_path: Path) -> None:
    run = books
    document: dict[str, Any] = {
        "key": "doc:1",
        "legs": [
            {"account": "bank", "amount": 500, "currency": "USD"},
            {"account": "wallet:1", "amount": -500, "currency": "USD"},
        ],
        "description": "from stdin",
        "metadata": {"source": "batch"},
        "effective_date": "2026-02-01",
        "assertions": [{"account": "wallet:1", "op": "=", "balance": 500}],
    }
    doc = as_json(run("post", "--file", "-", "--json", input=json.dumps(document)))
    assert doc["key"] == "doc:1" and doc["created"] and doc["balances"]["wallet:1"]["balance"] == 500
    entry = as_json(run("entry", "--key", "doc:1", "--json"))
    assert entry["description"] == "from stdin" and entry["effective_date"] == "2026-02-01"
    assert "replay" in ok(run("post", "--file", "-", input=json.dumps(document))).stdout

    path = tmp_path / "entry.json"
    path.write_text(json.dumps({**document, "key": "doc:2", "assertions": []}))
    r = ok(run("post", "--file", str(path), "--key", "doc:override", "--description", "from a file"))
    assert "with key doc:override" in r.stdout
    assert as_json(run("entry", "--key", "doc:override", "--json"))["description"] == "from a file"
    no_key = {k: v for k, v in document.items() if k not in ("key", "assertions")}
    assert as_json(run("post", "--file", "-", "--json", input=json.dumps(no_key)))["key_generated"] is True

    failed = {**document, "key": "doc:3", "assertions": [{"account": "wallet:1", "op": "=", "balance": 1}]}
    fails(run("post", "--file", "-", input=json.dumps(failed)), EXIT_CONFLICT, "LD204 assertion_failed")
    bad_leg = {"legs": [{"account": "bank", "amount": "1.5", "currency": "USD"}, document["legs"][1]]}
    fails(run("post", "--file", "-", input=json.dumps(bad_leg)), EXIT_VALIDATION, "LD101", "leg: 1")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('{"legs": 3}', "'legs' must be a JSON array"),
        ('{"legs": [], "extra": 1}', "unknown fields extra"),
        ('{"legs": [], "key": 5}', "'key' must be a string"),
        ('{"legs": [], "metadata": [1]}', "'metadata' must be a JSON object"),
        ('{"legs": [], "effective_date": "yesterday"}', "YYYY-MM-DD"),
        ('{"legs": [], "assertions": [{"account": "bank"}]}', "'assertions' must be"),
    ],
)
def test_malformed_documents_are_usage_errors(books: Run, text: str, fragment: str) -> None:
    fails(books("post", "--file", "-", input=text), 2, "--file", fragment)


@pytest.mark.parametrize(
    ("args", "code", "fragments"),
    [
        (["--debit", "nobody", "1", "--credit", "bank", "1"], EXIT_CONFLICT, ["LD201 unknown_account", "nobody"]),
        (["--debit", "bank", "1", "--credit", "wallet:1", "0.99"], EXIT_VALIDATION, ["LD102 unbalanced_entry"]),
        (
            ["--debit", "bank", "1.234", "--credit", "wallet:1", "1.234"],
            EXIT_VALIDATION,
            ["LD101 invalid_argument", "more than 2 decimal places", "account: bank", "leg: 1"],
        ),
        (["--debit", "bank", "1e3", "--credit", "wallet:1", "1e3"], EXIT_VALIDATION, ["not an amount"]),
        (["--debit", "bank", "0", "--credit", "wallet:1", "0"], 2, ["the amount must be positive"]),
        (["--debit", "bank", "1"], EXIT_VALIDATION, ["LD109 too_few_legs"]),
        (["--debit", "bank", "1", "--credit", "eur:bank", "1"], EXIT_VALIDATION, ["LD102"]),
        (
            ["--debit", "wallet:1", "1", "--credit", "bank", "1"],
            EXIT_CONFLICT,
            ["LD203 limit_exceeded", "account: wallet:1", "leg: 1", "hint: The entry was not posted"],
        ),
        (
            ["--debit", "bank", "1", "--credit", "wallet:1", "1", "--assert", "wallet:1", ">=", "2"],
            EXIT_CONFLICT,
            ["LD204 assertion_failed"],
        ),
        (["--debit", "bank", "1", "--credit", "wallet:1", "1", "--book", "nope"], EXIT_CONFLICT, ["LD210"]),
        (["--key", "", "--debit", "bank", "1", "--credit", "wallet:1", "1"], EXIT_VALIDATION, ["LD101"]),
        ([], 2, ["--debit/--credit"]),
        (["--debit", "bank", "1", "--credit", "wallet:1", "1", "--file", "-"], 2, ["not both"]),
        (["--debit", "bank", "1", "--credit", "wallet:1", "1", "--metadata", "{"], 2, ["not valid JSON"]),
        (
            ["--debit", "bank", "1", "--credit", "wallet:1", "1", "--effective-date", "31/01/2026"],
            2,
            ["--effective-date"],
        ),
        (["--debit", "bank"], 2, ["--debit"]),
    ],
)
def test_post_errors_exit_with_their_class(books: Run, args: list[str], code: int, fragments: list[str]) -> None:
    fails(books("post", *args), code, *fragments)
    assert as_json(books("balance", "bank", "--json"))["postings"] == 0  # nothing was written


def test_assertions_and_amounts_are_exact(books: Run) -> None:
    run = books
    ok(run("account", "create", "bhd:cash", "--currency", "BHD", "--type", "asset"))
    ok(run("account", "create", "bhd:owner", "--currency", "BHD", "--type", "equity"))
    ok(run("account", "create", "jpy:cash", "--currency", "JPY", "--type", "asset"))
    ok(run("account", "create", "jpy:owner", "--currency", "JPY", "--type", "equity"))
    ok(
        run(
            "post",
            "--debit",
            "bhd:cash",
            "1.234",
            "--credit",
            "bhd:owner",
            "1.234",
            "--assert",
            "bhd:owner",
            "=",
            "1.234",
        )
    )
    assert ok(run("balance", "bhd:owner")).stdout == "bhd:owner: 1.234 BHD\n"
    assert as_json(run("balance", "bhd:owner", "--json"))["balance"] == 1234
    big = "92233720368547758.07"  # the largest bigint in cents: no float could carry it
    ok(run("post", "--debit", "bank", big, "--credit", "wallet:1", big, "--assert", "wallet:1", ">=", "0"))
    assert as_json(run("balance", "wallet:1", "--json"))["balance_formatted"] == big
    fails(run("post", "--debit", "jpy:cash", "1.5", "--credit", "jpy:owner", "1.5"), EXIT_VALIDATION, "more than 0")
    ok(run("post", "--debit", "jpy:cash", "1500", "--credit", "jpy:owner", "1500"))
    assert ok(run("balance", "jpy:cash")).stdout == "jpy:cash: 1500 JPY\n"


# --- reads and reversal --------------------------------------------------------------------------------------
def test_balance_and_entry(books: Run) -> None:
    run = books
    doc = as_json(run("post", "--key", "k1", "--debit", "bank", "100", "--credit", "wallet:1", "100", "--json"))
    assert ok(run("balance", "wallet:1")).stdout == "wallet:1: 100.00 USD\n"
    bal = as_json(run("balance", "wallet:1", "--json"))
    assert (bal["balance"], bal["balance_formatted"], bal["postings"], bal["exponent"]) == (10_000, "100.00", 1, 2)
    r = ok(run("entry", str(doc["entry_id"])))
    assert "Key:            k1" in r.stdout
    legs = r.stdout.split("\n\n", 1)[1].splitlines()
    assert legs[0].split() == ["Leg", "Account", "Debit", "Credit", "Currency", "Balance", "after"]
    assert legs[2].split() == ["1", "bank", "100.00", "USD", "100.00"]
    assert legs[3].split() == ["2", "wallet:1", "100.00", "USD", "100.00"]
    assert legs[3].index("100.00") > legs[2].index("100.00")  # the credit column is right of the debit column
    assert as_json(run("entry", "--key", "k1", "--json"))["entry_id"] == doc["entry_id"]
    fails(run("entry"), 2, "exactly one")
    fails(run("entry", "1", "--key", "k1"), 2, "exactly one")
    fails(run("entry", "999"), EXIT_CONFLICT, "LD208 unknown_entry")
    fails(run("entry", "--key", "nope"), EXIT_CONFLICT, "LD208")
    fails(run("balance", "nobody"), EXIT_CONFLICT, "LD201 unknown_account", "account: nobody")


def test_outcome_resolves_a_key_alone(books: Run) -> None:
    """posted (with the entry id), refused (the recorded refusal, the same on every later try), unknown."""
    run = books
    doc = as_json(run("post", "--key", "o:1", "--debit", "bank", "5", "--credit", "wallet:1", "5", "--json"))
    posted = as_json(run("outcome", "o:1", "--json"))
    assert (posted["status"], posted["entry_id"], posted["error"]) == ("posted", doc["entry_id"], None)
    fails(run("post", "--key", "o:2", "--debit", "wallet:2", "1", "--credit", "bank", "1"), EXIT_CONFLICT, "LD203")
    refused = as_json(run("outcome", "o:2", "--json"))
    assert refused["status"] == "refused" and refused["entry_id"] is None
    assert refused["error"]["code"] == "LD203" and refused["error"]["detail"]["account"] == "wallet:2"
    # The refusal is final: funds arriving later do not turn the same request into a posting.
    ok(run("post", "--key", "o:3", "--debit", "bank", "9", "--credit", "wallet:2", "9"))
    fails(run("post", "--key", "o:2", "--debit", "wallet:2", "1", "--credit", "bank", "1"), EXIT_CONFLICT, "LD203")
    assert as_json(run("outcome", "o:2", "--json"))["status"] == "refused"
    unknown = as_json(run("outcome", "never-sent", "--json"))
    assert (unknown["status"], unknown["entry_id"], unknown["error"]) == ("unknown", None, None)
    text = ok(run("outcome", "o:2")).stdout
    assert "refused" in text and "LD203" in text


def test_reverse(books: Run) -> None:
    run = books
    entry_id = as_json(run("post", "--key", "k1", "--debit", "bank", "100", "--credit", "wallet:1", "100", "--json"))[
        "entry_id"
    ]
    r = ok(run("reverse", str(entry_id), "--reason", "duplicate"))
    m = re.match(rf"reversed entry {entry_id} with entry (\d+) \(key cli:reverse:{entry_id}\)", r.stdout)
    assert m, r.stdout
    assert re.search(r"wallet:1\s+0\.00\s+USD", r.stdout)
    again = ok(run("reverse", str(entry_id), "--reason", "duplicate"))
    assert again.stdout.startswith(f"replay: entry {entry_id} was already reversed by entry {m.group(1)}")
    doc = as_json(run("reverse", str(entry_id), "--reason", "duplicate", "--json"))
    assert doc["replay"] is True and doc["reverses_entry_id"] == entry_id
    assert doc["balances"]["wallet:1"] == {"currency": "USD", "balance": 0, "balance_formatted": "0.00"}
    fails(run("reverse", str(entry_id), "--key", "other"), EXIT_CONFLICT, "LD209 already_reversed")
    fails(run("reverse", "999"), EXIT_CONFLICT, "LD208")
    reversal = as_json(run("entry", m.group(1), "--json"))
    assert reversal["reverses_entry_id"] == entry_id and reversal["metadata"]["reason"] == "duplicate"
    assert as_json(run("entry", str(entry_id), "--json"))["reversed_by_entry_id"] == int(m.group(1))
    # a reversal obeys limits: spend the wallet, then reversing the top-up would overdraw it
    ok(run("post", "--key", "k2", "--debit", "bank", "5", "--credit", "wallet:1", "5"))
    ok(run("post", "--key", "k3", "--debit", "wallet:1", "5", "--credit", "fees", "5"))
    k2 = as_json(run("entry", "--key", "k2", "--json"))["entry_id"]
    fails(run("reverse", str(k2), "--json"), EXIT_CONFLICT, "LD203", "account: wallet:1")


def test_trial_balance_and_check(books: Run) -> None:
    run = books
    assert ok(run("check")).stdout == "ok: every invariant holds\n"
    assert as_json(run("check", "--json")) == {"ok": True, "violations": []}
    ok(run("post", "--debit", "bank", "100", "--credit", "wallet:1", "99.75", "--credit", "fees", "0.25"))
    lines = ok(run("trial-balance")).stdout.splitlines()
    assert lines[0].split() == ["Currency", "Debits", "Credits", "Net"]
    assert [line.split() for line in lines[2:]] == [
        ["EUR", "0.00", "0.00", "0.00"],
        ["USD", "100.00", "100.00", "0.00"],
    ]
    rows = as_json(run("trial-balance", "--json"))
    assert rows[1] == {
        "book": "default",
        "currency": "USD",
        "debits": 10_000,
        "debits_formatted": "100.00",
        "credits": 10_000,
        "credits_formatted": "100.00",
        "net": 0,
        "net_formatted": "0.00",
    }
    assert ok(run("check")).exit_code == 0


def test_check_exits_1_on_violations(books: Run, db_url: str) -> None:
    run = books
    ok(run("post", "--key", "k", "--debit", "bank", "1", "--credit", "wallet:1", "1"))
    with psycopg.connect(db_url, autocommit=True) as conn:  # tamper as superuser, bypassing the triggers
        conn.execute("SET session_replication_role = replica")
        conn.execute("UPDATE ledger_private.posting SET amount = amount + 1 WHERE leg = 1")
    r = run("check")
    assert r.exit_code == 1, r.output
    assert "currency_sum" in r.stdout and "violation(s)" in r.stdout
    r = run("check", "--json")
    assert r.exit_code == 1
    doc = json.loads(r.stdout)
    assert doc["ok"] is False and {v["check"] for v in doc["violations"]} >= {"currency_sum", "entry_balanced"}


def test_book_option_and_environment(books: Run, db_url: str) -> None:
    run = books
    with Ledger.connect(db_url, max_size=1) as ledger:
        ledger.create_book("emea")
    ok(run("account", "create", "bank", "--currency", "EUR", "--type", "asset", "--book", "emea"))
    ok(run("account", "create", "cash", "--currency", "EUR", "--type", "equity", DUALBOOK_BOOK="emea"))
    ok(run("post", "--debit", "bank", "7", "--credit", "cash", "7", "--book", "emea"))
    assert ok(run("balance", "bank", DUALBOOK_BOOK="emea")).stdout == "bank: 7.00 EUR\n"
    assert ok(run("balance", "bank")).stdout == "bank: 0.00 USD\n"  # the default book's bank
    assert [r["currency"] for r in as_json(run("trial-balance", "--book", "emea", "--json"))] == ["EUR"]
    fails(run("balance", "bank", "--book", "nope"), EXIT_CONFLICT, "LD210 unknown_book")


# --- connection and error plumbing ---------------------------------------------------------------------------
def test_unreachable_or_stopped_database_is_a_config_error(tmp_path: Path) -> None:
    r = CliRunner().invoke(main, ["balance", "x"], env={"DATABASE_URL": "postgresql://u:hunter2@127.0.0.1:1/x"})
    fails(r, EXIT_CONFIG, "cannot connect", "u:***@")
    assert "hunter2" not in r.output
    r = CliRunner().invoke(main, ["check", "--datadir", str(tmp_path / "none")], env={"DATABASE_URL": ""})
    fails(r, EXIT_CONFIG, "is not running", "dualbook db start")


def test_undeployed_database_is_a_database_error(cluster: Cluster) -> None:
    cluster.create_database("cli_empty")
    url = cluster.url("cli_empty")
    try:
        r = CliRunner().invoke(main, ["balance", "x"], env={"DATABASE_URL": url})
        line = fails(r, EXIT_INFRASTRUCTURE, "dualbook deploy")
        assert re.search(r"\((3F000|42883|42P01) \w+\)", line), line
    finally:
        drop_database(cluster, url)


def test_cluster_error_exits_4(tmp_path: Path) -> None:
    datadir = tmp_path / "not-pg"
    datadir.mkdir()
    (datadir / "file").write_text("not a cluster")
    fails(CliRunner().invoke(main, ["db", "start", "--datadir", str(datadir)]), EXIT_CLUSTER)


def test_debug_shows_the_exception(books: Run) -> None:
    r = books("--debug", "balance", "nobody")
    assert isinstance(r.exception, E.UnknownAccount)
    assert r.exception.account == "nobody"


@pytest.mark.parametrize(
    ("exc", "code", "line"),
    [
        (E.InvalidArgument("bad", context={"leg": 2}), 5, "dualbook: error: bad (LD101 invalid_argument, leg: 2)"),
        (
            E.UnknownAccount("unknown account 'x'", context={"account": "x"}, hint="Create\n it."),
            6,
            "dualbook: error: unknown account 'x' (LD201 unknown_account, account: x) hint: Create it.",
        ),
        (E.NotSerializable("needs SERIALIZABLE"), 7, "dualbook: error: needs SERIALIZABLE (LD301 not_serializable)"),
        (
            E.RetriesExhausted("gave up after 10 attempts", sqlstate="40001"),
            7,
            "dualbook: error: gave up after 10 attempts (40001 retries_exhausted)",
        ),
        (E.ConfigError("no sqitch"), 3, "dualbook: error: no sqitch"),
        (E.ClusterError("initdb failed"), 4, "dualbook: error: initdb failed"),
        (psycopg.errors.DivisionByZero("division by zero"), 7, "dualbook: error: division by zero"),
        (psycopg.OperationalError("server closed\nthe connection"), 7, "(OperationalError)"),
    ],
)
def test_error_classes_map_to_documented_exit_codes(exc: Exception, code: int, line: str) -> None:
    assert exit_code(exc) == code
    assert line in error_line(exc)
    assert "\n" not in error_line(exc)

    @click.command()
    @handle_errors
    def boom() -> None:
        raise exc

    r = CliRunner().invoke(boom, [])
    assert r.exit_code == code and r.stderr == error_line(exc) + "\n"


def test_demo_options_are_passed_through(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Path | None, float, int]] = []

    def fake_run_demo(datadir: Path | None, seconds: float = 20.0, clients: int = 8) -> None:
        calls.append((datadir, seconds, clients))

    monkeypatch.setattr("dualbook.tools.demo.run_demo", fake_run_demo)
    ok(CliRunner().invoke(main, ["demo"]))
    ok(CliRunner().invoke(main, ["demo", "--seconds", "2.5", "--clients", "3", "--datadir", "/tmp/x"]))
    assert calls == [(None, 20.0, 8), (Path("/tmp/x"), 2.5, 3)]
    fails(CliRunner().invoke(main, ["demo", "--clients", "0"]), 2, "--clients")
    fails(CliRunner().invoke(main, ["demo", "--seconds", "0"]), 2, "--seconds")


def test_tables_never_truncate_amounts(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("COLUMNS", "20")
    print_table([Col("Account"), Col("Balance", right=True)], [("customers:0001:USD", "92233720368547758.07")])
    out = capsys.readouterr().out.splitlines()
    assert out[2].split() == ["customers:0001:USD", "92233720368547758.07"]
    assert console().width == UNBOUNDED_WIDTH


def test_deferred_account_and_sequencer(role_env: dict[str, str]) -> None:
    env = role_env
    runner = CliRunner()
    r = runner.invoke(
        main, ["account", "create", "fees", "--currency", "USD", "--type", "income", "--deferred", "--json"], env=env
    )
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["deferred"] is True
    r = runner.invoke(
        main,
        ["account", "create", "hot2", "--currency", "USD", "--type", "income", "--deferred", "--lower-limit", "0"],
        env=env,
    )
    assert r.exit_code == 5 and "LD101" in r.output
    runner.invoke(main, ["account", "create", "cash", "--currency", "USD", "--type", "asset"], env=env)
    r = runner.invoke(main, ["post", "--key", "k1", "--debit", "cash", "1.00", "--credit", "fees", "1.00"], env=env)
    assert r.exit_code == 0, r.output
    r = runner.invoke(main, ["sequencer"], env=env)
    assert r.exit_code == 0 and "sequenced 1 leg(s)" in r.output
    r = runner.invoke(main, ["sequencer", "--every", "0.01", "--passes", "2"], env=env)
    assert r.exit_code == 0
    r = runner.invoke(main, ["balance", "fees", "--json"], env=env)
    assert json.loads(r.output)["balance"] == 100


def test_sequencer_options_are_validated(db_url: str) -> None:
    runner = CliRunner()
    r = runner.invoke(main, ["sequencer", "--every", "0"], env={"DATABASE_URL": db_url})
    assert r.exit_code == 2
    r = runner.invoke(main, ["sequencer", "--every", "-1"], env={"DATABASE_URL": db_url})
    assert r.exit_code == 2 and "Traceback" not in r.output
    r = runner.invoke(main, ["sequencer", "--passes", "2"], env={"DATABASE_URL": db_url})
    assert r.exit_code == 2 and "--passes needs --every" in r.output
