"""`make demo`: the main job, end to end, on the embedded cluster or DATABASE_URL."""

from __future__ import annotations

from pathlib import Path

import click

from dualbook import migrate
from dualbook.config import check_connect, resolve


def run_demo(datadir: Path | None) -> None:
    target = resolve(datadir, start=True)
    check_connect(target)
    where = f"embedded cluster at {target.embedded.datadir}" if target.embedded else "DATABASE_URL"
    click.echo(f"demo: database {target.display} ({where})")
    click.echo("demo: deploying the ledger schema with sqitch (verified)")
    migrate.deploy(target.url)
    click.echo("demo: deployed changes:")
    migrate.status(target.url)
    if target.embedded is not None:
        click.echo(f"demo: the cluster keeps running (data: {target.embedded.datadir})")
        click.echo("demo: stop it with '.venv/bin/dualbook db stop'")
