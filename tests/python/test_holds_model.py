"""A model of holds, checked against the database after every call: random sequences of holds, captures (in full
and in part), voids, debits and deposits on limited wallets, and repeated resolutions. The model predicts each
call's outcome (done, or which error) and every wallet's posted, pending and available balances."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dualbook import Ledger, credit, debit
from dualbook import errors as E
from dualbook.db import roles
from dualbook.db.cluster import Cluster
from dualbook.testing import drop_database, fresh_database

WALLETS = ("w:0", "w:1")
_run = itertools.count()


@pytest.fixture(scope="module")
def ledger(cluster: Cluster) -> Iterator[Ledger]:
    url = fresh_database(cluster, prefix="hmodel")
    with Ledger.connect(roles.url_as(url, roles.APP), max_size=2) as lg:
        lg.create_account("bank", "USD", "asset")
        lg.create_account("shop", "USD", "liability")
        for w in WALLETS:
            lg.create_account(w, "USD", "liability", lower_limit=0)
            lg.post_entry(f"fund:{w}", [debit("bank", 1000, "USD"), credit(w, 1000, "USD")])
        yield lg
    drop_database(cluster, url)


@dataclass
class Model:
    balance: dict[str, int]
    holds: dict[int, tuple[str, int]] = field(default_factory=dict)  # open holds: id -> (wallet, amount)
    resolved: dict[int, str] = field(default_factory=dict)  # id -> captured | voided

    def pending(self, w: str) -> int:
        return sum(a for wallet, a in self.holds.values() if wallet == w)

    def available(self, w: str) -> int:
        return self.balance[w] - self.pending(w)


op = st.tuples(
    st.sampled_from(["hold", "capture", "partial", "void", "spend", "deposit", "again"]),
    st.sampled_from(WALLETS),
    st.integers(min_value=1, max_value=700),
    st.integers(min_value=0, max_value=10**6),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(op, min_size=5, max_size=25))
def test_holds_follow_the_model(ledger: Ledger, ops: list[tuple[str, str, int, int]]) -> None:
    run = next(_run)
    m = Model({w: ledger.get_available(w).balance for w in WALLETS})
    for n, (kind, w, amount, pick) in enumerate(ops):
        key = f"m{run}:{n}"
        if kind == "hold":
            if m.available(w) >= amount:
                h = ledger.hold(key, [debit(w, amount, "USD"), credit("shop", amount, "USD")])
                m.holds[h.hold_id] = (w, amount)
                assert h.available[w] == m.available(w)
            else:
                with pytest.raises(E.LimitExceeded):
                    ledger.hold(key, [debit(w, amount, "USD"), credit("shop", amount, "USD")])
        elif kind in ("capture", "partial", "void") and m.holds:
            hid = sorted(m.holds)[pick % len(m.holds)]
            hw, held = m.holds[hid]
            if kind == "void":
                assert ledger.void(hid, key).created
                m.resolved[hid] = "voided"
            else:
                part = held if kind == "capture" else 1 + pick % held
                c = ledger.capture(hid, key, None if kind == "capture" else part)
                assert (c.amount, c.released) == (part, held - part)
                m.balance[hw] -= part
                m.resolved[hid] = "captured"
            del m.holds[hid]
        elif kind == "spend":
            legs = [debit(w, amount, "USD"), credit("bank", amount, "USD")]
            if m.available(w) >= amount:
                ledger.post_entry(key, legs)
                m.balance[w] -= amount
            else:
                with pytest.raises(E.LimitExceeded):
                    ledger.post_entry(key, legs)
        elif kind == "deposit":
            ledger.post_entry(key, [debit("bank", amount, "USD"), credit(w, amount, "USD")])
            m.balance[w] += amount
        elif kind == "again" and m.resolved:
            hid = sorted(m.resolved)[pick % len(m.resolved)]
            expected = {
                "voided": (E.HoldVoided, E.HoldVoided),
                "captured": (E.HoldAlreadyCaptured, E.HoldCapturedNotVoidable),
            }
            capture_error, void_error = expected[m.resolved[hid]]
            with pytest.raises(capture_error):
                ledger.capture(hid, key + ":c")
            with pytest.raises(void_error):
                ledger.void(hid, key + ":v")
        for wallet in WALLETS:
            a = ledger.get_available(wallet)
            assert (a.balance, a.pending_debit, a.available) == (
                m.balance[wallet],
                m.pending(wallet),
                m.available(wallet),
            ), (kind, wallet)
            assert a.available >= 0
    for hid in list(m.holds):  # the next example starts with nothing reserved
        ledger.void(hid, f"m{run}:end:{hid}")
