-- The SQLSTATE catalog (ledger_private.error_catalog, exposed as ledger.error_codes): its exact contents,
-- its class/category rule, that it matches the codes the function bodies raise, and the list of codes this
-- pgTAP suite proves with throws_ok(..., 'LDxxx', NULL, ...). A new code fails this file until it is tested.
BEGIN;
SELECT plan(8);

SELECT has_table('ledger_private', 'error_catalog', 'ledger_private.error_catalog exists');
SELECT has_view('ledger', 'error_codes', 'ledger.error_codes exists');

SELECT results_eq(
    'SELECT sqlstate, name, category FROM ledger_private.error_catalog ORDER BY sqlstate',
    $$VALUES ('LD101', 'invalid_argument', 'validation'),
             ('LD102', 'unbalanced_entry', 'validation'),
             ('LD103', 'zero_amount', 'validation'),
             ('LD104', 'too_many_legs', 'validation'),
             ('LD105', 'metadata_too_large', 'validation'),
             ('LD106', 'amount_out_of_range', 'validation'),
             ('LD107', 'currency_mismatch', 'validation'),
             ('LD108', 'unknown_currency', 'validation'),
             ('LD109', 'too_few_legs', 'validation'),
             ('LD110', 'too_many_entries', 'validation'),
             ('LD111', 'metadata_too_deep', 'validation'),
             ('LD115', 'invalid_date_range', 'validation'),
             ('LD116', 'invalid_cursor', 'validation'),
             ('LD117', 'period_not_ended', 'validation'),
             ('LD120', 'invalid_hold_request', 'validation'),
             ('LD121', 'capture_exceeds_hold', 'validation'),
             ('LD122', 'partial_capture_needs_two_legs', 'validation'),
             ('LD201', 'unknown_account', 'conflict'),
             ('LD202', 'account_closed', 'conflict'),
             ('LD203', 'limit_exceeded', 'conflict'),
             ('LD204', 'assertion_failed', 'conflict'),
             ('LD205', 'idempotency_conflict', 'conflict'),
             ('LD206', 'account_exists', 'conflict'),
             ('LD207', 'account_not_zero', 'conflict'),
             ('LD208', 'unknown_entry', 'conflict'),
             ('LD209', 'already_reversed', 'conflict'),
             ('LD210', 'unknown_book', 'conflict'),
             ('LD211', 'balance_out_of_range', 'conflict'),
             ('LD212', 'currency_exists', 'conflict'),
             ('LD213', 'book_exists', 'conflict'),
             ('LD214', 'period_closed', 'conflict'),
             ('LD215', 'close_not_monotonic', 'conflict'),
             ('LD220', 'unknown_hold', 'conflict'),
             ('LD221', 'hold_voided', 'conflict'),
             ('LD222', 'hold_already_captured', 'conflict'),
             ('LD223', 'hold_expired', 'conflict'),
             ('LD224', 'hold_captured_not_voidable', 'conflict'),
             ('LD225', 'hold_on_deferred_account', 'conflict'),
             ('LD226', 'account_has_holds', 'conflict'),
             ('LD230', 'too_many_hold_requests', 'conflict'),
             ('LD231', 'malformed_hold_request', 'conflict'),
             ('LD232', 'hold_requests_not_array', 'conflict'),
             ('LD301', 'not_serializable', 'infrastructure'),
             ('LD302', 'append_only_violation', 'infrastructure'),
             ('LD303', 'wrong_isolation', 'infrastructure'),
             ('LD304', 'seal_chain_broken', 'infrastructure'),
             ('LD305', 'unsafe_entry_ids', 'infrastructure'),
             ('LD306', 'batch_needs_per_entry_path', 'infrastructure')$$,
    'the catalog holds exactly LD101-LD111, LD115-LD117, LD120-LD122, LD201-LD215, LD220-LD226, LD230-LD232, LD301-LD306 with their names and categories');

SELECT set_eq('SELECT sqlstate, name, category, description FROM ledger.error_codes',
              'SELECT sqlstate, name, category, description FROM ledger_private.error_catalog',
              'ledger.error_codes shows the whole catalog');

SELECT is_empty(
    $$SELECT sqlstate FROM ledger_private.error_catalog
       WHERE category <> CASE left(sqlstate, 3) WHEN 'LD1' THEN 'validation' WHEN 'LD2' THEN 'conflict'
                                                WHEN 'LD3' THEN 'infrastructure' END
          OR description = ''$$,
    'LD1xx are validation, LD2xx conflict, LD3xx infrastructure; every code has a description');

-- The catalog and the code agree: every ERRCODE raised by a ledger function is catalogued, and every
-- catalogued code is raised somewhere.
SELECT set_eq(
    $$SELECT DISTINCT m[1]
        FROM pg_proc AS p, regexp_matches(p.prosrc, 'ERRCODE\s*=\s*''([A-Z0-9]{5})''', 'g') AS m
       WHERE p.pronamespace IN ('ledger'::regnamespace, 'ledger_private'::regnamespace)$$,
    'SELECT sqlstate FROM ledger_private.error_catalog',
    'the SQLSTATEs raised in the function bodies are exactly the catalogued ones');

-- The codes this suite raises with throws_ok(sql, code, NULL, description), and where.
CREATE TEMP TABLE covered (sqlstate text PRIMARY KEY, test_file text NOT NULL);
INSERT INTO covered VALUES
    ('LD101', 'post_entry_validation, post_entry_assertions, account_create, account_close, reverse_entry, read_api, currency_and_book'),
    ('LD102', 'post_entry_validation'),
    ('LD103', 'post_entry_validation'),
    ('LD104', 'post_entry_validation'),
    ('LD105', 'post_entry_validation, account_create'),
    ('LD106', 'post_entry_amount_range, post_entries_net_range'),
    ('LD107', 'post_entry_validation, currency_and_book'),
    ('LD108', 'post_entry_validation, account_create'),
    ('LD109', 'post_entry_validation'),
    ('LD110', 'post_entries'),
    ('LD111', 'metadata_depth'),
    ('LD115', 'reports'),
    ('LD116', 'reports'),
    ('LD117', 'period_close'),
    ('LD120', 'holds'),
    ('LD121', 'holds'),
    ('LD122', 'holds'),
    ('LD201', 'post_entry_validation, post_entry_assertions, account_close, read_api, currency_and_book, post_entry_serializable_required'),
    ('LD202', 'post_entry_validation, account_close, reverse_entry'),
    ('LD203', 'post_entry_limits, reverse_entry'),
    ('LD204', 'post_entry_assertions'),
    ('LD205', 'post_entry_idempotency, reverse_entry'),
    ('LD206', 'account_create'),
    ('LD207', 'account_close'),
    ('LD208', 'reverse_entry, read_api, post_entry_serializable_required'),
    ('LD209', 'reverse_entry'),
    ('LD210', 'post_entry_validation, account_create, account_close, reverse_entry, read_api, currency_and_book'),
    ('LD211', 'post_entry_amount_range'),
    ('LD212', 'currency_and_book'),
    ('LD213', 'currency_and_book'),
    ('LD214', 'period_close'),
    ('LD215', 'period_close'),
    ('LD220', 'holds'),
    ('LD221', 'holds'),
    ('LD222', 'holds'),
    ('LD223', 'holds'),
    ('LD224', 'holds'),
    ('LD225', 'holds'),
    ('LD226', 'function_close_account_holds'),
    ('LD230', 'hold_requests'),
    ('LD231', 'hold_requests (a rejected request''s row: never raised to the caller)'),
    ('LD232', 'hold_requests'),
    ('LD301', 'post_entry_serializable_required, post_entry_repeatable_read_refused, reports_read_only'),
    ('LD302', 'append_only'),
    ('LD303', 'deferred_accounts, audit_seal_isolation'),
    ('LD304', 'audit_seal_chain_broken'),
    ('LD305', 'audit_seal_journal'),
    ('LD306', 'post_entries_net_range');
SELECT set_eq('SELECT sqlstate FROM covered', 'SELECT sqlstate FROM ledger_private.error_catalog',
              'every catalogued code is raised by at least one throws_ok in tests/pgtap');

SELECT throws_ok($$INSERT INTO ledger_private.error_catalog VALUES ('XX001', 'bogus', 'validation', 'x')$$,
                 '23514', NULL, 'the catalog only accepts codes of the LD class (LD + three digits)');

SELECT * FROM finish();
ROLLBACK;
