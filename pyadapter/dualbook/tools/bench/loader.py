"""P5's loader: the journal bulk-loaded through ``ledger.post_entries()`` to ``--scale-postings`` postings, from
``--loader-connections`` connections, each posting batches of 1,000 entries between 100 consecutive accounts of
its own slice (so that concurrent batches do not conflict), the window moving on with every batch."""

from __future__ import annotations

import random
import threading
import time
from typing import Any

import psycopg

from dualbook.tools.bench import pgbench as benchsql
from dualbook.tools.bench.pgbench import BenchError
from dualbook.tools.bench.results import LOADER_BATCH, LOADER_SPAN, BenchOptions, Progress
from dualbook.tools.bench.server import journal_size, serializable_connection


def load_journal(conninfo: str, prefix: str, opts: BenchOptions, run_tag: str, progress: Progress) -> dict[str, Any]:
    target_postings = opts.scale_postings
    """Bulk-load the journal through ledger.post_entries until it holds ``target_postings`` postings."""
    entries0, postings0 = journal_size(conninfo)
    missing = max(0, target_postings - postings0)
    todo = (missing + 1) // 2  # 2-leg entries
    conns = max(1, min(opts.loader_connections, opts.accounts // 2))
    progress(
        f"[P5] loading the journal from {postings0:,} to {target_postings:,} postings: {todo:,} 2-leg entries "
        f"through ledger.post_entries, batches of {LOADER_BATCH} over {LOADER_SPAN} accounts, "
        f"{conns} connections ..."
    )
    if todo == 0:
        return {"loaded_entries": 0, "load_s": 0.0, "journal_postings": postings0}
    batches = [LOADER_BATCH] * (todo // LOADER_BATCH) + ([todo % LOADER_BATCH] if todo % LOADER_BATCH else [])
    lock = threading.Lock()
    state = {"next": 0, "done": 0, "retries": 0, "rejected": 0}
    errors: list[BaseException] = []
    started = time.monotonic()
    sql = (benchsql.bench_dir() / "load_entries.sql").read_bytes()

    def take() -> tuple[int, int] | None:
        with lock:
            if errors or state["next"] >= len(batches):
                return None
            state["next"] += 1
            return state["next"], batches[state["next"] - 1]

    def work(t: int) -> None:
        # Each connection on its own slice of the accounts, and each batch on a window of LOADER_SPAN
        # consecutive accounts of it that moves on with every batch: concurrent batches share no account row,
        # and one batch's SIREAD locks stay a few pages of the account table instead of being promoted to a
        # lock on the whole relation (which made every batch of random accounts conflict with the other
        # connection's). Over the load every account gets about the same number of postings.
        lo0 = 1 + t * opts.accounts // conns
        size = (t + 1) * opts.accounts // conns - lo0 + 1
        span = min(size, LOADER_SPAN)
        k = 0
        try:
            with serializable_connection(conninfo) as conn:
                while (job := take()) is not None:
                    number, entries = job
                    params = {
                        "prefix": prefix,
                        "width": benchsql.code_width(opts.accounts),
                        "key": f"{run_tag}-load:{number}:",
                        "n": entries,
                        "lo": lo0 + (k * span) % (size - span + 1),
                        "span": span,
                    }
                    k += 1
                    for attempt in range(1, 21):
                        try:
                            with conn.transaction():
                                row = conn.execute(sql, params).fetchone()
                            break
                        except psycopg.errors.SerializationFailure:
                            with lock:
                                state["retries"] += 1
                            if attempt == 20:
                                raise
                            time.sleep(random.uniform(0, 0.05))
                    with lock:
                        state["done"] += entries
                        state["rejected"] += int(row[0]) if row is not None else 0
        except BaseException as exc:
            with lock:
                errors.append(exc)

    workers = [threading.Thread(target=work, args=(t,), daemon=True) for t in range(conns)]
    for w in workers:
        w.start()
    last = 0.0
    while any(w.is_alive() for w in workers):
        for w in workers:
            w.join(timeout=0.5)
        now = time.monotonic()
        if now - last >= 5.0:
            last = now
            with lock:
                done = state["done"]
            rate = done / max(now - started, 1e-9)
            eta = (todo - done) / rate if rate > 0 else float("inf")
            progress(
                f"    loaded {done:,}/{todo:,} entries ({postings0 + 2 * done:,} postings), "
                f"{rate:,.0f} entries/s, {state['retries']} batch retries, ETA {eta:,.0f} s"
            )
    if errors:
        raise BenchError(f"the P5 loader failed: {errors[0]}")
    if state["rejected"]:
        raise BenchError(f"the P5 loader had {state['rejected']} entries rejected by post_entries")
    took = time.monotonic() - started
    progress("    VACUUM (ANALYZE) and CHECKPOINT after the load ...")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) ledger_private.account, ledger_private.entry, ledger_private.posting")
    benchsql.checkpoint(conninfo)
    entries1, postings1 = journal_size(conninfo)
    progress(
        f"    loaded {entries1 - entries0:,} entries in {took:,.1f} s ({(entries1 - entries0) / took:,.0f}/s); "
        f"the journal holds {entries1:,} entries, {postings1:,} postings"
    )
    return {
        "loaded_entries": entries1 - entries0,
        "load_s": round(took, 1),
        "load_entries_per_s": round((entries1 - entries0) / took, 1),
        "load_batch_retries": state["retries"],
        "loader_connections": conns,
        "journal_postings": postings1,
        "journal_entries": entries1,
    }
