-- Deploy dualbook:table_deferred_queue to pg
-- requires: table_posting_deferred
-- requires: table_account_deferred
-- requires: trigger_append_only
-- deferred_leg: the queue of legs posted to deferred accounts and not yet folded into their balance. post_entry
--   only INSERTs here (no read, so no predicate lock that a concurrent posting could conflict with); the
--   sequencer DELETEs what it folds. It is a work queue, not history: the legs themselves are in posting.
-- deferred_sequence: for each folded leg, the account sequence number and running balance the sequencer
--   assigned (in the order it folded them). Append-only, like the journal.

BEGIN;

CREATE TABLE ledger_private.deferred_leg (
    queue_id   bigint GENERATED ALWAYS AS IDENTITY,
    book_id    integer NOT NULL,
    account_id bigint NOT NULL,
    entry_id   bigint NOT NULL,
    leg        smallint NOT NULL,
    amount     bigint NOT NULL CHECK (amount <> 0),
    PRIMARY KEY (book_id, queue_id)
);
CREATE INDEX deferred_leg_account ON ledger_private.deferred_leg (book_id, account_id);
COMMENT ON TABLE ledger_private.deferred_leg IS
    'Legs of deferred accounts not yet folded into account.balance/seq by ledger.sequence_deferred().';

CREATE TABLE ledger_private.deferred_sequence (
    book_id       integer NOT NULL,
    account_id    bigint NOT NULL,
    account_seq   bigint NOT NULL CHECK (account_seq >= 1),
    entry_id      bigint NOT NULL,
    leg           smallint NOT NULL,
    balance_after bigint NOT NULL,
    sequenced_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (book_id, account_id, account_seq),
    UNIQUE (book_id, entry_id, leg)
);
COMMENT ON TABLE ledger_private.deferred_sequence IS
    'Sequence number and running (debit-positive) balance of each folded leg of a deferred account (append-only).';

-- A deferred account's balance is stored + queued; a posting cannot check its range without reading it, so
-- reports compute it in numeric and show NULL (books_check reports it) rather than fail for everyone.
CREATE FUNCTION ledger_private.int64_or_null(p_value numeric) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN p_value BETWEEN -9223372036854775807 AND 9223372036854775807 THEN p_value::bigint END;
COMMENT ON FUNCTION ledger_private.int64_or_null(numeric) IS 'p_value as bigint, or NULL outside [-(2^63-1), 2^63-1].';
REVOKE ALL ON FUNCTION ledger_private.int64_or_null(numeric) FROM PUBLIC;

CREATE TRIGGER deferred_sequence_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON ledger_private.deferred_sequence
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_private.forbid_change('the sequence of deferred legs is append-only');

COMMIT;
