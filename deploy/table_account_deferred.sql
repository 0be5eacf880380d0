-- Deploy dualbook:table_account_deferred to pg
-- requires: table_account
-- A deferred ("hot") account carries no limits, so nothing on the write path has to read its balance: a posting
-- queues its leg (an INSERT) instead of updating the account row, and the sequencer folds queued legs into the
-- balance later. Its balance is still exact at every moment: stored balance + queued legs.

BEGIN;

ALTER TABLE ledger_private.account
    ADD COLUMN deferred boolean NOT NULL DEFAULT false,
    ADD CONSTRAINT account_deferred_has_no_limits
        CHECK (NOT deferred OR (lower_limit IS NULL AND upper_limit IS NULL));

COMMENT ON COLUMN ledger_private.account.deferred IS
    'Hot account without limits: legs are queued in deferred_leg, balance/seq here lag until ledger.sequence_deferred().';

COMMIT;
