-- Deploy dualbook:table_refusal to pg
-- requires: table_entry
-- requires: owner_ledger
-- A refusal that depends on the ledger's state (LD2xx: unknown or closed account, limit, assertion, ...) is
-- recorded with its idempotency key and the request's hash, in the transaction that refused it: a later call
-- with the same key and request gets the same refusal and never posts; the same key with another request is
-- LD205. A key is either an entry's (ledger_private.entry) or a refusal's, never both (docs/design.md §2.2).
-- Refusals are append-only like the journal.

BEGIN;

SET LOCAL ROLE dualbook_owner;

CREATE TABLE ledger_private.refusal (
    book_id         integer NOT NULL,
    idempotency_key text NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 255),
    request_hash    bytea NOT NULL CHECK (length(request_hash) = 32),
    sqlstate        text NOT NULL CHECK (sqlstate ~ '^LD2[0-9]{2}$'),
    message         text NOT NULL,
    detail          text NOT NULL,
    hint            text,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (book_id, idempotency_key)
);
COMMENT ON TABLE ledger_private.refusal IS
    'Recorded refusals (append-only): a key refused for a reason in the ledger''s state keeps that refusal.';

CREATE TRIGGER refusal_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON ledger_private.refusal
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_private.forbid_change('recorded refusals are append-only');

COMMIT;
