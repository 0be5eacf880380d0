"""Prometheus metrics (``GET /metrics``): requests and their latency by route, postings, replays, refusals by
code, retries, group sizes and the connection pool's use.

With several worker processes each process counts its own; ``dualbook serve --workers N`` then points
``PROMETHEUS_MULTIPROC_DIR`` at a fresh directory (unless it is set already), and a scrape adds up every process
(prometheus_client's multiprocess mode).
"""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from dualbook.group import GroupStats
from dualbook.retry import RetryStats

LATENCY_BUCKETS = (0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUESTS = Counter("dualbook_http_requests", "HTTP requests answered", ["method", "route", "status"])
LATENCY = Histogram(
    "dualbook_http_request_duration_seconds", "Time to answer a request", ["route"], buckets=LATENCY_BUCKETS
)
POSTINGS = Counter("dualbook_postings", "Entries posted (created now) through the service", ["kind"])
REPLAYS = Counter("dualbook_replays", "Requests answered with an earlier outcome of their key", ["kind"])
REFUSALS = Counter("dualbook_refusals", "Requests the ledger refused, by error code", ["code"])
RETRIES = Counter("dualbook_retries", "Transactions re-run after a serialization failure or lost connection", ["cause"])
GIVEN_UP = Counter("dualbook_retries_exhausted", "Calls that gave up after their retries")
GROUP_SIZE = Histogram(
    "dualbook_group_size", "Entries per group posted", buckets=(1, 2, 4, 8, 16, 32, 64, 100, 250, 500, 1000)
)
POOL = Gauge("dualbook_pool_connections", "Connections of the pool", ["state"], multiprocess_mode="livesum")
POOL_WAITING = Gauge("dualbook_pool_waiting", "Requests waiting for a connection", multiprocess_mode="livesum")
#: with a read target only (measured at each scrape, labelled target="read"; absent without one): whether it
#: answered, and how far its replay is behind the primary
REPLICA_UP = Gauge(
    "dualbook_replica_up", "The read target answered (1) or not (0)", ["target"], multiprocess_mode="mostrecent"
)
REPLICA_LAG_BYTES = Gauge(
    "dualbook_replica_lag_bytes",
    "WAL the primary flushed that the read target has not replayed",
    ["target"],
    multiprocess_mode="mostrecent",
)
REPLICA_LAG_SECONDS = Gauge(
    "dualbook_replica_lag_seconds",
    "Seconds since the read target's last replayed commit, while it is behind (0: caught up)",
    ["target"],
    multiprocess_mode="mostrecent",
)


# Each request counts itself through a labelled child; `labels()` is a lock and a dict lookup per call, so the
# children are kept here by their label values (few: routes are templates, statuses and codes a short list).
_requests: dict[tuple[str, str, int], tuple[Any, Any]] = {}
_postings: dict[str, Any] = {}
_replays: dict[str, Any] = {}
_refusals: dict[str, Any] = {}


def observe_request(method: str, route: str, status: int, elapsed: float) -> None:
    """A request answered: its count by method, route and status, and its latency by route."""
    children = _requests.get((method, route, status))
    if children is None:
        children = _requests[(method, route, status)] = (
            REQUESTS.labels(method, route, str(status)),
            LATENCY.labels(route),
        )
    children[0].inc()
    children[1].observe(elapsed)


def _child(cache: dict[str, Any], metric: Counter, label: str) -> Any:
    child = cache.get(label)
    if child is None:
        child = cache[label] = metric.labels(label)
    return child


def posted(kind: str) -> None:
    _child(_postings, POSTINGS, kind).inc()


def replayed(kind: str) -> None:
    _child(_replays, REPLAYS, kind).inc()


def refused(code: str) -> None:
    _child(_refusals, REFUSALS, code).inc()


class ObservedRetryStats(RetryStats):
    """The client's retry counters, also counted as metrics."""

    def record(self, attempts: int, serialization: int = 0, lost: int = 0, gave_up: int = 0) -> None:
        super().record(attempts, serialization, lost, gave_up)
        if serialization:
            RETRIES.labels("serialization").inc(serialization)
        if lost:
            RETRIES.labels("connection_lost").inc(lost)
        if gave_up:
            GIVEN_UP.inc(gave_up)


class ObservedGroupStats(GroupStats):
    """The group poster's counters, each group's size also observed."""

    def record(self, size: int) -> None:
        super().record(size)
        GROUP_SIZE.observe(size)


def update_pool(stats: dict[str, int]) -> None:
    size = stats.get("pool_size", 0)
    available = stats.get("pool_available", 0)
    POOL.labels("open").set(size)
    POOL.labels("idle").set(available)
    POOL.labels("in_use").set(max(size - available, 0))
    POOL_WAITING.set(stats.get("requests_waiting", 0))


def exposition() -> tuple[bytes, str]:
    """The metrics text of this process, or of every process in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
