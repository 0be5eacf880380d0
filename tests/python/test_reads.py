"""The read policy and the one definition of replay lag (pure functions; the real replica is in test_replica.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dualbook.reads import Lag, Position, ReadPolicy, read_conninfo, replay_lag

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def position(behind: int | None, last_commit_ago: float | None = 1.5, standby: bool = True) -> Position:
    at = None if last_commit_ago is None else NOW - timedelta(seconds=last_commit_ago)
    return Position(standby=standby, lsn="0/3000000", at=at, now=NOW, behind=behind)


def test_lag_is_zero_seconds_when_nothing_is_missing() -> None:
    assert replay_lag(position(0), "0/3000000") == Lag(0, 0.0, "0/3000000", "0/3000000")
    # ahead of the position asked about (replay moved on since): nothing missing either
    assert replay_lag(position(-100)).bytes == 0


def test_lag_seconds_is_the_age_of_the_last_replayed_commit_when_behind() -> None:
    lag = replay_lag(position(8192, 1.5))
    assert (lag.bytes, lag.seconds) == (8192, 1.5)
    assert replay_lag(position(8192, None)).seconds is None  # nothing replayed yet: unknown
    assert replay_lag(position(None)) == Lag(None, None, None, "0/3000000")  # the primary was not asked


def test_policies_accept_what_they_promise() -> None:
    caught_up, behind, unknown = replay_lag(position(0)), replay_lag(position(10, 0.5)), replay_lag(position(10, None))
    ryw = ReadPolicy()
    assert ryw.needs_primary and ryw.accepts(caught_up) and not ryw.accepts(behind)
    bounded = ReadPolicy(read_your_writes=False, max_lag=1.0)
    assert bounded.accepts(behind) and not bounded.accepts(unknown)
    assert not bounded.accepts(replay_lag(position(10, 1.5)))
    assert not ReadPolicy(read_your_writes=False, max_lag_bytes=5).accepts(behind)
    assert ReadPolicy(read_your_writes=False, max_lag_bytes=10).accepts(behind)
    anything = ReadPolicy(read_your_writes=False)
    assert not anything.needs_primary and anything.accepts(replay_lag(position(None)))
    assert not bounded.accepts(replay_lag(position(None)))  # a bound needs the primary's position


@pytest.mark.parametrize("kwargs", [{"timeout": -1}, {"poll": 0}, {"max_lag": -0.1}, {"max_lag_bytes": -1}])
def test_policy_values_are_checked(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        ReadPolicy(**kwargs)  # type: ignore[arg-type]


def test_read_sessions_are_read_only_repeatable_read_and_keep_the_urls_options() -> None:
    info = read_conninfo("postgresql://app@db/ledger?options=-c%20statement_timeout%3D5s")
    assert "statement_timeout=5s" in info and "default_transaction_read_only=on" in info
    assert "default_transaction_isolation=repeatable\\\\ read" in info
