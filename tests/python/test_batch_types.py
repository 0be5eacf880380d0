"""The adapter takes its own types wherever it takes plain dicts: Leg and BalanceAssertion objects inside dict batch
entries, and integral Decimal amounts. A fractional Decimal or a float is refused before the database sees it,
with InvalidArgument naming the field (never a TypeError from the JSON encoder)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from dualbook import BalanceAssertion, EntryRequest, Ledger, credit, debit
from dualbook import errors as E


@pytest.fixture
def ledger(app_url: str) -> Iterator[Ledger]:
    with Ledger.connect(app_url, max_size=1) as lg:
        lg.create_account("bank", "USD", "asset")
        lg.create_account("wallet", "USD", "liability", lower_limit=0)
        yield lg


def test_dict_entries_hold_the_adapters_own_types(ledger: Ledger) -> None:
    results = ledger.post_entries(
        [
            {"key": "k1", "legs": [debit("bank", 100, "USD"), credit("wallet", 100, "USD")]},
            {
                "key": "k2",
                "legs": [
                    {"account": "bank", "amount": Decimal("25"), "currency": "USD"},
                    {"account": "wallet", "amount": Decimal("-25.00"), "currency": "USD"},
                ],
                "assertions": [BalanceAssertion("wallet", "=", 125)],
                "effective_date": date(2024, 5, 1),
            },
            EntryRequest("k3", [debit("bank", Decimal(5), "USD"), credit("wallet", Decimal(5), "USD")]),
        ]
    )
    assert [r.status for r in results] == ["posted", "posted", "posted"], [r.error for r in results]
    assert ledger.get_balance("wallet").balance == 130
    assert ledger.get_entry(key="k2").effective_date == date(2024, 5, 1)


def test_single_post_takes_integral_decimals(ledger: Ledger) -> None:
    ledger.post_entry(
        "d1",
        [
            {"account": "bank", "amount": Decimal("7"), "currency": "USD"},
            {"account": "wallet", "amount": Decimal("-7"), "currency": "USD"},
        ],
        assertions=[{"account": "wallet", "op": ">=", "balance": Decimal("7")}],
    )
    assert ledger.get_balance("wallet").balance == 7


@pytest.mark.parametrize(
    ("entry", "context"),
    [
        (
            {"key": "f1", "legs": [{"account": "bank", "amount": 1.0, "currency": "USD"}, credit("wallet", 1, "USD")]},
            {"entry": 2, "leg": 1, "field": "amount"},
        ),
        (
            {
                "key": "f2",
                "legs": [debit("bank", 1, "USD"), {"account": "wallet", "amount": Decimal("-0.5"), "currency": "USD"}],
            },
            {"entry": 2, "leg": 2, "field": "amount"},
        ),
        (
            EntryRequest("f3", [debit("bank", Decimal("1.5"), "USD"), credit("wallet", 1, "USD")]),
            {"entry": 2, "leg": 1, "field": "amount"},
        ),
        (
            {
                "key": "f4",
                "legs": [debit("bank", 1, "USD"), credit("wallet", 1, "USD")],
                "assertions": [{"account": "wallet", "op": "=", "balance": Decimal("NaN")}],
            },
            {"entry": 2, "assertion": 1, "field": "balance"},
        ),
    ],
)
def test_fractional_amounts_are_refused_naming_the_field(ledger: Ledger, entry: Any, context: dict[str, Any]) -> None:
    ok = {"key": "ok", "legs": [debit("bank", 1, "USD"), credit("wallet", 1, "USD")]}
    with pytest.raises(E.InvalidArgument) as info:
        ledger.post_entries([ok, entry])
    assert info.value.context == context
    assert context["field"] in info.value.message
    assert ledger.get_balance("wallet").balance == 0  # nothing was sent


def test_single_post_refuses_a_float(ledger: Ledger) -> None:
    with pytest.raises(E.InvalidArgument) as info:
        ledger.post_entry("x", [{"account": "bank", "amount": 2.5, "currency": "USD"}, credit("wallet", 2, "USD")])
    assert info.value.context == {"leg": 1, "field": "amount"}
