"""The service's configuration, read from the environment (``dualbook serve`` sets it from its options, so that
every worker process reads the same)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from dualbook.errors import ConfigError
from dualbook.reads import ReadPolicy
from dualbook.service.auth import Client, load_clients

#: environment variables (docs/deploy.md)
TOKENS = "DUALBOOK_SERVICE_TOKENS"  # a JSON file of clients (or the JSON itself)
AUTH = "DUALBOOK_SERVICE_AUTH"  # "off": no authentication (development only)
MAX_BODY = "DUALBOOK_SERVICE_MAX_BODY"  # bytes
TIMEOUT = "DUALBOOK_SERVICE_TIMEOUT"  # seconds per request
POOL_SIZE = "DUALBOOK_SERVICE_POOL_SIZE"  # connections per process
GROUP_WRITERS = "DUALBOOK_SERVICE_GROUP_WRITERS"
GROUP_MAX_ENTRIES = "DUALBOOK_SERVICE_GROUP_MAX_ENTRIES"
BOOK = "DUALBOOK_BOOK"
READ_URL = "DUALBOOK_SERVICE_READ_URL"  # the read target (a streaming replica); empty: reads go to the primary
MAX_LAG = "DUALBOOK_SERVICE_MAX_LAG"  # seconds a replica may be behind; empty: read-your-writes
READ_TIMEOUT = "DUALBOOK_SERVICE_READ_TIMEOUT"  # seconds a read waits for the replica (503 beyond)


@dataclass(frozen=True)
class Settings:
    database_url: str
    clients: tuple[Client, ...] = ()
    auth: bool = True
    book: str = "default"
    max_body: int = 1_048_576
    timeout: float = 10.0
    pool_size: int = 16
    group_writers: int = 4
    group_max_entries: int = 100
    #: the read target of reads and reports (a streaming replica); empty: the primary
    read_url: str = field(default="")
    #: with a read target: the most seconds it may be behind the primary (None: it must have replayed every
    #: commit the primary had when the read started, read-your-writes)
    max_lag: float | None = None
    #: with a read target: seconds a read waits for it to catch up (or to connect), then 503
    read_timeout: float = 5.0

    def __post_init__(self) -> None:
        if self.auth and not self.clients:
            raise ConfigError(
                f"no clients configured: set {TOKENS} to a tokens file (dualbook service-token makes one), "
                f"or {AUTH}=off for a development service without authentication"
            )
        if self.max_body < 1024 or self.timeout <= 0 or self.pool_size < 2 or self.group_writers < 1:
            raise ConfigError("max body >= 1024 bytes, timeout > 0, pool size >= 2, group writers >= 1")
        if self.read_timeout < 0 or (self.max_lag is not None and self.max_lag < 0):
            raise ConfigError("read timeout >= 0 and max lag >= 0 seconds")

    def read_policy(self) -> ReadPolicy:
        """How fresh a read on the read target must be (docs/service.md): never fall back to a stale answer."""
        if self.max_lag is None:
            return ReadPolicy(timeout=self.read_timeout)
        return ReadPolicy(read_your_writes=False, max_lag=self.max_lag, timeout=self.read_timeout)


def _number(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number, not {raw!r}") from exc


def read_tokens(value: str) -> tuple[Client, ...]:
    """The clients of ``DUALBOOK_SERVICE_TOKENS``: a path to a JSON file, or the JSON text itself."""
    text = value if value.lstrip().startswith("{") else Path(value).read_text()
    return load_clients(text)


def from_environment(database_url: str) -> Settings:
    tokens = os.environ.get(TOKENS, "")
    try:
        clients = read_tokens(tokens) if tokens else ()
    except OSError as exc:
        raise ConfigError(f"{TOKENS}: cannot read {tokens}: {exc.strerror}") from exc
    return Settings(
        database_url=database_url,
        clients=clients,
        auth=os.environ.get(AUTH, "on").lower() not in ("off", "0", "false", "no"),
        book=os.environ.get(BOOK) or "default",
        max_body=int(_number(MAX_BODY, 1_048_576)),
        timeout=_number(TIMEOUT, 10.0),
        pool_size=int(_number(POOL_SIZE, 16)),
        group_writers=int(_number(GROUP_WRITERS, 4)),
        group_max_entries=int(_number(GROUP_MAX_ENTRIES, 100)),
        read_url=os.environ.get(READ_URL, ""),
        max_lag=_number(MAX_LAG, -1.0) if os.environ.get(MAX_LAG) else None,
        read_timeout=_number(READ_TIMEOUT, 5.0),
    )
