"""dualbook: a strongly-consistent double-entry ledger on PostgreSQL.

The SQL API (schema ``ledger``) holds every business rule; this package starts an embedded cluster, deploys
the schema with Sqitch, and calls the API::

    from dualbook import Ledger, debit, credit

    with Ledger.connect(url) as ledger:
        ledger.post_entry("payment:1", [debit("wallet:1", 500, "USD"), credit("merchant:7", 500, "USD")])
"""

from dualbook.aio import AsyncLedger
from dualbook.calls import (
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
    Violation,
    credit,
    debit,
)
from dualbook.ledger import Ledger, run_serializable
from dualbook.money import Money, format_amount, parse_amount
from dualbook.retry import RetryPolicy, RetryStats

__version__ = "0.2.0"

__all__ = [
    "AccountResult",
    "AccountRow",
    "AsyncLedger",
    "Balance",
    "BalanceAssertion",
    "BatchResult",
    "Entry",
    "EntryLeg",
    "EntryRequest",
    "KeyOutcome",
    "Ledger",
    "Leg",
    "Money",
    "PostResult",
    "RetryPolicy",
    "RetryStats",
    "Violation",
    "__version__",
    "credit",
    "debit",
    "format_amount",
    "parse_amount",
    "run_serializable",
]
