"""dualbook: a strongly-consistent double-entry ledger on PostgreSQL.

The SQL API (schema ``ledger``) holds every business rule; this package starts an embedded cluster, deploys
the schema with Sqitch, and calls the API::

    from dualbook import Ledger, debit, credit

    with Ledger.connect(url) as ledger:
        ledger.post_entry("payment:1", [debit("wallet:1", 500, "USD"), credit("merchant:7", 500, "USD")])
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # for type checkers and editors; at run time the names below load on first use
    from dualbook.aio import AsyncLedger
    from dualbook.group import GroupPolicy, GroupStats
    from dualbook.holdcalls import Available, CaptureResult, Hold, HoldResult, VoidResult
    from dualbook.ledger import Ledger, run_serializable
    from dualbook.money import Money, format_amount, parse_amount
    from dualbook.reads import ReadPolicy
    from dualbook.results import (
        AccountResult,
        AccountRow,
        Balance,
        BalanceAssertion,
        BatchResult,
        Entry,
        EntryLeg,
        EntryRequest,
        KeyOutcome,
        Leg,
        PostResult,
        Snapshot,
        Violation,
        credit,
        debit,
    )
    from dualbook.retry import RetryPolicy, RetryStats

# Where each public name lives. Importing ``dualbook`` itself imports nothing else, so a sub-package that needs
# only the standard library (the offline audit verifier, ``python -m dualbook.audit.verify``) runs without the
# database driver installed.
_EXPORTS: dict[str, str] = {
    "AccountResult": "dualbook.results",
    "AccountRow": "dualbook.results",
    "AsyncLedger": "dualbook.aio",
    "Available": "dualbook.holdcalls",
    "CaptureResult": "dualbook.holdcalls",
    "Hold": "dualbook.holdcalls",
    "HoldResult": "dualbook.holdcalls",
    "VoidResult": "dualbook.holdcalls",
    "Balance": "dualbook.results",
    "BalanceAssertion": "dualbook.results",
    "BatchResult": "dualbook.results",
    "Entry": "dualbook.results",
    "EntryLeg": "dualbook.results",
    "EntryRequest": "dualbook.results",
    "KeyOutcome": "dualbook.results",
    "GroupPolicy": "dualbook.group",
    "GroupStats": "dualbook.group",
    "Ledger": "dualbook.ledger",
    "Leg": "dualbook.results",
    "Money": "dualbook.money",
    "PostResult": "dualbook.results",
    "ReadPolicy": "dualbook.reads",
    "RetryPolicy": "dualbook.retry",
    "RetryStats": "dualbook.retry",
    "Snapshot": "dualbook.results",
    "Violation": "dualbook.results",
    "credit": "dualbook.results",
    "debit": "dualbook.results",
    "format_amount": "dualbook.money",
    "parse_amount": "dualbook.money",
    "run_serializable": "dualbook.ledger",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'dualbook' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__version__ = "0.2.0"

__all__ = [
    "AccountResult",
    "AccountRow",
    "AsyncLedger",
    "Available",
    "Balance",
    "BalanceAssertion",
    "BatchResult",
    "CaptureResult",
    "Entry",
    "EntryLeg",
    "EntryRequest",
    "GroupPolicy",
    "GroupStats",
    "Hold",
    "HoldResult",
    "KeyOutcome",
    "Ledger",
    "Leg",
    "Money",
    "PostResult",
    "ReadPolicy",
    "RetryPolicy",
    "RetryStats",
    "Snapshot",
    "Violation",
    "VoidResult",
    "__version__",
    "credit",
    "debit",
    "format_amount",
    "parse_amount",
    "run_serializable",
]
