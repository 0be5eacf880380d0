-- Verify dualbook:view_reporting on pg

BEGIN;

SELECT book_id, code, name, created_at FROM ledger.books WHERE FALSE;
SELECT code, exponent, name, iso4217, created_at FROM ledger.currencies WHERE FALSE;
SELECT book, account_id, code, currency, type, normal_side, status, balance, debit_balance, postings,
       lower_limit, upper_limit, metadata, created_at, closed_at, deferred, queued FROM ledger.accounts WHERE FALSE;
SELECT book, entry_id, idempotency_key, description, metadata, effective_date, recorded_at, reverses_entry_id
  FROM ledger.entries WHERE FALSE;
SELECT book, entry_id, leg, account, amount, currency, account_seq, balance_after, effective_date, recorded_at
  FROM ledger.postings WHERE FALSE;
SELECT book, currency, debits, credits, net, accounts FROM ledger.trial_balance WHERE FALSE;
SELECT check_name, book, subject, detail FROM ledger.books_check() WHERE FALSE;

ROLLBACK;
