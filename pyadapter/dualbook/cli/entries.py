"""`dualbook post` and `dualbook reverse`: write entries from options or a JSON document."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import click

from dualbook.calls import Balance, BalanceAssertion, Leg, PostResult
from dualbook.cli.common import (
    ENTRY_ID,
    handle_errors,
    json_object,
    ledger_options,
    open_ledger,
    parse_major,
)
from dualbook.cli.documents import read_document
from dualbook.cli.output import Col, amount, amount_fields, echo, echo_json, print_table
from dualbook.ledger import Ledger


# --- posting ------------------------------------------------------------------------------------------------
def _accounts(ledger: Ledger, codes: Sequence[str]) -> dict[str, Balance]:
    """Each account's state (currency and exponent), looked up once; an unknown account raises UnknownAccount."""
    found: dict[str, Balance] = {}
    for code in codes:
        if code not in found:
            found[code] = ledger.get_balance(code)
    return found


def _balances_json(ledger: Ledger, balances: Mapping[str, int], currencies: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for code in sorted(balances):
        currency = currencies[code]
        out[code] = {"currency": currency, **amount_fields("balance", balances[code], ledger.exponent(currency))}
    return out


def _print_balances(ledger: Ledger, balances: Mapping[str, int], currencies: Mapping[str, str]) -> None:
    print_table(
        [Col("Account"), Col("Balance after", right=True), Col("Currency")],
        [
            (code, amount(balances[code], ledger.exponent(currencies[code])), currencies[code])
            for code in sorted(balances)
        ],
    )


def _result_json(result: PostResult, key: str, book: str) -> dict[str, Any]:
    return {
        "book": book,
        "entry_id": result.entry_id,
        "key": key,
        "created": result.created,
        "replay": not result.created,
        "recorded_at": result.recorded_at,
        "attempts": result.attempts,
        "recovered": result.recovered,
    }


def _retry_note(result: PostResult) -> str:
    notes = []
    if result.attempts > 1:
        notes.append(f"after {result.attempts} attempts")
    if result.recovered:
        notes.append("the connection was lost during commit; the retry with the same key resolved it")
    return f" ({'; '.join(notes)})" if notes else ""


@click.command()
@click.option(
    "--debit",
    "debits",
    nargs=2,
    multiple=True,
    metavar="ACCOUNT AMOUNT",
    help="A debit leg; AMOUNT in major units of the account's currency. Repeatable.",
)
@click.option(
    "--credit",
    "credits",
    nargs=2,
    multiple=True,
    metavar="ACCOUNT AMOUNT",
    help="A credit leg; AMOUNT in major units of the account's currency. Repeatable.",
)
@click.option(
    "--file",
    "document",
    type=click.File("r"),
    default=None,
    metavar="PATH",
    help="Read the entry as a JSON document (amounts in minor units); '-' reads stdin.",
)
@click.option(
    "--batch",
    type=click.File("r"),
    default=None,
    metavar="PATH",
    help="Post many entries: one JSON document per line, each shaped like --file's; '-' reads stdin.",
)
@click.option("--atomic", is_flag=True, help="With --batch: all entries or none (default: each on its own).")
@click.option("--key", default=None, help="Idempotency key (default: a new 'cli:<uuid>', printed).")
@click.option("--description", default=None, help="Free text, up to 1000 characters.")
@click.option("--metadata", callback=json_object, default=None, metavar="JSON", help="A JSON object stored with it.")
@click.option(
    "--effective-date",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    metavar="YYYY-MM-DD",
    help="Accounting date (default: today, UTC).",
)
@click.option(
    "--assert",
    "asserts",
    nargs=3,
    multiple=True,
    metavar="ACCOUNT OP BALANCE",
    help="Refuse the entry unless ACCOUNT's balance after it is OP (=, >=, <=) BALANCE (major units). Repeatable.",
)
@ledger_options
@handle_errors
def post(
    debits: Sequence[tuple[str, str]],
    credits: Sequence[tuple[str, str]],
    document: IO[str] | None,
    batch: IO[str] | None,
    atomic: bool,
    key: str | None,
    description: str | None,
    metadata: dict[str, Any] | None,
    effective_date: datetime | None,
    asserts: Sequence[tuple[str, str, str]],
    book: str,
    datadir: Path | None,
    as_json: bool,
) -> None:
    """Post one balanced entry, all or nothing.

    Give the legs as --debit/--credit ACCOUNT AMOUNT, AMOUNT in major units of the account's currency
    (exact: '1.234' for a USD account is an error); legs are numbered debits first, then credits.
    Or give a JSON document with --file (amounts are integers of minor units, positive = debit,
    negative = credit); options given on the command line override the document's fields:

    \b
        {"key": "payment:8431",
         "legs": [{"account": "wallet:1", "amount": 1250, "currency": "USD"},
                  {"account": "merchant:7", "amount": -1250, "currency": "USD"}],
         "description": "order 8431", "metadata": {"order": 8431},
         "effective_date": "2026-11-26",
         "assertions": [{"account": "wallet:1", "op": ">=", "balance": 0}]}

    The idempotency key makes a retry safe: the same request with the same key writes nothing and is
    reported as a replay. Without --key a new key is generated and printed, so running the command again
    posts again.

    --batch FILE posts one entry per line of FILE (JSON lines, each shaped like a --file document) in
    batches of up to 1000 per transaction and prints one result per line: posted, replayed or rejected
    (with its error). Each entry posts or fails on its own; with --atomic all post or none does (at most
    1000 lines). Exit 0 when no entry was rejected, else the exit code of the first rejection (5 or 6).

    \b
    Example:
        dualbook post --key topup:1 --debit bank 100 --credit wallet:1 100 --description "card top-up"
        dualbook post --debit wallet:1 12.50 --credit merchant:7 12.25 --credit fees 0.25 \\
            --assert wallet:1 '>=' 0
        dualbook post --file payment.json --json
        echo '{"legs": [...]}' | dualbook post --file -
        dualbook post --batch import.jsonl --json
    """
    if batch is not None:
        if document is not None or debits or credits or asserts or key or description or metadata or effective_date:
            raise click.UsageError("--batch takes every field from its lines: give no legs, --file or entry options")
        from dualbook.cli.batches import post_batch

        post_batch(batch, atomic, book, datadir, as_json)
        return
    if atomic:
        raise click.UsageError("--atomic goes with --batch")
    if document is not None and (debits or credits):
        raise click.UsageError("give the legs either with --debit/--credit or in --file, not both")
    if document is None and not (debits or credits):
        raise click.UsageError("give the legs with --debit/--credit ACCOUNT AMOUNT, or a document with --file")
    doc = read_document(document) if document is not None else {}

    with open_ledger(datadir, book) as ledger:
        legs: list[Leg | Mapping[str, Any]]
        currencies: dict[str, str]
        if document is not None:
            legs = list(doc["legs"])
            currencies = {str(leg.get("account")): str(leg.get("currency")) for leg in doc["legs"]}
            accounts: dict[str, Balance] = {}
        else:
            given = [(acc, text, 1) for acc, text in debits] + [(acc, text, -1) for acc, text in credits]
            accounts = _accounts(ledger, [acc for acc, _, _ in given])
            legs = []
            for n, (acc, text, sign) in enumerate(given, start=1):
                b = accounts[acc]
                minor = parse_major(text, b.exponent, f"leg {n} ({acc})", {"account": acc, "leg": n})
                if minor <= 0:  # the option gives the direction: a sign would silently invert it
                    option = "--debit" if sign > 0 else "--credit"
                    raise click.BadParameter(
                        f"leg {n} ({acc}): the amount must be positive, got {text!r}; {option} gives the direction",
                        param_hint=f"'{option}'",
                    )
                legs.append(Leg(acc, sign * minor, b.currency))
            currencies = {acc: b.currency for acc, b in accounts.items()}

        assertions = [BalanceAssertion(**a) for a in doc.get("assertions") or []]
        if asserts:
            accounts.update(_accounts(ledger, [acc for acc, _, _ in asserts if acc not in accounts]))
            for n, (acc, op, text) in enumerate(asserts, start=1):
                expected = parse_major(text, accounts[acc].exponent, f"--assert {n} ({acc})", {"account": acc})
                assertions.append(BalanceAssertion(acc, op, expected))

        the_key: str | None = key if key is not None else doc.get("key")
        generated = the_key is None
        if the_key is None:
            the_key = f"cli:{uuid.uuid4()}"
        result = ledger.post_entry(
            the_key,
            legs,
            description=description if description is not None else doc.get("description"),
            metadata=metadata if metadata is not None else doc.get("metadata"),
            effective_date=effective_date.date() if effective_date is not None else doc.get("effective_date"),
            assertions=assertions or None,
        )
        if as_json:
            echo_json(
                {
                    **_result_json(result, the_key, book),
                    "key_generated": generated,
                    "balances": _balances_json(ledger, result.balances, currencies),
                }
            )
            return
        if result.created:
            how = " (generated: pass --key to make a retry safe)" if generated else ""
            echo(f"posted entry {result.entry_id} with key {the_key}{how}{_retry_note(result)}")
        else:
            echo(
                f"replay: key {the_key} was already posted as entry {result.entry_id}; "
                f"nothing was written{_retry_note(result)}"
            )
        _print_balances(ledger, result.balances, currencies)


@click.command()
@click.argument("entry_id", type=ENTRY_ID)
@click.option(
    "--key",
    default=None,
    help="Idempotency key of the reversal (default: 'cli:reverse:<ENTRY_ID>', so repeating the command is safe).",
)
@click.option("--reason", default=None, help="Why; stored in the reversal's description and metadata.")
@click.option(
    "--effective-date",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="The reversal's effective date (default: the original's, or the first open day if its period is closed).",
)
@ledger_options
@handle_errors
def reverse(
    entry_id: int,
    key: str | None,
    reason: str | None,
    effective_date: datetime | None,
    book: str,
    datadir: Path | None,
    as_json: bool,
) -> None:
    """Reverse an entry: post its mirror image, linked to it, at most once.

    Every amount is negated. The reversal is an ordinary posting: it obeys limits and closed accounts.
    Without --key the key is 'cli:reverse:<ENTRY_ID>', so running the same command again is a safe replay.
    It is dated on the original's effective date, or on the first open day if that period is closed.

    \b
    Example:
        dualbook reverse 42 --reason "duplicate charge"
    """
    the_key = key or f"cli:reverse:{entry_id}"
    with open_ledger(datadir, book) as ledger:
        result = ledger.reverse_entry(
            entry_id, the_key, reason=reason, effective_date=effective_date.date() if effective_date else None
        )
        currencies = {leg.account: leg.currency for leg in ledger.get_entry(result.entry_id).legs}
        if as_json:
            echo_json(
                {
                    **_result_json(result, the_key, book),
                    "reverses_entry_id": entry_id,
                    "balances": _balances_json(ledger, result.balances, currencies),
                }
            )
            return
        if result.created:
            echo(f"reversed entry {entry_id} with entry {result.entry_id} (key {the_key}){_retry_note(result)}")
        else:
            echo(
                f"replay: entry {entry_id} was already reversed by entry {result.entry_id} with key {the_key}; "
                f"nothing was written{_retry_note(result)}"
            )
        _print_balances(ledger, result.balances, currencies)
