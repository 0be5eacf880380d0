"""How the service answers the client's own transient errors: 503 with Retry-After, never a 500."""

from __future__ import annotations

from dualbook import errors
from dualbook.service.problems import from_ledger_error


def test_retries_exhausted_is_503_with_retry_after() -> None:
    """A write that kept failing with 40001 is transient: the caller retries with the same key."""
    exc = errors.RetriesExhausted("gave up after 10 attempts: could not serialize access", sqlstate="40001")
    problem = from_ledger_error(exc)
    assert problem.status == 503
    assert "Retry-After" in problem.headers
    assert problem.body()["name"] == "retries_exhausted"


def test_a_ledger_conflict_stays_409() -> None:
    problem = from_ledger_error(errors.LimitExceeded("over the limit", sqlstate="LD203"))
    assert problem.status == 409 and problem.body()["code"] == "LD203"
