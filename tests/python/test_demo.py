"""A short run of the main job (`make demo`) against a fresh database: it must finish and its invariants hold."""

from __future__ import annotations

import re

from click.testing import CliRunner

from dualbook.cli import main


def test_demo_command_reports_unreachable_database() -> None:
    r = CliRunner().invoke(main, ["demo"], env={"DATABASE_URL": "postgresql://nobody:pw@127.0.0.1:1/x"})
    assert r.exit_code == 3
    assert "postgresql://nobody:***@127.0.0.1:1/x" in r.output and "pw@" not in r.output


def test_demo_report_uses_the_invariant_checker(db_url: str, app_url: str, reader_url: str) -> None:
    """The demo's verdict is check_invariants' (as the reader): an acknowledged key missing from the journal, or
    a refused key that was posted, fails the report (invariant 5), and the findings are printed."""
    import io

    from rich.console import Console

    from dualbook import Ledger, credit, debit
    from dualbook.tools.certify import AckRecord
    from dualbook.tools.demo import Outcomes, report

    with Ledger.connect(app_url, max_size=1) as ledger, Ledger.connect(reader_url, max_size=1) as reader:
        ledger.create_account("bank", "USD", "asset")
        ledger.create_account("w", "USD", "liability", lower_limit=0)
        legs = [debit("bank", 500, "USD"), credit("w", 500, "USD")]
        r = ledger.post_entry("k:1", legs)
        ledger.post_entry("k:refused", legs)  # posted, but the record below says it was refused

        def run(out: Outcomes) -> tuple[bool, str]:
            buf = io.StringIO()
            ok = report(ledger, reader, reader_url, out, 1.0, Console(file=buf, width=200))
            return ok, buf.getvalue()

        good = Outcomes()
        good.acknowledged["k:1"] = AckRecord.of(r, legs)
        ok, text = run(good)
        assert ok, text
        assert "1 acknowledged keys" in text and "FAIL" not in text

        bad = Outcomes()
        bad.acknowledged["k:1"] = AckRecord.of(r, legs)
        bad.acknowledged["k:ghost"] = AckRecord(r.entry_id + 100, (("w", 1, "USD"),))
        bad.refused.add("k:refused")
        ok, text = run(bad)
        assert not ok
        assert "FAIL 5." in text and "FAIL 1." not in text
        assert "ack_missing [default] k:ghost" in text and "refused_present [default] k:refused" in text


def test_demo_runs_a_payments_day_with_group_posting(role_env: dict[str, str]) -> None:
    """The main job end to end, each client as its production role: the books balance, every invariant holds,
    and the concurrent single-entry requests went through group posting."""
    r = CliRunner().invoke(main, ["demo", "--seconds", "3", "--clients", "8"], env=role_env)
    assert r.exit_code == 0, r.output
    assert "OK: the books balance" in r.output
    groups = re.search(r"group posting: ([\d,]+) single-entry requests sent in ([\d,]+) post_entries calls", r.output)
    assert groups is not None, r.output
    requests, calls = (int(g.replace(",", "")) for g in groups.groups())
    assert requests > 0 and 0 < calls <= requests
