-- Deploy dualbook:error_catalog to pg
-- requires: table_error_catalog
-- requires: function_seal_journal
-- requires: function_post_entries
-- requires: owner_ledger
-- The catalog of the SQL API's SQLSTATEs, whole, in one file. Released changes inserted its rows from four places
-- (table_error_catalog, function_sequence_deferred, function_seal_journal, function_post_entries); they are
-- frozen, so this change owns the catalog from now on: it upserts every row, and a later code is added by a
-- small change of its own (error_code_<name>) that inserts its row and whose revert deletes it. The Python
-- registry (dualbook.errors) and docs/sql-api.md §3.2 mirror this list; tests check both. Rows added after this
-- change was first deployed (LD111) are deleted by its revert.

BEGIN;

SET LOCAL ROLE dualbook_owner;

INSERT INTO ledger_private.error_catalog AS c (sqlstate, name, category, description) VALUES
    ('LD101', 'invalid_argument', 'validation',
     'An argument is missing, malformed or out of its documented range.'),
    ('LD102', 'unbalanced_entry', 'validation',
     'The legs of an entry do not sum to zero in some currency.'),
    ('LD103', 'zero_amount', 'validation',
     'A leg has a zero amount.'),
    ('LD104', 'too_many_legs', 'validation',
     'An entry has more legs than the maximum (100).'),
    ('LD105', 'metadata_too_large', 'validation',
     'Metadata exceeds its size limit (8192 bytes as JSON text).'),
    ('LD106', 'amount_out_of_range', 'validation',
     'An amount, or the sum of the legs on one account, does not fit in a signed 64-bit integer.'),
    ('LD107', 'currency_mismatch', 'validation',
     'A leg''s currency is not its account''s currency.'),
    ('LD108', 'unknown_currency', 'validation',
     'The currency or asset code does not exist.'),
    ('LD109', 'too_few_legs', 'validation',
     'An entry has fewer than two legs.'),
    ('LD110', 'too_many_entries', 'validation',
     'A batch has more entries than the maximum (1000), or none.'),
    ('LD111', 'metadata_too_deep', 'validation',
     'Metadata nests deeper than its limit (32 levels; the metadata object is level 1).'),
    ('LD115', 'invalid_date_range', 'validation',
     'A report''s first date is after its last date.'),
    ('LD116', 'invalid_cursor', 'validation',
     'A statement cursor is malformed or does not lie within the statement''s dates.'),
    ('LD117', 'period_not_ended', 'validation',
     'A period can only be closed through a date before today (UTC).'),
    ('LD120', 'invalid_hold_request', 'validation',
     'A hold''s expiry is not in the future, or a capture amount is not positive.'),
    ('LD121', 'capture_exceeds_hold', 'validation',
     'A capture asks for more than the hold reserved.'),
    ('LD122', 'partial_capture_needs_two_legs', 'validation',
     'Only a two-leg hold can be captured in part.'),
    ('LD201', 'unknown_account', 'conflict',
     'No account with that code exists in the book.'),
    ('LD202', 'account_closed', 'conflict',
     'The account is closed and accepts no postings.'),
    ('LD203', 'limit_exceeded', 'conflict',
     'The entry would take an account''s balance beyond its lower or upper limit.'),
    ('LD204', 'assertion_failed', 'conflict',
     'A balance assertion in the request does not hold after the entry.'),
    ('LD205', 'idempotency_conflict', 'conflict',
     'The idempotency key was already used with a different payload.'),
    ('LD206', 'account_exists', 'conflict',
     'An account with that code exists with different attributes.'),
    ('LD207', 'account_not_zero', 'conflict',
     'An account can only be closed at a zero balance.'),
    ('LD208', 'unknown_entry', 'conflict',
     'No entry with that id or idempotency key exists in the book.'),
    ('LD209', 'already_reversed', 'conflict',
     'The entry has already been reversed (an entry is reversed at most once).'),
    ('LD210', 'unknown_book', 'conflict',
     'No book with that code exists.'),
    ('LD211', 'balance_out_of_range', 'conflict',
     'An account''s balance would leave the signed 64-bit range.'),
    ('LD212', 'currency_exists', 'conflict',
     'A currency with that code exists with a different exponent or name.'),
    ('LD213', 'book_exists', 'conflict',
     'A book with that code exists with a different name.'),
    ('LD214', 'period_closed', 'conflict',
     'The entry''s effective date lies in a closed period of its book.'),
    ('LD215', 'close_not_monotonic', 'conflict',
     'The book is already closed through a later date; closing only moves forward.'),
    ('LD220', 'unknown_hold', 'conflict',
     'No hold with that id exists in the book.'),
    ('LD221', 'hold_voided', 'conflict',
     'The hold was voided: it can be neither captured nor voided again with another key.'),
    ('LD222', 'hold_already_captured', 'conflict',
     'The hold was captured already, with another key: a hold is captured once.'),
    ('LD223', 'hold_expired', 'conflict',
     'The hold expired: it reserves nothing and can be neither captured nor voided.'),
    ('LD224', 'hold_captured_not_voidable', 'conflict',
     'The hold was captured: it cannot be voided (reverse the capture''s entry instead).'),
    ('LD225', 'hold_on_deferred_account', 'conflict',
     'A deferred (hot) account takes no holds: its balance is not read on the write path.'),
    ('LD226', 'account_has_holds', 'conflict',
     'The account has outstanding holds (unresolved, unexpired): it cannot be closed until they are captured, voided or expired.'),
    ('LD230', 'too_many_hold_requests', 'conflict',
     'A batch of hold requests has fewer than 1 or more than 1000 requests.'),
    ('LD231', 'malformed_hold_request', 'conflict',
     'A hold request is not {"op": "hold" | "capture" | "void", "key", ...} with the fields of its op and their types.'),
    ('LD232', 'hold_requests_not_array', 'conflict',
     'The hold requests are not a JSON array.'),
    ('LD301', 'not_serializable', 'infrastructure',
     'A write function was called outside a SERIALIZABLE transaction.'),
    ('LD302', 'append_only_violation', 'infrastructure',
     'History is append-only: UPDATE, DELETE and TRUNCATE of the journal (and changes to immutable columns) are refused.'),
    ('LD303', 'wrong_isolation', 'infrastructure',
     'The sequencer (ledger.sequence_deferred()) and the sealer (ledger.seal_journal()) must run in READ COMMITTED: outside the SSI conflict tracking of postings, with a fresh snapshot per statement.'),
    ('LD304', 'seal_chain_broken', 'infrastructure',
     'The newest seal of a book does not match its own hash: the journal was tampered with, and the sealer refuses to extend the chain.'),
    ('LD305', 'unsafe_entry_ids', 'infrastructure',
     'The entry id sequence caches values or does not ascend, so ids are not handed out in order and no sealing watermark would be sound.')
ON CONFLICT (sqlstate) DO UPDATE
   SET name = excluded.name, category = excluded.category, description = excluded.description
 WHERE (c.name, c.category, c.description) IS DISTINCT FROM (excluded.name, excluded.category, excluded.description);

COMMIT;
