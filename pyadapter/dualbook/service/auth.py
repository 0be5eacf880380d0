"""Bearer tokens per client, from configuration: each client has a name, the SHA-256 of its token (never the
token itself: a token is 256 random bits, so a fast hash is enough to make the file useless to a reader) and its
scopes. A presented token is hashed and compared with every client's digest in constant time
(:func:`hmac.compare_digest`, no early exit), so neither the match nor its position leaks through timing.

Scopes: ``post`` (entries, reversals, batches), ``read`` (every GET under /v1), ``admin`` (the chart of accounts:
create and close accounts). A token holds the scopes it lists, nothing implied.

The tokens file::

    {"clients": [{"name": "payments", "sha256": "<64 hex digits>", "scopes": ["post", "read"]}]}
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Any

from dualbook.errors import ConfigError

SCOPES = ("post", "read", "admin")
TOKEN_PREFIX = "dbk_"


@dataclass(frozen=True)
class Client:
    name: str
    digest: bytes
    scopes: frozenset[str]


def hash_token(token: str) -> str:
    """The SHA-256 of a token, as the tokens file stores it (hex)."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """A fresh random token (256 bits)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def client_entry(name: str, token: str, scopes: list[str]) -> dict[str, Any]:
    return {"name": name, "sha256": hash_token(token), "scopes": sorted(set(scopes))}


def load_clients(text: str) -> tuple[Client, ...]:
    try:
        doc = json.loads(text)
        items = doc["clients"]
        clients = []
        for item in items:
            scopes = frozenset(item["scopes"])
            if not scopes <= set(SCOPES):
                raise ConfigError(f"client {item['name']!r}: unknown scopes {sorted(scopes - set(SCOPES))}")
            digest = bytes.fromhex(item["sha256"])
            if len(digest) != 32:
                raise ConfigError(f"client {item['name']!r}: sha256 must be 64 hex digits")
            clients.append(Client(str(item["name"]), digest, scopes))
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"the tokens file is not valid: {exc!r} (want {{'clients': [...]}}, docs/deploy.md)") from exc
    return tuple(clients)


def authenticate(clients: tuple[Client, ...], authorization: str | None) -> Client | None:
    """The client whose token the ``Authorization: Bearer`` header carries, or None."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    digest = hashlib.sha256(token.strip().encode("utf-8", "surrogateescape")).digest()
    found: Client | None = None
    for client in clients:  # every digest compared: the time does not depend on which one matches
        if hmac.compare_digest(client.digest, digest):
            found = client
    return found
