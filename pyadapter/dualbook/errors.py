"""dualbook's exceptions: one class per SQLSTATE of the SQL API's error catalog.

The catalog lives once, in SQL (``ledger.error_codes``, documented in docs/sql-api.md); this module mirrors it
so callers can ``except dualbook.errors.LimitExceeded``. A test checks that both agree. Classes register
themselves by SQLSTATE (the pattern of psycopg's own ``errors`` module); :func:`lookup` finds one.

Hierarchy::

    DualbookError
    ├── ClusterError, ConfigError                 (this machine / configuration)
    └── LedgerError                               (raised by the database, carries sqlstate/detail/hint)
        ├── ValidationError                       (the request itself is wrong: fix it, do not retry)
        ├── ConflictError                         (the request clashes with the ledger's state)
        └── InfrastructureError                   (the transaction is unusable / the database refused)
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

_REGISTRY: dict[str, type[LedgerError]] = {}


class DualbookError(Exception):
    """Base class of every error dualbook raises."""


class ClusterError(DualbookError):
    """The embedded PostgreSQL cluster could not be created, started or stopped."""


class ConfigError(DualbookError):
    """Configuration is wrong or a server cannot be reached (DATABASE_URL, sqitch, ...)."""


class LedgerError(DualbookError):
    """An error raised by the ledger's SQL API, identified by its SQLSTATE."""

    sqlstate: ClassVar[str | None] = None
    name: ClassVar[str] = "ledger_error"

    def __init__(
        self,
        message: str,
        *,
        sqlstate: str | None = None,
        detail: str | None = None,
        hint: str | None = None,
        context: dict[str, Any] | None = None,
        cause: BaseException | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail
        self.hint = hint
        #: the DETAIL parsed: the offending fields (account, leg, balance, ...) as the database named them
        self.context: dict[str, Any] = context or {}
        self.cause = cause
        if sqlstate is not None:
            self._sqlstate = sqlstate

    def __init_subclass__(cls, code: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if code is not None:
            if code in _REGISTRY:
                raise TypeError(f"SQLSTATE {code} registered twice")
            cls.sqlstate = code
            _REGISTRY[code] = cls

    @property
    def account(self) -> str | None:
        """The offending account code, when the database named one."""
        value = self.context.get("account")
        return str(value) if value is not None else None

    @property
    def leg(self) -> int | None:
        """The offending leg (1-based), when the database named one."""
        value = self.context.get("leg")
        return int(value) if isinstance(value, int) else None

    @property
    def recorded(self) -> bool:
        """True for a refusal recorded with its idempotency key: every later call with the key and the same
        request gets this refusal again, never a posting (docs/sql-api.md §1.6)."""
        return self.context.get("refusal") == "recorded"

    @property
    def code(self) -> str | None:
        """The SQLSTATE this error carries."""
        return getattr(self, "_sqlstate", None) or self.sqlstate

    def __str__(self) -> str:
        parts = [self.message]
        if self.detail:
            parts.append(f"DETAIL: {self.detail}")
        return " ".join(parts)


class ValidationError(LedgerError):
    """The request is malformed or breaks a rule by itself; retrying the same request cannot succeed."""


class ConflictError(LedgerError):
    """The request is well-formed but conflicts with the ledger's current state."""


class InfrastructureError(LedgerError):
    """The database refused the call for a reason outside the request (isolation, privileges, ...)."""


# --- validation (LD1xx) ------------------------------------------------------------------------
class InvalidArgument(ValidationError, code="LD101"):
    name = "invalid_argument"


class UnbalancedEntry(ValidationError, code="LD102"):
    name = "unbalanced_entry"


class ZeroAmount(ValidationError, code="LD103"):
    name = "zero_amount"


class TooManyLegs(ValidationError, code="LD104"):
    name = "too_many_legs"


class MetadataTooLarge(ValidationError, code="LD105"):
    name = "metadata_too_large"


class AmountOutOfRange(ValidationError, code="LD106"):
    name = "amount_out_of_range"


class CurrencyMismatch(ValidationError, code="LD107"):
    name = "currency_mismatch"


class UnknownCurrency(ValidationError, code="LD108"):
    name = "unknown_currency"


class TooFewLegs(ValidationError, code="LD109"):
    name = "too_few_legs"


class TooManyEntries(ValidationError, code="LD110"):
    name = "too_many_entries"


class MetadataTooDeep(ValidationError, code="LD111"):
    name = "metadata_too_deep"


class InvalidDateRange(ValidationError, code="LD115"):
    name = "invalid_date_range"


class InvalidCursor(ValidationError, code="LD116"):
    name = "invalid_cursor"


class PeriodNotEnded(ValidationError, code="LD117"):
    name = "period_not_ended"


class InvalidHoldRequest(ValidationError, code="LD120"):
    name = "invalid_hold_request"


class CaptureExceedsHold(ValidationError, code="LD121"):
    name = "capture_exceeds_hold"


class PartialCaptureNeedsTwoLegs(ValidationError, code="LD122"):
    name = "partial_capture_needs_two_legs"


# --- conflicts with state (LD2xx) ---------------------------------------------------------------
class UnknownAccount(ConflictError, code="LD201"):
    name = "unknown_account"


class AccountClosed(ConflictError, code="LD202"):
    name = "account_closed"


class LimitExceeded(ConflictError, code="LD203"):
    name = "limit_exceeded"


class AssertionFailed(ConflictError, code="LD204"):
    name = "assertion_failed"


class IdempotencyConflict(ConflictError, code="LD205"):
    name = "idempotency_conflict"


class AccountExists(ConflictError, code="LD206"):
    name = "account_exists"


class AccountNotZero(ConflictError, code="LD207"):
    name = "account_not_zero"


class UnknownEntry(ConflictError, code="LD208"):
    name = "unknown_entry"


class AlreadyReversed(ConflictError, code="LD209"):
    name = "already_reversed"


class UnknownBook(ConflictError, code="LD210"):
    name = "unknown_book"


class BalanceOutOfRange(ConflictError, code="LD211"):
    name = "balance_out_of_range"


class CurrencyExists(ConflictError, code="LD212"):
    name = "currency_exists"


class BookExists(ConflictError, code="LD213"):
    name = "book_exists"


class PeriodClosed(ConflictError, code="LD214"):
    name = "period_closed"


class CloseNotMonotonic(ConflictError, code="LD215"):
    name = "close_not_monotonic"


class UnknownHold(ConflictError, code="LD220"):
    name = "unknown_hold"


class HoldVoided(ConflictError, code="LD221"):
    name = "hold_voided"


class HoldAlreadyCaptured(ConflictError, code="LD222"):
    name = "hold_already_captured"


class HoldExpired(ConflictError, code="LD223"):
    name = "hold_expired"


class HoldCapturedNotVoidable(ConflictError, code="LD224"):
    name = "hold_captured_not_voidable"


class HoldOnDeferredAccount(ConflictError, code="LD225"):
    name = "hold_on_deferred_account"


class AccountHasHolds(ConflictError, code="LD226"):
    name = "account_has_holds"


class TooManyHoldRequests(ConflictError, code="LD230"):
    name = "too_many_hold_requests"


class MalformedHoldRequest(ConflictError, code="LD231"):
    name = "malformed_hold_request"


class HoldRequestsNotArray(ConflictError, code="LD232"):
    name = "hold_requests_not_array"


# --- infrastructure / integrity (LD3xx) ---------------------------------------------------------
class RetriesExhausted(InfrastructureError):
    """A write kept failing with a retryable error (serialization failure, lost connection) and gave up."""

    name = "retries_exhausted"


class WorkerBusy(InfrastructureError):
    """Another run of a worker (the sequencer) kept its lock for longer than the caller would wait."""

    name = "worker_busy"


class GroupQueueFull(InfrastructureError):
    """The group poster's queue stayed full for the policy's ``queue_timeout``: the database cannot keep up with
    the requests; nothing of this request was sent."""

    name = "group_queue_full"


class ReplicaLagging(InfrastructureError):
    """A read on the replica needed it to have replayed further (the caller's writes, or within the read policy's
    ``max_lag``) than it did within the policy's ``timeout``; nothing was read. ``context`` holds ``lag_bytes``,
    ``lag_seconds``, ``primary_lsn``, ``replay_lsn`` and ``waited``."""

    name = "replica_lagging"


class ReplicaUnavailable(InfrastructureError):
    """The replica (the client's read target) could not be reached within the read policy's ``timeout``;
    nothing was read."""

    name = "replica_unavailable"


class NotSerializable(InfrastructureError, code="LD301"):
    name = "not_serializable"


class AppendOnlyViolation(InfrastructureError, code="LD302"):
    name = "append_only_violation"


class WrongIsolation(InfrastructureError, code="LD303"):
    name = "wrong_isolation"


class SealChainBroken(InfrastructureError, code="LD304"):
    """The newest seal of a book does not match its own hash: the sealer refuses to extend a tampered chain."""

    name = "seal_chain_broken"


class UnsafeEntryIds(InfrastructureError, code="LD305"):
    """The entry id sequence caches values or does not ascend: no sealing watermark would be sound."""

    name = "unsafe_entry_ids"


class BatchNeedsPerEntryPath(InfrastructureError, code="LD306"):
    """Internal to ledger.post_entries (its set-based path hands a batch to the per-entry path); never raised to a
    caller, registered so that the registry mirrors the catalog."""

    name = "batch_needs_per_entry_path"


def detail_context(detail: str | None) -> dict[str, Any]:
    """DETAIL is a JSON object naming the offending fields; anything else gives no context."""
    if not detail:
        return {}
    try:
        parsed = json.loads(detail)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def from_fields(
    sqlstate: str,
    message: str | None,
    detail: str | None,
    *,
    hint: str | None = None,
    cause: BaseException | None = None,
) -> LedgerError:
    """The exception (not raised) for a ledger error given by its fields: a raised error's diagnostics, or a
    refusal or rejection returned as a row (status 'refused' / 'rejected')."""
    cls = lookup(sqlstate) or LedgerError
    return cls(
        message or "",
        sqlstate=sqlstate,
        detail=detail,
        hint=hint,
        context=detail_context(detail),
        cause=cause,
    )


def lookup(sqlstate: str) -> type[LedgerError] | None:
    """The exception class registered for a SQLSTATE, or None."""
    return _REGISTRY.get(sqlstate)


def registry() -> dict[str, type[LedgerError]]:
    """A copy of the SQLSTATE -> class registry (used by the catalog consistency test)."""
    return dict(_REGISTRY)
