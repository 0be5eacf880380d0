"""`dualbook sequencer`: fold the queued legs of deferred accounts into their balances."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from dualbook.cli.common import BUSY_HINT, EXIT_BUSY, datadir_option, handle_errors, open_ledger
from dualbook.errors import WorkerBusy
from dualbook.ledger import Ledger

#: How often a drain asks again while another run holds the sequencer's lock.
POLL_SECONDS = 0.05


def drain(ledger: Ledger, max_legs: int, wait: float) -> tuple[int, bool]:
    """Drain the queue (:meth:`Ledger.drain_deferred`), waiting at most ``wait`` seconds in all for another run
    that holds the lock. Returns (legs folded, whether the queue was drained)."""
    try:
        return ledger.drain_deferred(max_legs, POLL_SECONDS, timeout=wait), True
    except WorkerBusy as busy:
        return int(busy.context.get("folded", 0)), False


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
@click.option(
    "--wait",
    type=click.FloatRange(min=0, max=3600),
    default=10.0,
    show_default=True,
    metavar="SECONDS",
    help="Without --every: how long to wait for another run that holds the sequencer's lock before giving up.",
)
@handle_errors
def sequencer(datadir: Path | None, every: float | None, max_legs: int, passes: int | None, wait: float) -> None:
    """Fold queued legs of deferred accounts into their balances and statements.

    Balances of deferred accounts are exact without it (stored + queued); a pass gives queued legs their
    account sequence number and running balance. Without --every, drains the queue and exits; if another
    run holds the sequencer's lock for longer than --wait, it reports it and exits 8 (busy). Connects as
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
            total, drained = drain(ledger, max_legs, wait)
            if drained:
                click.echo(f"sequenced {total} leg(s); the queue is empty")
                return
            click.echo(
                f"dualbook: busy: another sequencer has held the lock for {wait:g} s; sequenced {total} leg(s), "
                f"the queue may not be empty {BUSY_HINT}",
                err=True,
            )
            sys.exit(EXIT_BUSY)
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
