-- Deploy dualbook:error_code_batch_fallback to pg
-- requires: error_catalog
-- LD306: raised by the set-based path of ledger.post_entries() (ledger_private.post_batch_set) to hand a batch it
-- cannot post entirely to the per-entry path, after it has written: its caller catches it, rolls the attempt
-- back and posts entry by entry. It never reaches a caller of the API.

BEGIN;

SET LOCAL ROLE dualbook_owner;

INSERT INTO ledger_private.error_catalog (sqlstate, name, category, description) VALUES
    ('LD306', 'batch_needs_per_entry_path', 'infrastructure',
     'Internal to ledger.post_entries(): its set-based path hands a batch it cannot post entirely to the per-entry path; never returned to a caller.');

COMMIT;
