"""`dualbook sequencer`: fold the queued legs of deferred accounts into their balances."""

from __future__ import annotations

import time
from pathlib import Path

import click

from dualbook.cli.common import datadir_option, handle_errors, open_ledger


@click.command()
@datadir_option
@click.option(
    "--every",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    metavar="SECONDS",
    help="Keep running, one pass every SECONDS.",
)
@click.option("--max", "max_legs", type=click.IntRange(min=1), default=10_000, show_default=True, help="Legs per pass.")
@click.option("--passes", type=click.IntRange(min=1), default=None, help="With --every: stop after this many passes.")
@handle_errors
def sequencer(datadir: Path | None, every: float | None, max_legs: int, passes: int | None) -> None:
    """Fold queued legs of deferred accounts into their balances and statements.

    Balances of deferred accounts are exact without it (stored + queued); a pass gives queued legs their
    account sequence number and running balance. Without --every, drains the queue and exits. Connects as
    dualbook_sequencer (DUALBOOK_SEQUENCER_URL, default DATABASE_URL).

    \b
    Example:
        dualbook sequencer                 # drain the queue once
        dualbook sequencer --every 0.2     # keep folding, five passes a second
    """
    if passes is not None and every is None:
        raise click.UsageError("--passes needs --every")
    with open_ledger(datadir, "default", "sequencer") as ledger:
        if every is None:
            total = ledger.drain_deferred(max_legs)
            click.echo(f"sequenced {total} leg(s); the queue is empty")
            return
        done = 0
        while passes is None or done < passes:
            n = ledger.sequence_deferred(max_legs)
            done += 1
            if n is None:
                click.echo("another sequencer holds the lock; waiting")
            elif n:
                click.echo(f"sequenced {n} leg(s)")
            if n is None or n < max_legs:
                time.sleep(every)
