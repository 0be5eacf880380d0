"""The CLI against hostile or careless input (docs/cli.md): signs on --debit/--credit, control characters and
markup in stored text, documents that Python's json accepts but the ledger cannot, oversized numbers and ids,
digits of other scripts. Each gets its documented exit code and one line, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dualbook.cli.output import safe

from .test_cli import Run, as_json, books, fails, ok, run  # noqa: F401  (fixtures)


@pytest.mark.parametrize("amount", ["-5", "0", "0.00", "-0"])
def test_a_sign_or_zero_on_debit_or_credit_is_refused(books: Run, amount: str) -> None:  # noqa: F811
    for option in ("--debit", "--credit"):
        args = ["post", "--debit", "bank", "5", "--credit", "fees", "5"]
        args[args.index(option) + 2] = amount
        fails(books(*args), 2, "must be positive")
    assert as_json(books("balance", "bank", "--json"))["balance"] == 0


@pytest.mark.parametrize("amount", ["\u0661\u0662", "\uff11\uff12", "_1000", "+12", "1e3", "1" * 5000])
def test_amounts_are_ascii_digits_only(books: Run, amount: str) -> None:  # noqa: F811
    fails(books("post", "--debit", "bank", amount, "--credit", "fees", amount), 5, "not an amount")
    fails(books("post", "--debit", "bank", "1", "--credit", "fees", "1", "--assert", "bank", ">=", amount), 5)


def test_control_characters_and_markup_print_escaped(books: Run) -> None:  # noqa: F811
    text = "x\x1b]0;owned\x07\x1b[2J\r\u202e[bold]y[/bold]"
    r = ok(books("post", "--key", "ctl", "--debit", "bank", "1", "--credit", "fees", "1", "--description", text))
    shown = ok(books("entry", "--key", "ctl")).stdout
    assert "\x1b" not in shown and "\x07" not in shown and "\r" not in shown and "\u202e" not in shown
    assert "x\\x1b]0;owned\\x07\\x1b[2J\\x0d\\u202e[bold]y[/bold]" in shown  # markup printed literally
    assert as_json(books("entry", "--key", "ctl", "--json"))["description"] == text  # JSON stays exact
    r = books("account", "show", "no\x1b[2Jbody")
    assert r.exit_code != 0 and "\x1b" not in r.stderr and "\\x1b[2J" in r.stderr
    assert safe("plain ascii, é, 中文") == "plain ascii, é, 中文"


@pytest.mark.parametrize("word", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_usage_errors(books: Run, tmp_path: Path, word: str) -> None:  # noqa: F811
    legs = '[{"account": "bank", "amount": 1, "currency": "USD"}, {"account": "fees", "amount": -1, "currency": "USD"}]'
    fails(books("post", "--debit", "bank", "1", "--credit", "fees", "1", "--metadata", f'{{"x": {word}}}'), 2, word)
    doc = tmp_path / "d.json"
    doc.write_text(f'{{"legs": {legs}, "metadata": {{"x": {word}}}}}')
    fails(books("post", "--file", str(doc)), 2, word)
    fails(books("post", "--batch", str(doc)), 2, word)


def test_huge_numbers_and_deep_documents_are_usage_errors(books: Run, tmp_path: Path) -> None:  # noqa: F811
    doc = tmp_path / "d.json"
    doc.write_text('{"legs": [{"account": "bank", "amount": ' + "9" * 5000 + ', "currency": "USD"}]}')
    fails(books("post", "--file", str(doc)), 2, "not valid JSON")
    doc.write_text('{"legs": [], "metadata": ' + "[" * 100_000 + "]" * 100_000 + "}")
    fails(books("post", "--file", str(doc)), 2, "nested too deeply")
    deep = '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}"
    fails(books("post", "--debit", "bank", "1", "--credit", "fees", "1", "--metadata", deep), 2, "nested too deeply")


@pytest.mark.parametrize("entry_id", ["99999999999999999999", "9223372036854775808", "0", "-1"])
def test_entry_ids_beyond_bigint_are_usage_errors(books: Run, entry_id: str) -> None:  # noqa: F811
    r = books("entry", "--", entry_id)
    fails(r, 2)
    assert "deployed" not in r.output
    fails(books("reverse", "--", entry_id), 2)
    assert json.loads(ok(books("check", "--json")).stdout) is not None
