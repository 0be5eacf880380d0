"""`dualbook serve` (the HTTP service) and `dualbook service-token` (a client's token for it)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import click

from dualbook.cli.common import datadir_option, handle_errors
from dualbook.db.config import resolve
from dualbook.errors import ConfigError

SCOPES = ("post", "read", "admin")


@click.command()
@datadir_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every one).")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True, help="TCP port.")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True, help="Worker processes.")
@click.option(
    "--tokens",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    default=None,
    envvar="DUALBOOK_SERVICE_TOKENS",
    show_envvar=True,
    help="The clients' tokens file (JSON: name, sha256 of the token, scopes).",
)
@click.option("--no-auth", is_flag=True, help="No authentication (a development service on loopback only).")
@click.option(
    "--max-body",
    type=click.IntRange(min=1024),
    default=1_048_576,
    show_default=True,
    envvar="DUALBOOK_SERVICE_MAX_BODY",
    help="Largest request body in bytes (413 beyond).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=10.0,
    show_default=True,
    envvar="DUALBOOK_SERVICE_TIMEOUT",
    help="Seconds a request may take (503 beyond).",
)
@click.option(
    "--pool-size",
    type=click.IntRange(min=2),
    default=16,
    show_default=True,
    envvar="DUALBOOK_SERVICE_POOL_SIZE",
    help="Database connections per worker process.",
)
@click.option(
    "--read-url",
    default=None,
    envvar="DUALBOOK_READ_URL",
    show_envvar=True,
    help="The read target (a streaming replica): reads and reports go there, writes to the primary.",
)
@click.option(
    "--max-lag",
    type=click.FloatRange(min=0),
    default=None,
    envvar="DUALBOOK_MAX_LAG",
    show_envvar=True,
    help="With --read-url: the most seconds the replica may be behind (default: it must have replayed every "
    "commit the primary had when the read started).",
)
@click.option(
    "--read-timeout",
    type=click.FloatRange(min=0),
    default=5.0,
    show_default=True,
    envvar="DUALBOOK_SERVICE_READ_TIMEOUT",
    help="With --read-url: seconds a read waits for the replica to catch up or answer (503 beyond).",
)
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]), default="info")
@click.option("--openapi", is_flag=True, help="Print the OpenAPI document (docs/openapi.json) and exit.")
@handle_errors
def serve(
    datadir: Path | None,
    host: str,
    port: int,
    workers: int,
    tokens: Path | None,
    no_auth: bool,
    max_body: int,
    timeout: float,
    pool_size: int,
    read_url: str | None,
    max_lag: float | None,
    read_timeout: float,
    log_level: str,
    openapi: bool,
) -> None:
    """Serve the ledger over HTTP (JSON under /v1; /healthz, /readyz, /metrics).

    Connects as the application role (DATABASE_URL, else the embedded cluster); with --read-url, reads and
    reports go to that replica (each report says which server and WAL position it reflects). Each worker process
    runs its own connection pool and group poster. Logs are JSON lines on stdout. See docs/service.md and
    docs/deploy.md.

    \b
    Example:
        dualbook service-token payments --scope post --scope read > tokens.json
        dualbook serve --tokens tokens.json --port 8080 --workers 2
        curl -H 'Authorization: Bearer …' localhost:8080/v1/balances/wallet:1
    """
    try:
        import uvicorn

        import dualbook.service.app  # noqa: F401  (fails here, not in a worker, when the extra is missing)
    except ImportError as exc:
        raise ConfigError(f"the service needs its dependencies: pip install 'dualbook[service]' ({exc})") from exc
    if openapi:
        from dualbook.service.app import openapi_json

        click.echo(openapi_json(), nl=False)
        return
    target = resolve(datadir)
    os.environ["DUALBOOK_SERVICE_DATABASE_URL"] = target.url
    if tokens is not None:
        os.environ["DUALBOOK_SERVICE_TOKENS"] = str(tokens.resolve())
    elif not no_auth:
        raise click.UsageError("give --tokens FILE (or DUALBOOK_SERVICE_TOKENS), or --no-auth for development")
    os.environ["DUALBOOK_SERVICE_AUTH"] = "off" if no_auth else "on"
    os.environ["DUALBOOK_SERVICE_MAX_BODY"] = str(max_body)
    os.environ["DUALBOOK_SERVICE_TIMEOUT"] = str(timeout)
    os.environ["DUALBOOK_SERVICE_POOL_SIZE"] = str(pool_size)
    os.environ["DUALBOOK_LOG_LEVEL"] = log_level
    root = click.get_current_context().find_root().params  # `dualbook --read-url URL --max-lag S serve` too
    read_url = read_url or root.get("read_url")
    max_lag = max_lag if max_lag is not None else root.get("max_lag")
    os.environ["DUALBOOK_SERVICE_READ_URL"] = read_url or ""
    os.environ["DUALBOOK_SERVICE_MAX_LAG"] = "" if max_lag is None else str(max_lag)
    os.environ["DUALBOOK_SERVICE_READ_TIMEOUT"] = str(read_timeout)
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="dualbook-metrics-")
    uvicorn.run(
        "dualbook.service.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="auto",
        http="auto",
        access_log=False,
        log_level=log_level,
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=max(int(timeout), 1),
    )


@click.command("service-token")
@click.argument("name")
@click.option("--scope", "scopes", type=click.Choice(SCOPES), multiple=True, required=True, help="Repeatable.")
@click.option(
    "--add-to",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Add the client to this tokens file (created if missing) instead of printing the whole file.",
)
def service_token(name: str, scopes: tuple[str, ...], add_to: Path | None) -> None:
    """Make a token for a client of the service.

    Prints the token once on stderr (give it to the client; it is not stored) and the tokens file on stdout
    (only the token's SHA-256 is in it).

    \b
    Example:
        dualbook service-token payments --scope post --scope read --add-to tokens.json
    """
    from dualbook.service.auth import client_entry, new_token

    token = new_token()
    entry = client_entry(name, token, list(scopes))
    if add_to is not None:
        doc = json.loads(add_to.read_text()) if add_to.exists() else {"clients": []}
        doc["clients"] = [c for c in doc["clients"] if c.get("name") != name] + [entry]
        add_to.write_text(json.dumps(doc, indent=2) + "\n")
    else:
        click.echo(json.dumps({"clients": [entry]}, indent=2))
    click.echo(f"token for {name}: {token}", err=True)
