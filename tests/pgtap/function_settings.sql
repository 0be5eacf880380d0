-- Every ledger function runs with the settings its body was written for, whatever the caller set: each function
-- whose body is parsed at call time (PL/pgSQL, SQL with a string body) pins search_path and
-- standard_conforming_strings; the posting functions pin lock_timeout. A rework (CREATE OR REPLACE) that leaves
-- a SET clause out fails here. Then, in a session with standard_conforming_strings = off (set before any ledger
-- function is first called, so their bodies are parsed with it), post_entry, post_entries (both paths, with an
-- effective_date), reverse_entry, get_entry and get_entry_by_key behave as with it on.
BEGIN;
SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;
SET standard_conforming_strings = off;
SELECT plan(14);

SELECT is_empty(
    $$SELECT p.oid::regprocedure FROM pg_proc AS p
       WHERE p.pronamespace IN ('ledger'::regnamespace, 'ledger_private'::regnamespace)
         AND p.prosqlbody IS NULL
         AND NOT coalesce(p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp',
                                               'standard_conforming_strings=on'], false)$$,
    'every ledger function with a body parsed at call time pins search_path and standard_conforming_strings');
SELECT is_empty(
    $$SELECT p.oid::regprocedure FROM pg_proc AS p
       WHERE p.pronamespace IN ('ledger'::regnamespace, 'ledger_private'::regnamespace)
         AND p.prosqlbody IS NOT NULL AND p.proconfig IS NOT NULL$$,
    'functions with an SQL-standard body (parsed at CREATE, inlined) carry no SET clause, which would stop inlining');
SELECT is_empty(
    $$SELECT p.oid::regprocedure FROM pg_proc AS p
       WHERE p.pronamespace = 'ledger'::regnamespace
         AND p.proname IN ('post_entry', 'post_entries', 'reverse_entry', 'hold_entry', 'capture_hold',
                            'void_hold', 'hold_requests')
         AND NOT coalesce(p.proconfig @> ARRAY['lock_timeout=2s'], false)$$,
    'post_entry, post_entries, reverse_entry, the hold functions and hold_requests pin lock_timeout = 2s');
SELECT is(current_setting('standard_conforming_strings'), 'off', 'this session runs with standard_conforming_strings off');

SELECT ok((ledger.create_account('cash', 'USD', 'asset')).created, 'create_account');
SELECT is((ledger.post_entry('scs:1', '[{"account": "cash", "amount": 7, "currency": "USD"},
                                        {"account": "wallet", "amount": -7, "currency": "USD"}]')).error_code,
          'LD201', 'post_entry: an unknown account is still the recorded refusal LD201');
SELECT ok((ledger.create_account('wallet', 'USD', 'liability')).created, 'create_account (2)');
SELECT is((ledger.post_entry('scs:2', '[{"account": "cash", "amount": 7, "currency": "USD"},
                                        {"account": "wallet", "amount": -7, "currency": "USD"}]',
                             NULL, '{"note": "settings"}', DATE '2024-01-01')).status,
          'posted', 'post_entry posts');
SELECT results_eq(
    $$SELECT status FROM ledger.post_entries('[{"key": "scs:3", "effective_date": "2024-01-01",
                                                "legs": [{"account": "cash", "amount": 1, "currency": "USD"},
                                                         {"account": "wallet", "amount": -1, "currency": "USD"}]}]')$$,
    $$VALUES ('posted'::text)$$,
    'post_entries (set-based path) posts an entry with "effective_date": "2024-01-01"');
SET LOCAL dualbook.post_entries_path = 'per-entry';
SELECT results_eq(
    $$SELECT status FROM ledger.post_entries('[{"key": "scs:4", "effective_date": "2024-01-01",
                                                "legs": [{"account": "cash", "amount": 1, "currency": "USD"},
                                                         {"account": "wallet", "amount": -1, "currency": "USD"}]}]')$$,
    $$VALUES ('posted'::text)$$,
    'post_entries (per-entry path) posts it too');
SELECT is((ledger.reverse_entry((SELECT entry_id FROM ledger_private.entry WHERE idempotency_key = 'scs:2'),
                                'scs:r', 'wrong amount')).status, 'posted', 'reverse_entry posts');
SET LOCAL DateStyle = 'SQL, DMY';
SET LOCAL TimeZone = 'Pacific/Chatham';
SET LOCAL extra_float_digits = -15;
SELECT is((ledger.post_entry('scs:2', '[{"account": "cash", "amount": 7, "currency": "USD"},
                                        {"account": "wallet", "amount": -7, "currency": "USD"}]',
                             NULL, '{"note": "settings"}', DATE '2024-01-01')).status,
          'replayed', 'with other DateStyle, TimeZone and extra_float_digits the same request is a replay (same hash)');
RESET DateStyle;
RESET TimeZone;
RESET extra_float_digits;
SELECT results_eq(
    $$SELECT effective_date, metadata FROM ledger.get_entry_by_key('scs:2')$$,
    $$VALUES (DATE '2024-01-01', '{"note": "settings"}'::jsonb)$$,
    'get_entry_by_key reads it back');
SELECT is((SELECT jsonb_array_length(legs) FROM ledger.get_entry(
              (SELECT entry_id FROM ledger_private.entry WHERE idempotency_key = 'scs:r'))), 2,
          'get_entry reads the reversal');

SELECT * FROM finish();
ROLLBACK;
