"""The JSON endpoints under ``/v1``. Each handler turns its request into one call of the async client and its
result into the response model; the ledger's rules and errors are the database's (docs/service.md)."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Annotated, Any, TypeVar

import psycopg
from fastapi import APIRouter, Header, Path, Query, Request, Response
from psycopg.rows import class_row
from pydantic import ValidationError
from starlette.datastructures import QueryParams
from starlette.types import Scope

from dualbook import calls, errors
from dualbook.aio import AsyncLedger
from dualbook.calls import AccountRow, BatchResult, Call, EntryRequest, PostResult
from dualbook.service import metrics
from dualbook.service.models import (
    AccountClosedOut,
    AccountCreatedOut,
    AccountIn,
    AccountOut,
    AccountPageOut,
    BalanceOut,
    BatchIn,
    BatchItemOut,
    BatchOut,
    EntryIn,
    EntryOut,
    ErrorOut,
    OutcomeOut,
    PostedOut,
    ReversalIn,
    SnapshotOut,
    TrialBalanceOut,
    TrialBalanceRowOut,
)
from dualbook.service.problems import Problem, from_database_error, from_ledger_error, invalid_request
from dualbook.service.settings import Settings

T = TypeVar("T")
#: a response the service's front sends itself: status, headers, body
Answer = tuple[int, list[tuple[bytes, bytes]], bytes]
MAX_ID = 2**63 - 1
REPLAY_HEADER = "Idempotent-Replayed"
MISSING_KEY = {"type": "missing", "loc": ("header", "Idempotency-Key"), "msg": "Field required"}

# --- authentication -----------------------------------------------------------------------------------------


def authorize(request: Request, scope: str) -> None:
    """403 unless the request's client holds ``scope``. The middleware authenticated the token already (401
    before anything else); each handler calls this first -- a plain call, as a FastAPI dependency would cost a
    second round of dependency resolution per request (the OpenAPI document declares the bearer scheme)."""
    authorize_state(request.scope["state"], scope)


def authorize_state(state: dict[str, Any], scope: str) -> None:
    """:func:`authorize` on a request's ASGI state."""
    scopes = state.get("scopes")
    if scopes is not None and scope not in scopes:
        raise Problem(403, "forbidden", "Forbidden", f"client {state.get('client')!r} lacks the {scope!r} scope")


IdempotencyKey = Annotated[
    str, Header(alias="Idempotency-Key", min_length=1, description="the entry's idempotency key (required)")
]
Book = Annotated[str | None, Query(description="the book (default: the service's DUALBOOK_BOOK)")]
EntryId = Annotated[int, Path(ge=1, le=MAX_ID)]


def ledger_of(request: Request) -> AsyncLedger:
    ledger: AsyncLedger = request.app.state.ledger
    return ledger


def book_of(request: Request, book: str | None) -> str:
    settings: Settings = request.app.state.settings
    return book if book is not None else settings.book


async def call(work: Awaitable[T], not_found: frozenset[str] = frozenset()) -> T:
    """Await one client call; its errors become problems (a refusal is counted by code)."""
    try:
        return await work
    except errors.LedgerError as exc:
        problem = from_ledger_error(exc, not_found)
        metrics.refused(problem.code)
        raise problem from exc
    except psycopg.Error as exc:
        raise from_database_error(exc) from exc


def posted_body(result: PostResult, key: str) -> bytes:
    """The posted entry's body: the same bytes for the request that posted it and for every replay of its key
    (serialised here: the route's response model documents it, and the framework passes a finished response
    through without validating it again)."""
    out = PostedOut(
        entry_id=result.entry_id, idempotency_key=key, recorded_at=result.recorded_at, balances=result.balances
    )
    return out.model_dump_json().encode()


_JSON = b"application/json"


def posted_answer(result: PostResult, key: str, kind: str) -> Answer:
    """Status, headers and body of a posted entry: 201, or 200 with ``Idempotent-Replayed: true`` on a replay (the
    headers in the order a framework response has them)."""
    body = posted_body(result, key)
    length = (b"content-length", str(len(body)).encode())
    if result.created:
        metrics.posted(kind)
        return 201, [length, (b"content-type", _JSON)], body
    metrics.replayed(kind)
    return 200, [(b"idempotent-replayed", b"true"), length, (b"content-type", _JSON)], body


def _posted(result: PostResult, key: str, kind: str) -> Response:
    return _answer(posted_answer(result, key, kind))


def _answer(answer: Answer) -> Response:
    status, headers, body = answer
    response = Response(body, status_code=status)
    response.raw_headers = headers
    return response


def _error(code: str | None, message: str | None, detail: str | None) -> ErrorOut | None:
    if code is None:
        return None
    cls = errors.lookup(code)
    return ErrorOut(code=code, name=cls.name if cls else None, message=message, detail=detail)


_REPLAY_DOC = {REPLAY_HEADER: {"description": "`true`: an earlier request with this key posted the entry"}}
POSTED = {
    200: {"description": "a replay: the key's entry, the same body as when it was posted", "headers": _REPLAY_DOC},
    201: {"description": "posted now"},
}

router = APIRouter(prefix="/v1")


# --- entries ------------------------------------------------------------------------------------------------


#: declarations only (never mounted): how the OpenAPI document describes the routes whose handlers read the
#: request themselves. The contract test holds each pair together.
declared = APIRouter(prefix="/v1")


@declared.post("/entries", status_code=201, response_model=PostedOut, responses=POSTED, tags=["entries"])  # type: ignore[arg-type]
async def post_entry(body: EntryIn, idempotency_key: IdempotencyKey, book: Book = None) -> Response:
    """Post one entry. The same key with the same entry replays it (200, the same body, `Idempotent-Replayed`);
    the same key with another entry is a 409 (LD205)."""
    raise NotImplementedError  # declared only: the service's front serves it (post_entry_fast below)


def _first_header(scope: Scope, name: bytes) -> str | None:
    """A request header's first value (as the framework's ``request.headers.get``)."""
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


async def post_entry_fast(ledger: AsyncLedger, book: str, scope: Scope, body: bytes) -> Answer:
    """``POST /v1/entries`` as the service's front answers it, outside the framework's routing and parameter
    resolution (the largest share of a request's CPU): the same checks and errors as the declaration above --
    the post scope, pydantic's validation of the body with :class:`EntryIn`, the key header -- and the body
    built once. ``book``: the service's default book."""
    authorize_state(scope["state"], "post")
    key = _first_header(scope, b"idempotency-key")
    try:
        entry = EntryIn.model_validate_json(body)
    except ValidationError as exc:
        found: list[Any] = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        if not key:
            found.insert(0, MISSING_KEY)
        raise invalid(found) from exc
    if not key:
        raise invalid([MISSING_KEY])
    if scope["query_string"]:
        book = QueryParams(scope["query_string"]).get("book", book)
    result = await call(
        ledger.post_entry(
            key,
            [{"account": leg.account, "amount": leg.amount, "currency": leg.currency} for leg in entry.legs],
            description=entry.description,
            metadata=entry.metadata,
            effective_date=entry.effective_date,
            assertions=[a.model_dump() for a in entry.assertions] if entry.assertions is not None else None,
            book=book,
        )
    )
    return posted_answer(result, key, "entry")


@router.post("/entries", include_in_schema=False)
async def post_entry_routed(request: Request) -> Response:
    """The route the framework's router knows (so other methods get its 405 with ``Allow``, ``/v1/entries/`` its
    redirect); the service's front answers ``POST /v1/entries`` before the router sees it."""
    body = await request.body()
    return _answer(await post_entry_fast(ledger_of(request), book_of(request, None), request.scope, body))


def invalid(found: list[Any]) -> Problem:
    metrics.refused("invalid_request")
    return invalid_request(found)


@router.post("/batches", response_model=BatchOut, tags=["entries"])
async def post_batch(request: Request, body: BatchIn, book: Book = None) -> BatchOut:
    """Post many entries in one transaction: one result per entry, in order (posted, replayed, refused or
    rejected, with its error). With `atomic`, the first refusal fails the whole batch and nothing posts."""
    authorize(request, "post")
    entries = [
        EntryRequest(
            e.key,
            [leg.model_dump() for leg in e.legs],
            e.description,
            e.metadata,
            e.effective_date,
            [a.model_dump() for a in e.assertions] if e.assertions is not None else None,
        )
        for e in body.entries
    ]
    results: list[BatchResult] = await call(
        ledger_of(request).post_entries(entries, atomic=body.atomic, book=book_of(request, book))
    )
    for r in results:
        if r.status == "posted":
            metrics.posted("batch")
        elif r.status == "replayed":
            metrics.replayed("batch")
        elif r.error_code:
            metrics.refused(r.error_code)
    return BatchOut(
        results=[
            BatchItemOut(
                idx=r.idx,
                key=entries[r.idx - 1].key,
                status=r.status,  # type: ignore[arg-type]
                entry_id=r.entry_id,
                recorded_at=r.recorded_at,
                balances=r.balances,
                error=_error(r.error_code, r.error_message, r.error_detail),
            )
            for r in results
        ]
    )


@router.get("/entries/by-key", response_model=EntryOut, tags=["entries"])
async def entry_by_key(request: Request, key: Annotated[str, Query(min_length=1)], book: Book = None) -> EntryOut:
    """The entry posted with an idempotency key (404 when no entry has it: see /v1/outcomes)."""
    authorize(request, "read")
    entry = await call(
        ledger_of(request).get_entry(key=key, book=book_of(request, book)), frozenset({"LD208", "LD210"})
    )
    return EntryOut.model_validate(entry, from_attributes=True)


@router.get("/entries/{entry_id}", response_model=EntryOut, tags=["entries"])
async def entry(request: Request, entry_id: EntryId, book: Book = None) -> EntryOut:
    """An entry and its legs."""
    authorize(request, "read")
    found = await call(
        ledger_of(request).get_entry(entry_id, book=book_of(request, book)), frozenset({"LD208", "LD210"})
    )
    return EntryOut.model_validate(found, from_attributes=True)


@router.post(
    "/entries/{entry_id}/reversal",
    status_code=201,
    response_model=PostedOut,
    responses=POSTED,  # type: ignore[arg-type]
    tags=["entries"],
)
async def reverse(
    request: Request,
    entry_id: EntryId,
    idempotency_key: IdempotencyKey,
    body: ReversalIn | None = None,
    book: Book = None,
) -> Response:
    """Post the mirror of an entry, at most once (LD209 when it is reversed already); idempotent by key. Its
    `effective_date` may be given (409 LD214 on or before the book's close date)."""
    authorize(request, "post")
    reason = body.reason if body is not None else None
    effective = body.effective_date if body is not None else None
    ledger = ledger_of(request)
    result = await call(
        ledger.reverse_entry(
            entry_id, idempotency_key, reason=reason, book=book_of(request, book), effective_date=effective
        ),
        frozenset({"LD208", "LD210"}),
    )
    return _posted(result, idempotency_key, "reversal")


@router.get("/outcomes", response_model=OutcomeOut, tags=["entries"])
async def outcome(request: Request, key: Annotated[str, Query(min_length=1)], book: Book = None) -> OutcomeOut:
    """What became of an idempotency key: posted (its entry), refused (the recorded refusal) or unknown."""
    authorize(request, "read")
    o = await call(ledger_of(request).get_outcome(key, book=book_of(request, book)), frozenset({"LD210"}))
    return OutcomeOut(
        key=key,
        status=o.status,  # type: ignore[arg-type]
        entry_id=o.entry_id,
        recorded_at=o.recorded_at,
        error=_error(o.error_code, o.error_message, o.error_detail),
    )


# --- accounts -----------------------------------------------------------------------------------------------

_ACCOUNT_COLS = (
    "SELECT book, account_id, code, currency, type, status, balance, postings, lower_limit, upper_limit, "
    "deferred, queued FROM ledger.accounts WHERE book = %s"
)


def _account_page(book: str, prefix: str, after: str | None, limit: int) -> Call[list[AccountRow]]:
    """One page of the accounts view in code order, after the code ``after`` (keyset pagination)."""
    like = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    sql = _ACCOUNT_COLS + " AND code LIKE %s" + (" AND code > %s" if after is not None else "")
    params: tuple[Any, ...] = (book, like, after, limit) if after is not None else (book, like, limit)
    return Call(
        sql + " ORDER BY code LIMIT %s", params, lambda rows: rows, write=False, row_factory=class_row(AccountRow)
    )


def _account(book: str, code: str) -> Call[list[AccountRow]]:
    sql = _ACCOUNT_COLS + " AND code = normalize(%s, NFC)"
    return Call(sql, (book, code), lambda rows: rows, write=False, row_factory=class_row(AccountRow))


@router.post(
    "/accounts",
    status_code=201,
    response_model=AccountCreatedOut,
    responses={200: {"description": "the account exists with the same attributes: nothing changed"}},
    tags=["accounts"],
)
async def create_account(request: Request, response: Response, body: AccountIn, book: Book = None) -> AccountCreatedOut:
    """Open an account (admin scope). The same request again changes nothing (200)."""
    authorize(request, "admin")
    result = await call(
        ledger_of(request).create_account(
            body.code,
            body.currency,
            body.type,
            lower_limit=body.lower_limit,
            upper_limit=body.upper_limit,
            metadata=body.metadata,
            book=book_of(request, book),
            deferred=body.deferred,
        )
    )
    response.status_code = 201 if result.created else 200
    return AccountCreatedOut(account_id=result.account_id, code=body.code, created=result.created)


@router.get("/accounts", response_model=AccountPageOut, tags=["accounts"])
async def list_accounts(
    request: Request,
    prefix: Annotated[str, Query(max_length=200)] = "",
    after: Annotated[str | None, Query(max_length=200, description="the last code of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    book: Book = None,
) -> AccountPageOut:
    """Accounts in code order, a page at a time: pass the page's `next_after` as `after` for the next one."""
    authorize(request, "read")
    ledger = ledger_of(request)
    rows = await call(ledger.report(_account_page(book_of(request, book), prefix, after, limit + 1)))
    page = rows[:limit]
    return AccountPageOut(
        items=[AccountOut(**vars(r)) for r in page], next_after=page[-1].code if len(rows) > limit else None
    )


@router.get("/accounts/{code:path}", response_model=AccountOut, tags=["accounts"])
async def show_account(request: Request, code: str, book: Book = None) -> AccountOut:
    """One account: its balance, postings, limits, and for a deferred account its queued legs."""
    authorize(request, "read")
    rows = await call(ledger_of(request).report(_account(book_of(request, book), code)))
    if not rows:
        raise Problem(404, "LD201", "Not found", f"no account {code!r} in book {book_of(request, book)!r}")
    return AccountOut(**vars(rows[0]))


@router.post("/accounts/{code:path}/close", response_model=AccountClosedOut, tags=["accounts"])
async def close_account(request: Request, code: str, book: Book = None) -> AccountClosedOut:
    """Close an account at a zero balance (admin scope; LD207 otherwise); no leg may name it afterwards."""
    authorize(request, "admin")
    closed_at = await call(
        ledger_of(request).close_account(code, book=book_of(request, book)), frozenset({"LD201", "LD210"})
    )
    return AccountClosedOut(code=code, closed_at=closed_at)


@router.get("/balances/{code:path}", response_model=BalanceOut, tags=["accounts"])
async def balance(request: Request, code: str, book: Book = None) -> BalanceOut:
    """An account's posted balance now (normal balance, minor units) and its sequence number."""
    authorize(request, "read")
    found = await call(ledger_of(request).get_balance(code, book=book_of(request, book)), frozenset({"LD201", "LD210"}))
    return BalanceOut.model_validate(found, from_attributes=True)


@router.get("/trial-balance", response_model=TrialBalanceOut, tags=["reports"])
async def trial_balance(request: Request, book: Book = None) -> TrialBalanceOut:
    """Debits, credits and net per currency over everything posted now (net is 0 in balanced books); by
    effective date: /v1/reports/trial-balance."""
    authorize(request, "read")
    name = book_of(request, book)
    rows, snap = await call(ledger_of(request).read(calls.trial_balance(book=name)))
    return TrialBalanceOut(
        book=name,
        currencies=[TrialBalanceRowOut(currency=c, debits=d, credits=k, net=n) for c, d, k, n in rows],
        snapshot=SnapshotOut.of(snap),
    )
