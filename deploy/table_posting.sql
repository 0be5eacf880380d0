-- Deploy dualbook:table_posting to pg
-- requires: table_entry
-- requires: table_account
-- A posting (leg). amount is debit-positive (credit negative), never zero. account_seq numbers an account's
-- postings 1, 2, 3, ... without gaps; balance_after is the account's debit-positive balance after this posting,
-- so a statement shows the running balance without summing.
--
-- No foreign keys: post_entry is the only writer (no role has table privileges), it inserts the entry and
-- its postings in the same transaction and has just updated each account row. An FK check per leg would cost
-- a row lock and an index probe on the write path; ledger.books_check() proves the references instead.

BEGIN;

CREATE TABLE ledger_private.posting (
    book_id       integer NOT NULL,
    entry_id      bigint NOT NULL,
    leg           smallint NOT NULL CHECK (leg >= 1),
    account_id    bigint NOT NULL,
    amount        bigint NOT NULL CHECK (amount <> 0 AND amount > -9223372036854775808),
    currency      text NOT NULL,
    account_seq   bigint NOT NULL CHECK (account_seq >= 1),
    balance_after bigint NOT NULL,
    PRIMARY KEY (book_id, entry_id, leg)
);
CREATE UNIQUE INDEX posting_account_seq ON ledger_private.posting (book_id, account_id, account_seq);

COMMENT ON TABLE ledger_private.posting IS 'Postings (append-only): amount > 0 debit, < 0 credit.';

COMMIT;
