"""The plain-Python reference implementation of docs/audit.md: the encoding, the published test vectors (the same
constants as tests/pgtap/audit_encoding.sql, so SQL and Python are pinned to one another), the Merkle tree, and —
property-based — that for arbitrary text, metadata, dates and 64-bit amounts the hashes the database seals are the
hashes Python recomputes from an export."""

from __future__ import annotations

import hashlib
import io
import json
import string
from datetime import date
from typing import Any

import hypothesis.strategies as st
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings

from dualbook import Ledger, credit, debit
from dualbook.audit import journal as audit
from dualbook.audit import verify as auditspec
from dualbook.audit.verify import Entry, Leg, Seal, field_bytes, merkle_root

# The test vector of docs/audit.md (also asserted by tests/pgtap/audit_encoding.sql against the SQL).
VECTOR_LEGS = [
    Leg("1", "42", "1", "7", "wallet:alice", "1250", "USD", "3", "-8750"),
    Leg("1", "42", "2", "9", "merchant:7", "-1250", "USD", None, None),
]
VECTOR_ENTRY = Entry(
    book_id="1",
    entry_id="42",
    idempotency_key="payment:8431",
    request_hash=hashlib.sha256(b"payment:8431").hexdigest(),
    description="Café ☕ order 8431",
    metadata='{"tags": ["a", "b"], "order": 8431}',
    effective_date="2026-11-25",
    recorded_at="2026-11-25T23:03:28.143697Z",
    reverses_entry_id=None,
)
LEG_HASHES = [
    "e9b9cbd4f0eddd595ad9145344dd77a56fce00c5eee0a63f1fda43b08996e701",
    "4988657956df221f4435ebc4122c3eea0f41e69a08c09922e87fc79d0ca28fb4",
]
ENTRY_HASH = "ca12f09c89940cc167011a3e5fc16e085c6da45320a8b8c0f251c123aac9a32a"
ROOT = "ee53cca787462f166609e98b898b1082afe875b6e1cc17c811ac8feeb4c41d72"
SEAL_HASH = "d732baab8dafebed397f7f025c523291158908c5f9ea6322b0e835c821cc18e8"


def test_fields() -> None:
    assert field_bytes(None) == b"-"
    assert field_bytes("") == b"0:"
    assert field_bytes("-") == b"1:-"
    assert field_bytes("Café ☕") == b"9:Caf\xc3\xa9 \xe2\x98\x95"
    assert field_bytes("ab") + field_bytes("c") != field_bytes("a") + field_bytes("bc")


def test_the_published_vector() -> None:
    hashes = [leg.hash() for leg in VECTOR_LEGS]
    assert [h.hex() for h in hashes] == LEG_HASHES
    assert VECTOR_LEGS[1].encoding() == b"15:dualbook/leg/v11:12:421:21:910:merchant:75:-12503:USD--"
    assert VECTOR_ENTRY.hash(hashes).hex() == ENTRY_HASH
    assert merkle_root([bytes.fromhex(ENTRY_HASH)]).hex() == ROOT
    seal = Seal("1", "default", "1", "0", "42", "1", ROOT, None, "2026-11-25T23:04:00.000000Z", SEAL_HASH)
    assert seal.hash().hex() == SEAL_HASH


def _levels(hashes: list[bytes]) -> bytes:
    """The SQL's construction: level by level, an odd last node moving up unchanged."""
    if not hashes:
        return hashlib.sha256(b"").digest()
    level = [hashlib.sha256(b"\x00" + h).digest() for h in hashes]
    while len(level) > 1:
        level = [
            hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest() if i + 1 < len(level) else level[i]
            for i in range(0, len(level), 2)
        ]
    return level[0]


@pytest.mark.parametrize("n", range(0, 70))
def test_merkle_levels_equal_rfc6962(n: int) -> None:
    hashes = [hashlib.sha256(bytes([i % 256, i // 256])).digest() for i in range(n)]
    assert merkle_root(hashes) == _levels(hashes)


def test_merkle_vectors() -> None:
    leaves = [hashlib.sha256(bytes([i])).digest() for i in range(5)]
    assert merkle_root(leaves[:4]).hex() == "0dcc2b645c00dfa2338e1c7ac2c4b570beda5a476d58836e55e28bde55e6bee1"
    assert merkle_root(leaves).hex() == "6b313b611b40676b9e1dfd70c4503f2379f88f0f1c2740fb7e1cacc32c113465"


def test_runs_as_a_script(tmp_path: Any) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"")
    assert auditspec.main([str(path)]) == 1
    assert auditspec.main([]) == 2


# --- SQL and Python agree on arbitrary content ----------------------------------------------------------------------
_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30)
_json: Any = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | _text
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=8,
)
_entry = st.fixed_dictionaries(
    {
        "description": st.none() | _text,
        "metadata": st.dictionaries(st.text(string.ascii_letters + "é☕ ", max_size=8), _json, max_size=4),
        "effective_date": st.none() | st.dates(date(1, 1, 1), date(9999, 12, 31)),
        # up to 4 entries on fresh accounts per example: their balances stay within the 64-bit range
        "amount": st.integers(1, (2**63 - 1) // 4),
    }
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entries=st.lists(_entry, min_size=1, max_size=4))
def test_sql_and_python_hash_alike(db_url: str, entries: list[dict[str, Any]]) -> None:
    with Ledger.connect(db_url, max_size=2) as lg:
        with psycopg.connect(db_url) as c:
            row = c.execute("SELECT count(*) FROM ledger_private.entry").fetchone()
        n = row[0] if row else 0
        lg.create_account(f"h:src:{n}", "USD", "asset", deferred=True)
        lg.create_account(f"h:dst:{n}", "USD", "liability", deferred=True)
        for i, e in enumerate(entries):
            lg.post_entry(
                f"h:{n}:{i}",
                [debit(f"h:src:{n}", e["amount"], "USD"), credit(f"h:dst:{n}", e["amount"], "USD")],
                description=e["description"],
                metadata=e["metadata"],
                effective_date=e["effective_date"],
            )
        assert audit.seal_pass(lg).status == "sealed"
        assert audit.verify_database(lg).ok
        buf = io.BytesIO()
        audit.export(lg, buf)
    report = auditspec.verify_data(auditspec.read_export(io.BytesIO(buf.getvalue())))
    assert report.ok, [f.line() for f in report.findings[:3]]
    assert report.sealed == report.entries


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{}", True),
        (' {"a": [1, -2.5e3, "x\\u00e9\\n", true, false, null, {}], "b": {"c": []}} ', True),
        ('{"a": ' * 50_000 + "1" + "}" * 50_000, True),
        ('{"a": ' + "[" * 50_000 + "]" * 50_000 + "}", True),
        ('{"a": ' * 50_000 + "1" + "}" * 49_999, False),
        ("[]", False),
        ("1", False),
        ("", False),
        ('{"a"}', False),
        ('{"a": 1,}', False),
        ('{"a": [1,]}', False),
        ('{"a": [1 2]}', False),
        ("{}{}", False),
        ('{"a": 01}', False),
        ('{"a": 1.}', False),
        ('{"a": NaN}', False),
        ('{"a": "\x01"}', False),
        ('{"a": "\\q"}', False),
        ('{"a": [}', False),
    ],
)
def test_json_object_text_at_any_depth(text: str, expected: bool) -> None:
    """The metadata check of the offline verifier needs no recursion: it agrees with json.loads where that
    works, and goes on far deeper."""
    assert auditspec.is_json_object_text(text) is expected
    try:
        parsed = json.loads(text)
    except RecursionError:
        return
    except ValueError:
        assert not expected
        return
    assert isinstance(parsed, dict) is expected or text.endswith("NaN}")
