"""close_account and holds, through the adapter as the application role: an account with outstanding holds is not
closed (AccountHasHolds, LD226) on either side; once its holds have expired -- recorded by the sweeper or not -- it
closes, and a capture of the expired hold is then LD223 (expired), never LD202 (closed account). A hold and a close
racing for one account serialize: whichever commits second fails and, retried, meets the other (LD226 or LD202)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import psycopg
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


def _in_thread(fn: Callable[[], object]) -> tuple[threading.Thread, list[BaseException]]:
    caught: list[BaseException] = []

    def run() -> None:
        try:
            fn()
        except BaseException as exc:
            caught.append(exc)

    t = threading.Thread(target=run)
    t.start()
    return t, caught


HOLD_SQL = "SELECT status FROM ledger.hold_entry(%s, %s::jsonb)"
SHOP_LEGS = json.dumps(
    [{"account": "wallet", "amount": 30, "currency": "USD"}, {"account": "shop", "amount": -30, "currency": "USD"}]
)


def test_a_hold_and_a_close_that_race_serialize(ledger: Ledger, app_url: str) -> None:
    """A hold committed while a close waits for the account row: the close fails to serialize, and its retry
    meets the hold (LD226). A close committed while a hold waits: the hold fails to serialize, and its retry finds
    the account closed (LD202). Never both."""
    with psycopg.connect(app_url) as first, psycopg.connect(app_url) as second:
        for c in (first, second):
            c.isolation_level = psycopg.IsolationLevel.SERIALIZABLE
        assert first.execute(HOLD_SQL, ("race:1", SHOP_LEGS)).fetchone() == ("held",)
        t, caught = _in_thread(lambda: second.execute("SELECT ledger.close_account('shop')"))
        time.sleep(0.3)  # the close waits for the row the hold updated
        first.commit()
        t.join()
        second.rollback()
        assert [type(e) for e in caught] == [psycopg.errors.SerializationFailure]
        with pytest.raises(E.AccountHasHolds):
            ledger.close_account("shop")

        ledger.create_account("kiosk", "USD", "liability")
        first.execute("SELECT ledger.close_account('kiosk')")
        kiosk_legs = SHOP_LEGS.replace('"shop"', '"kiosk"')
        t, caught = _in_thread(lambda: second.execute(HOLD_SQL, ("race:2", kiosk_legs)))
        time.sleep(0.3)  # the hold waits for the row the close updated
        first.commit()
        t.join()
        second.rollback()
        assert [type(e) for e in caught] == [psycopg.errors.SerializationFailure]
        with pytest.raises(E.AccountClosed):
            ledger.hold("race:2", [debit("wallet", 30, "USD"), credit("kiosk", 30, "USD")])
