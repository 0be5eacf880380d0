-- Deploy dualbook:grant_ledger to pg
-- requires: owner_ledger
-- requires: function_get_currency
-- What each role may do, and nothing more (docs/security.md). Nobody gets a privilege on a table, a sequence
-- or on ledger_private: the API functions are SECURITY DEFINER (they run as dualbook_owner) and the views run
-- with their owner's rights. One exception, for the roles that read views: PostgreSQL checks EXECUTE on a
-- function a view calls as the view's *caller*, so they hold EXECUTE on the pure helper
-- ledger_private.normal_balance() (no USAGE on the schema: a view refers to it by oid).
-- A later change that adds a function or view grants it in that change (this file is frozen once tagged);
-- tests/pgtap/privileges.sql lists the expected privileges of every role on every object and fails on a
-- difference either way.

BEGIN;

SET LOCAL ROLE dualbook_owner;

GRANT USAGE ON SCHEMA ledger TO dualbook_app, dualbook_sequencer, dualbook_reader, dualbook_auditor;

-- The application: the write API and the point reads.
GRANT EXECUTE ON FUNCTION
    ledger.create_book(text, text),
    ledger.create_currency(text, integer, text),
    ledger.create_account(text, text, text, bigint, bigint, jsonb, text, boolean),
    ledger.close_account(text, text),
    ledger.post_entry(text, jsonb, text, jsonb, date, jsonb, text),
    ledger.post_entries(jsonb, boolean, text),
    ledger.reverse_entry(bigint, text, text, text),
    ledger.get_balance(text, text),
    ledger.get_entry(bigint, text),
    ledger.get_entry_by_key(text, text),
    ledger.get_currency(text),
    ledger.books_check()
    TO dualbook_app;

-- The sequencer of deferred accounts: its own role, with its own (longer) statement_timeout, so that neither
-- an application bug nor a client that loops on it can run folding passes, and a pass is not cut off by the
-- application's 5 s limit.
GRANT EXECUTE ON FUNCTION ledger.sequence_deferred(integer) TO dualbook_sequencer;

-- Reports (a replica will do): every view and the read functions.
GRANT SELECT ON
    ledger.books, ledger.currencies, ledger.accounts, ledger.entries, ledger.postings, ledger.trial_balance,
    ledger.error_codes
    TO dualbook_reader;
GRANT EXECUTE ON FUNCTION
    ledger.get_balance(text, text),
    ledger.get_entry(bigint, text),
    ledger.get_entry_by_key(text, text),
    ledger.get_currency(text),
    ledger.books_check()
    TO dualbook_reader;

-- The auditor: the journal, its seals and the invariants, nothing else (docs/audit.md).
GRANT SELECT ON ledger.entries, ledger.postings, ledger.audit_entries, ledger.audit_postings, ledger.audit_seals,
    ledger.audit_sealed_entries TO dualbook_auditor;
GRANT EXECUTE ON FUNCTION ledger.books_check(), ledger.audit_verify() TO dualbook_auditor;

-- Sealing the journal runs as the sequencer's role: the background worker of the ledger, which writes only
-- what postings never write (folded balances, seals).
GRANT EXECUTE ON FUNCTION ledger.seal_journal(integer, integer) TO dualbook_sequencer;

-- Called by the views as their caller (the reporting views, and the audit export views).
GRANT EXECUTE ON FUNCTION ledger_private.normal_balance(text, bigint), ledger_private.int64_or_null(numeric)
    TO dualbook_reader, dualbook_auditor;
GRANT EXECUTE ON FUNCTION ledger_private.audit_timestamp(timestamptz), ledger_private.audit_date(date)
    TO dualbook_auditor;

COMMIT;
