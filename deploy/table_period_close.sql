-- Deploy dualbook:table_period_close to pg
-- requires: table_entry
-- requires: table_posting
-- requires: owner_ledger
-- Period close. period_close: a book is closed through a date (every effective date up to it is locked); the
-- close date of a book is the greatest row, and closes only move forward (ledger.close_period()).
-- account_checkpoint: at each close, every account's debit-positive balance as of the close date (all postings
-- dated up to it) and its debits and credits since the previous close, so that reports start from the last
-- close instead of summing the whole journal. Both are append-only, like the journal.
-- book.closed_through: the current close date of each book, read by the posting core in the lookup of the book
-- it makes anyway (no extra read per posting); monotonic, set only by ledger.close_period().
-- entry_effective: entries of a book by effective date, for the reports that read a date range.

BEGIN;

SET LOCAL ROLE dualbook_owner;

CREATE TABLE ledger_private.period_close (
    book_id      integer NOT NULL,
    through_date date NOT NULL CHECK (through_date BETWEEN '0001-01-01' AND '9999-12-30'),
    closed_at    timestamptz NOT NULL DEFAULT now(),
    closed_by    text NOT NULL DEFAULT session_user,
    accounts     integer NOT NULL CHECK (accounts >= 0),
    PRIMARY KEY (book_id, through_date)
);
COMMENT ON TABLE ledger_private.period_close IS
    'Closed periods (append-only): the book is closed through the greatest through_date.';

CREATE TABLE ledger_private.account_checkpoint (
    book_id      integer NOT NULL,
    account_id   bigint NOT NULL,
    through_date date NOT NULL,
    balance      numeric NOT NULL,
    debits       numeric NOT NULL CHECK (debits >= 0),
    credits      numeric NOT NULL CHECK (credits >= 0),
    PRIMARY KEY (book_id, account_id, through_date)
);
CREATE INDEX account_checkpoint_close ON ledger_private.account_checkpoint (book_id, through_date);
COMMENT ON TABLE ledger_private.account_checkpoint IS
    'Per account and close: the debit-positive balance of the postings dated up to through_date, and the debits '
    'and credits dated after the previous close (append-only).';

CREATE INDEX entry_effective ON ledger_private.entry (book_id, effective_date, entry_id);

ALTER TABLE ledger_private.book ADD COLUMN closed_through date;
COMMENT ON COLUMN ledger_private.book.closed_through IS
    'Every effective date up to this one is closed (NULL: none); the greatest period_close.through_date.';

CREATE TRIGGER period_close_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON ledger_private.period_close
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_private.forbid_change('closed periods are append-only');
CREATE TRIGGER account_checkpoint_append_only BEFORE UPDATE OR DELETE OR TRUNCATE
    ON ledger_private.account_checkpoint
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_private.forbid_change('balance checkpoints are append-only');

COMMIT;
