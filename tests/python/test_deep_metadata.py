"""Metadata nesting: the API refuses more than 32 levels (LD111, errors.MetadataTooDeep), and every reader copes
with whatever an entry already holds. Entries written before the limit, or by a superuser, can nest as deep as
the server parses (json ~15,000 levels at the default max_stack_depth; 100,000 levels cannot be stored at all:
the server's own parser stops with 54001). Python's json stops near 1,000 levels, so reading them through
psycopg's jsonb loader raised RecursionError: now Ledger.get_entry returns ``metadata=None`` with the stored
text in ``metadata_text``, and `dualbook entry` prints a note (tables) or the document itself (--json)."""

from __future__ import annotations

import json

import psycopg
import pytest

from dualbook import Ledger
from dualbook import errors as E
from dualbook.calls import load_metadata

from .auditkit import tamper
from .test_cli import Run, as_json, books, fails, ok, run  # noqa: F401  (fixtures)


def _nested(depth: int) -> str:
    """A JSON object nesting `depth` levels."""
    return '{"a": ' * depth + "1" + "}" * depth


LEGS = [{"account": "bank", "amount": 1, "currency": "USD"}, {"account": "fees", "amount": -1, "currency": "USD"}]


def test_the_api_refuses_more_than_32_levels(books: Run, app_url: str) -> None:  # noqa: F811
    with Ledger.connect(app_url, max_size=1) as lg:
        with pytest.raises(E.MetadataTooDeep) as exc:
            lg.post_entry("deep:33", LEGS, metadata=json.loads(_nested(33)))
        assert exc.value.code == "LD111" and exc.value.context == {"argument": "metadata", "limit": 32}
        with pytest.raises(E.MetadataTooDeep):
            lg.post_entries([{"key": "deep:b", "legs": LEGS, "metadata": json.loads(_nested(33))}], atomic=True)
        assert lg.post_entry("deep:32", LEGS, metadata=json.loads(_nested(32))).created
        assert lg.get_entry(key="deep:32").metadata == json.loads(_nested(32))
    fails(books("post", "--debit", "bank", "1", "--credit", "fees", "1", "--metadata", _nested(33)), 5, "LD111")


@pytest.mark.parametrize("depth", [1_000, 10_000])
def test_entries_stored_deeper_than_python_reads(books: Run, db_url: str, reader_url: str, depth: int) -> None:  # noqa: F811
    ok(books("post", "--key", "deep", "--debit", "bank", "1", "--credit", "fees", "1"))
    tamper(
        db_url, f"UPDATE ledger_private.entry SET metadata = '{_nested(depth)}'::jsonb WHERE idempotency_key = 'deep'"
    )
    with Ledger.connect(reader_url, max_size=1) as lg:
        e = lg.get_entry(key="deep")
        assert e.metadata is None
        assert e.metadata_text.startswith('{"a": {"a": ') and e.metadata_text.count("{") == depth
        assert [leg.account for leg in e.legs] == ["bank", "fees"]
        entry_id = e.entry_id
    for args in (("entry", "--key", "deep"), ("entry", str(entry_id))):
        r = ok(books(*args))
        assert "Metadata:" in r.stdout and "nested too deeply to show here" in r.stdout and "--json" in r.stdout
        assert "Traceback" not in r.output
    r = ok(books("entry", "--key", "deep", "--json"))
    head, _, tail = r.stdout.partition('"metadata": ')
    assert json.loads(head + '"metadata": null' + tail[len(e.metadata_text) :])["legs"][0]["account"] == "bank"
    assert tail.startswith(e.metadata_text)  # the document itself, exactly as stored


def test_the_server_cannot_store_100000_levels(db_url: str) -> None:
    with psycopg.connect(db_url) as conn, pytest.raises(psycopg.errors.StatementTooComplex):
        conn.execute("SELECT %s::jsonb", (_nested(100_000),))


def test_load_metadata() -> None:
    assert load_metadata('{"a": [1, {"b": null}]}') == {"a": [1, {"b": None}]}
    assert load_metadata(_nested(5_000)) is None
