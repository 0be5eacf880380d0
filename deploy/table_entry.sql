-- Deploy dualbook:table_entry to pg
-- requires: table_book
-- A journal entry's header. The idempotency key is unique per book: post_entry inserts with
-- ON CONFLICT DO NOTHING, so the unique index (not a read) detects a replay. request_hash is the SHA-256 of the
-- canonical request, compared on replay to tell a replay from a key reused with a different payload.
-- recorded_at is the transaction's timestamp; effective_date is the value date chosen by the caller.

BEGIN;

CREATE TABLE ledger_private.entry (
    book_id           integer NOT NULL,
    entry_id          bigint GENERATED ALWAYS AS IDENTITY,
    idempotency_key   text NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 255),
    request_hash      bytea NOT NULL CHECK (length(request_hash) = 32),
    description       text CHECK (length(description) <= 1000),
    metadata          jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
    effective_date    date NOT NULL,
    recorded_at       timestamptz NOT NULL DEFAULT now(),
    reverses_entry_id bigint,
    PRIMARY KEY (book_id, entry_id),
    UNIQUE (book_id, idempotency_key)
);
-- An entry is reversed at most once; partial, so ordinary entries pay nothing for it.
CREATE UNIQUE INDEX entry_reverses_once ON ledger_private.entry (book_id, reverses_entry_id)
    WHERE reverses_entry_id IS NOT NULL;

COMMENT ON TABLE ledger_private.entry IS 'Journal entry headers (append-only). Entry ids may have gaps.';

COMMIT;
