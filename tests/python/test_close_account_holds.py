"""close_account and holds, through the adapter as the application role: an account with outstanding holds is not
closed (AccountHasHolds, LD226) on either side; once its holds have expired -- recorded by the sweeper or not -- it
closes, and a capture of the expired hold is then LD223 (expired), never LD202 (closed account)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from dualbook import Ledger, credit, debit
from dualbook import errors as E


@pytest.fixture
def ledger(app_url: str) -> Iterator[Ledger]:
    with Ledger.connect(app_url, max_size=2) as lg:
        lg.create_account("bank", "USD", "asset")
        lg.create_account("wallet", "USD", "liability", lower_limit=0)
        lg.create_account("shop", "USD", "liability")
        lg.post_entry("fund", [debit("bank", 500, "USD"), credit("wallet", 500, "USD")])
        yield lg


def test_outstanding_holds_keep_an_account_open_until_they_expire(ledger: Ledger) -> None:
    expiry = datetime.now(UTC) + timedelta(seconds=1)
    h = ledger.hold("auth:1", [debit("wallet", 200, "USD"), credit("shop", 200, "USD")], expires_at=expiry)
    with pytest.raises(E.AccountHasHolds) as exc:
        ledger.close_account("shop")
    assert exc.value.sqlstate == "LD226"
    assert json.loads(exc.value.detail or "{}") == {
        "account": "shop",
        "holds": 1,
        "pending_debit": "0",
        "pending_credit": "200",
    }
    assert ledger.get_available("shop").pending_credit == 200  # nothing changed
    time.sleep(max(0.0, (expiry - datetime.now(UTC)).total_seconds()) + 0.1)
    # expired, not yet recorded by the sweeper: released all the same
    assert ledger.get_hold(h.hold_id).status == "expired"
    ledger.close_account("shop")
    with pytest.raises(E.HoldExpired):
        ledger.capture(h.hold_id, "cap:1")
    assert ledger.expire_holds() == 1


def test_a_voided_hold_no_longer_keeps_the_account_open(ledger: Ledger) -> None:
    ledger.create_account("line", "USD", "liability")
    h = ledger.hold("auth:2", [debit("line", 70, "USD"), credit("bank", 70, "USD")])
    with pytest.raises(E.AccountHasHolds):
        ledger.close_account("line")
    ledger.void(h.hold_id, "void:2")
    ledger.close_account("line")
    assert ledger.get_balance("line").status == "closed"
