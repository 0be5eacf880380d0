"""`dualbook report …` and `dualbook period …`: tables, --json and --csv, each command as its production role
(reports as the reader, period close as the application)."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

from dualbook.cli.common import EXIT_CONFLICT, EXIT_USAGE, EXIT_VALIDATION

from .test_cli import Run, as_json, books, fails, ok, run  # noqa: F401  (fixtures)


def _history(run: Run) -> None:  # noqa: F811
    # recorded in this order, dated out of order
    ok(
        run(
            "post",
            "--key",
            "h1",
            "--debit",
            "bank",
            "100",
            "--credit",
            "wallet:1",
            "100",
            "--effective-date",
            "2024-01-20",
        )
    )
    ok(
        run(
            "post",
            "--key",
            "h2",
            "--debit",
            "wallet:1",
            "30",
            "--credit",
            "fees",
            "30",
            "--effective-date",
            "2024-01-25",
        )
    )
    ok(
        run(
            "post",
            "--key",
            "h3",
            "--debit",
            "bank",
            "5.50",
            "--credit",
            "wallet:1",
            "5.50",
            "--effective-date",
            "2024-01-02",
        )
    )
    ok(
        run(
            "post", "--key", "h4", "--debit", "bank", "1", "--credit", "wallet:2", "1", "--effective-date", "2024-02-03"
        )
    )


def test_report_balance(books: Run) -> None:  # noqa: F811
    _history(books)
    r = ok(books("report", "balance", "wallet:1", "--as-of", "2024-01-21"))
    assert r.stdout.strip() == "wallet:1: 105.50 USD as of 2024-01-21 (2 postings)"
    doc = as_json(books("report", "balance", "wallet:1", "--as-of", "2024-01-31", "--json"))
    assert (doc["balance"], doc["balance_formatted"], doc["postings"]) == (7550, "75.50", 3)
    first = as_json(books("entry", "--key", "h1", "--json"))["entry_id"]
    doc = as_json(books("report", "balance", "wallet:1", "--entry", str(first), "--json"))
    assert doc["balance"] == 10000 and doc["through_entry_id"] == first
    rows = list(
        csv.DictReader(io.StringIO(ok(books("report", "balance", "bank", "--as-of", "2024-12-31", "--csv")).stdout))
    )
    assert rows[0]["balance"] == "10650"
    fails(books("report", "balance", "bank"), EXIT_USAGE, "exactly one of --as-of and --entry")
    fails(books("report", "balance", "bank", "--as-of", "2024-01-01", "--json", "--csv"), EXIT_USAGE)


def test_report_statement(books: Run) -> None:  # noqa: F811
    _history(books)
    r = ok(books("report", "statement", "wallet:1", "--from", "2024-01-10", "--to", "2024-01-31"))
    assert re.search(r"Opening:\s+5\.50", r.stdout) and re.search(r"Closing:\s+75\.50", r.stdout)
    balances = re.findall(r"(\d+\.\d\d)\s*$", r.stdout, re.M)
    assert balances[-2:] == ["105.50", "75.50"]
    doc = as_json(books("report", "statement", "wallet:1", "--from", "2024-01-01", "--to", "2024-01-31", "--json"))
    assert [x["running_balance"] for x in doc["lines"]] == [550, 10550, 7550]
    assert doc["opening_balance"] == 0 and doc["closing_balance"] == 7550 and doc["next_cursor"] is None
    page = as_json(
        books("report", "statement", "wallet:1", "--from", "2024-01-01", "--to", "2024-01-31", "--limit", "2", "--json")
    )
    assert len(page["lines"]) == 2 and page["next_cursor"]
    rest = as_json(
        books(
            "report",
            "statement",
            "wallet:1",
            "--from",
            "2024-01-01",
            "--to",
            "2024-01-31",
            "--cursor",
            page["next_cursor"],
            "--json",
        )
    )
    assert [x["running_balance"] for x in rest["lines"]] == [7550] and rest["next_cursor"] is None
    text = ok(books("report", "statement", "wallet:1", "--from", "2024-01-01", "--to", "2024-01-31", "--csv")).stdout
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [row["running_balance"] for row in rows] == ["550", "10550", "7550"]
    fails(
        books("report", "statement", "wallet:1", "--from", "2024-02-01", "--to", "2024-01-01"), EXIT_VALIDATION, "LD115"
    )


def test_report_statement_shows_holds(books: Run) -> None:  # noqa: F811
    """A hold captured in part, a voided one and a pending one: --json lists them in their state at the period's
    end with the pending amounts, the capture's line names its hold; the table prints a holds section; a page
    after the first has no holds."""
    today = datetime.now(UTC).date().isoformat()
    ok(books("post", "--key", "top", "--debit", "bank", "100", "--credit", "wallet:1", "100"))
    legs = ("--debit", "wallet:1")
    h1 = as_json(books("hold", "--key", "auth:1", *legs, "60", "--credit", "wallet:2", "60", "--json"))["hold_id"]
    cap = as_json(books("capture", str(h1), "--amount", "25.50", "--json"))
    h2 = as_json(books("hold", "--key", "auth:2", *legs, "10", "--credit", "wallet:2", "10", "--json"))["hold_id"]
    ok(books("void", str(h2)))
    h3 = as_json(books("hold", "--key", "auth:3", *legs, "5", "--credit", "wallet:2", "5", "--json"))["hold_id"]
    period = ("report", "statement", "wallet:1", "--from", today, "--to", today)
    doc = as_json(books(*period, "--json"))
    assert [
        (h["hold_id"], h["key"], h["status"], h["amount"], h["entry_id"], h["captured_amount"]) for h in doc["holds"]
    ] == [
        (h1, "auth:1", "captured", 6000, cap["entry_id"], 2550),
        (h2, "auth:2", "voided", 1000, None, None),
        (h3, "auth:3", "pending", 500, None, None),
    ]
    assert doc["holds"][0]["captured_amount_formatted"] == "25.50" and doc["holds"][0]["resolved_at"]
    assert doc["holds"][2]["resolved_at"] is None and doc["holds"][2]["amount_formatted"] == "5.00"
    assert (doc["pending_debit"], doc["pending_credit"]) == (500, 0)
    assert [(x["amount"], x["hold_id"]) for x in doc["lines"]] == [(-10000, None), (2550, h1)]
    counterpart = as_json(books("report", "statement", "wallet:2", "--from", today, "--to", today, "--json"))
    assert [(h["amount"], h["captured_amount"]) for h in counterpart["holds"]] == [
        (-6000, -2550),
        (-1000, None),
        (-500, None),
    ]
    assert (counterpart["pending_debit"], counterpart["pending_credit"]) == (0, 500)

    text = ok(books(*period)).stdout
    assert re.search(r"Pending debits:\s+5\.00", text) and re.search(r"Pending credits:\s+0\.00", text)
    assert "Holds (state at the end of the period):" in text
    holds = text.split("Holds (state at the end of the period):")[1]
    assert re.search(r"auth:1 .* 60\.00 .*captured .* 25\.50", holds), holds
    assert re.search(r"auth:2 .* 10\.00 .*voided", holds) and re.search(r"auth:3 .* 5\.00 .*pending", holds)

    first = as_json(books(*period, "--limit", "1", "--json"))
    assert len(first["holds"]) == 3 and first["next_cursor"]
    rest = as_json(books(*period, "--cursor", first["next_cursor"], "--json"))
    assert rest["holds"] is None and rest["pending_debit"] == 500 and rest["lines"][0]["hold_id"] == h1
    rows = list(csv.DictReader(io.StringIO(ok(books(*period, "--csv")).stdout)))
    assert [row["hold_id"] for row in rows] == ["", str(h1)]
    yesterday = ok(books("report", "statement", "wallet:1", "--from", "2024-01-01", "--to", "2024-01-31")).stdout
    assert "Holds: none" in yesterday


def test_report_trial_balance_and_month_end(books: Run) -> None:  # noqa: F811
    _history(books)
    doc = as_json(books("report", "trial-balance", "--as-of", "2024-01-31", "--json"))
    assert [(x["currency"], x["debits"], x["credits"], x["net"]) for x in doc["rows"]] == [("USD", 10550, 10550, 0)]
    text = ok(books("report", "trial-balance", "--as-of", "2024-01-31", "--csv")).stdout
    assert text.splitlines() == ["currency,debits,credits,net,accounts", "USD,10550,10550,0,3"]
    assert re.search(
        r"USD\s+105\.50\s+105\.50\s+0\.00", ok(books("report", "trial-balance", "--as-of", "2024-01-31")).stdout
    )
    me = as_json(books("report", "month-end", "2024-01", "--json"))
    assert me["final"] is False and (me["from"], me["through"]) == ("2024-01-01", "2024-01-31")
    got = {x["account"]: (x["opening"], x["debits"], x["credits"], x["closing"]) for x in me["rows"]}
    assert got == {"bank": (0, 10550, 0, 10550), "wallet:1": (0, 3000, 10550, 7550), "fees": (0, 0, 3000, 3000)}
    text = ok(books("report", "month-end", "--from", "2024-02-01", "--through", "2024-02-29", "--csv")).stdout
    assert text.splitlines()[0] == "account,currency,type,opening,debits,credits,closing,pending_debit,pending_credit"
    assert "wallet:2,USD,liability,0,0,100,100,0,0" in text.splitlines()
    assert "Final:" in ok(books("report", "month-end", "2024-01")).stdout
    fails(books("report", "month-end", "2024-13"), EXIT_USAGE, "not a month")


def test_report_month_end_shows_pending_at_the_period_end(books: Run) -> None:  # noqa: F811
    """This month: a hold voided before the period's end and one captured in part reserve nothing; the hold still
    pending reserves its amount, a debit on the wallet and a credit on its counterpart (which has a row for it
    though it has no posting), in the table (last two columns), --json and --csv. Last month ended before any hold
    was placed: nothing pending then."""
    now = datetime.now(UTC).date()
    last_month = (now.replace(day=1) - timedelta(days=1)).replace(day=1)
    ok(
        books(
            "post",
            "--key",
            "old",
            "--debit",
            "bank",
            "1",
            "--credit",
            "wallet:1",
            "1",
            "--effective-date",
            str(last_month),
        )
    )
    ok(books("post", "--key", "top", "--debit", "bank", "100", "--credit", "wallet:1", "100"))
    legs = ("--debit", "wallet:1")
    h1 = as_json(books("hold", "--key", "auth:1", *legs, "60", "--credit", "wallet:2", "60", "--json"))["hold_id"]
    ok(books("void", str(h1)))
    ok(books("hold", "--key", "auth:2", *legs, "5", "--credit", "fees", "5"))
    h3 = as_json(books("hold", "--key", "auth:3", *legs, "20", "--credit", "wallet:2", "20", "--json"))["hold_id"]
    ok(books("capture", str(h3), "--amount", "12.50"))
    month = ("report", "month-end", now.strftime("%Y-%m"))

    doc = as_json(books(*month, "--json"))
    got = {
        x["account"]: (x["opening"], x["debits"], x["credits"], x["closing"], x["pending_debit"], x["pending_credit"])
        for x in doc["rows"]
    }
    assert got == {
        "bank": (100, 10000, 0, 10100, 0, 0),
        "wallet:1": (100, 1250, 10000, 8850, 500, 0),
        "fees": (0, 0, 0, 0, 0, 500),
        "wallet:2": (0, 0, 1250, 1250, 0, 0),
    }
    wallet = next(x for x in doc["rows"] if x["account"] == "wallet:1")
    assert (wallet["pending_debit_formatted"], wallet["pending_credit_formatted"]) == ("5.00", "0.00")

    rows = {row["account"]: row for row in csv.DictReader(io.StringIO(ok(books(*month, "--csv")).stdout))}
    assert (rows["wallet:1"]["pending_debit"], rows["wallet:1"]["pending_credit"]) == ("500", "0")
    assert (rows["fees"]["closing"], rows["fees"]["pending_debit"], rows["fees"]["pending_credit"]) == ("0", "0", "500")
    assert (rows["wallet:2"]["pending_debit"], rows["wallet:2"]["pending_credit"]) == ("0", "0")

    text = ok(books(*month)).stdout
    header = next(line for line in text.splitlines() if line.startswith("Account"))
    assert re.split(r"\s{2,}", header.strip()) == [
        "Account",
        "Currency",
        "Opening",
        "Debits",
        "Credits",
        "Closing",
        "Pending debits",
        "Pending credits",
    ], header
    assert re.search(r"^wallet:1\s+USD\s+1\.00\s+12\.50\s+100\.00\s+88\.50\s+5\.00\s+0\.00\s*$", text, re.M), text
    assert re.search(r"^wallet:2\s+USD\s+0\.00\s+0\.00\s+12\.50\s+12\.50\s+0\.00\s+0\.00\s*$", text, re.M), text
    assert re.search(r"^fees\s+USD\s+0\.00\s+0\.00\s+0\.00\s+0\.00\s+0\.00\s+5\.00\s*$", text, re.M), text

    before = as_json(books("report", "month-end", last_month.strftime("%Y-%m"), "--json"))
    assert [(x["account"], x["closing"], x["pending_debit"], x["pending_credit"]) for x in before["rows"]] == [
        ("bank", 100, 0, 0),
        ("wallet:1", 100, 0, 0),
    ]


def test_period_close(books: Run) -> None:  # noqa: F811
    _history(books)
    assert as_json(books("period", "status", "--json"))["closed_through"] is None
    r = ok(books("period", "close", "2024-01-31"))
    assert r.stdout.strip() == "book default closed through 2024-01-31 (3 account checkpoints)"
    assert "already closed" in ok(books("period", "close", "2024-01-31")).stdout
    fails(books("period", "close", "2023-12-31"), EXIT_CONFLICT, "LD215")
    assert as_json(books("period", "status", "--json"))["closed_through"] == "2024-01-31"
    assert as_json(books("report", "month-end", "2024-01", "--json"))["final"] is True
    fails(
        books(
            "post", "--key", "late", "--debit", "bank", "1", "--credit", "fees", "1", "--effective-date", "2024-01-05"
        ),
        EXIT_CONFLICT,
        "LD214",
    )
    h3 = as_json(books("entry", "--key", "h3", "--json"))["entry_id"]
    rev = as_json(books("reverse", str(h3), "--json"))
    assert as_json(books("entry", str(rev["entry_id"]), "--json"))["effective_date"] == "2024-02-01"
