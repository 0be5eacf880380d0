-- Deploy dualbook:table_account to pg
-- requires: table_book
-- requires: table_currency
-- An account, and its balance maintained inside every posting transaction.
--
-- Sign convention: a posting's amount is positive for a debit and negative for a credit. `balance` here is
-- the debit-positive sum of the account's postings (so the sum of all balances per currency is zero).
-- Asset and expense accounts are debit-normal; liability, equity and income accounts are credit-normal. The
-- API speaks *normal* balances (the debit-positive balance times the normal side's sign): a customer wallet
-- (liability) holding 10.00 USD has balance -1000 here and normal balance 1000. Limits and assertions apply
-- to the normal balance.
--
-- The balance lives in the account row: a posting updates it in place with one index lookup by code, and
-- the RETURNING clause hands back everything the limit and status checks need (no separate read, which under
-- SSI would take predicate locks). fillfactor 50 keeps room on the page for HOT updates.

BEGIN;

CREATE TABLE ledger_private.account (
    book_id     integer NOT NULL REFERENCES ledger_private.book (book_id),
    account_id  bigint GENERATED ALWAYS AS IDENTITY,
    code        text NOT NULL CHECK (code ~ '^[A-Za-z0-9][A-Za-z0-9_.:@/+-]{0,199}$'),
    currency    text NOT NULL REFERENCES ledger_private.currency (code),
    type        text NOT NULL CHECK (type IN ('asset', 'liability', 'equity', 'income', 'expense')),
    lower_limit bigint,
    upper_limit bigint,
    status      text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    balance     bigint NOT NULL DEFAULT 0 CHECK (balance > -9223372036854775808),
    seq         bigint NOT NULL DEFAULT 0 CHECK (seq >= 0),
    metadata    jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    closed_at   timestamptz,
    PRIMARY KEY (book_id, account_id),
    UNIQUE (book_id, code),
    CHECK (lower_limit IS NULL OR upper_limit IS NULL OR lower_limit <= upper_limit),
    CHECK ((status = 'closed') = (closed_at IS NOT NULL))
) WITH (fillfactor = 50);

COMMENT ON TABLE ledger_private.account IS
    'Accounts. balance = debit-positive sum of postings; seq = number of postings (posting.account_seq runs 1..seq).';
COMMENT ON COLUMN ledger_private.account.balance IS 'Debit-positive sum of this account''s postings (maintained by post_entry).';
COMMENT ON COLUMN ledger_private.account.lower_limit IS 'Lowest allowed normal balance (NULL: none). 0 = no overdraft.';

COMMIT;
