-- Metadata nests at most 32 levels (the metadata object is level 1): deeper is LD111 metadata_too_deep, for
-- post_entry, post_entries (both paths, atomic or not) and create_account, and writes nothing; 32 levels post.
-- Brackets inside strings are not nesting, and wide documents (many siblings) are not deep.
BEGIN;
SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;
SELECT plan(19);

SELECT ok((ledger.create_account('cash', 'USD', 'asset')).created, 'setup: asset cash');
SELECT ok((ledger.create_account('wallet', 'USD', 'liability')).created, 'setup: liability wallet');

-- {"a": [[...]]} with n arrays nests n + 1 levels.
CREATE FUNCTION pg_temp.nested(p_arrays integer) RETURNS jsonb LANGUAGE sql
AS $$ SELECT ('{"a": ' || repeat('[', p_arrays) || repeat(']', p_arrays) || '}')::jsonb $$;
CREATE FUNCTION pg_temp.legs() RETURNS jsonb LANGUAGE sql
AS $$ SELECT '[{"account": "cash", "amount": 1, "currency": "USD"},
               {"account": "wallet", "amount": -1, "currency": "USD"}]'::jsonb $$;
CREATE TEMP TABLE snap AS
    SELECT (SELECT count(*) FROM ledger_private.entry) AS entries, (SELECT count(*) FROM ledger_private.account) AS accounts;

SELECT throws_ok($$SELECT ledger.post_entry('d:33', pg_temp.legs(), NULL, pg_temp.nested(32))$$,
                 'LD111', NULL, 'post_entry: metadata nesting 33 levels is LD111');
SELECT throws_ok($$SELECT ledger.post_entry('d:1000', pg_temp.legs(), NULL, pg_temp.nested(999))$$,
                 'LD111', NULL, 'post_entry: metadata nesting 1,000 levels (6 KB) is LD111');
SELECT throws_ok($$SELECT ledger.post_entry('d:obj', pg_temp.legs(), NULL,
                                           ('{"a": ' || repeat('{"a": ', 32) || '1' || repeat('}', 33))::jsonb)$$,
                 'LD111', NULL, 'post_entry: nested objects count as arrays do');
SELECT throws_ok($$SELECT ledger.create_account('deep', 'USD', 'asset', NULL, NULL, pg_temp.nested(32))$$,
                 'LD111', NULL, 'create_account: account metadata nesting 33 levels is LD111');
SELECT throws_ok($$SELECT * FROM ledger.post_entries(jsonb_build_array(
                       jsonb_build_object('key', 'd:b1', 'legs', pg_temp.legs()),
                       jsonb_build_object('key', 'd:b2', 'legs', pg_temp.legs(), 'metadata', pg_temp.nested(32))), true)$$,
                 'LD111', NULL, 'post_entries (atomic): an entry with metadata nesting 33 levels is LD111');
SELECT results_eq(
    $$SELECT status, error_code FROM ledger.post_entries(jsonb_build_array(
          jsonb_build_object('key', 'd:b3', 'legs', pg_temp.legs(), 'metadata', pg_temp.nested(32)))) ORDER BY idx$$,
    $$VALUES ('rejected'::text, 'LD111'::text)$$,
    'post_entries: the entry is rejected with LD111');
SET LOCAL dualbook.post_entries_path = 'set';
SELECT results_eq(
    $$SELECT status, error_code FROM ledger.post_entries(jsonb_build_array(
          jsonb_build_object('key', 'd:f1', 'legs', pg_temp.legs()),
          jsonb_build_object('key', 'd:f2', 'legs', pg_temp.legs(), 'metadata', pg_temp.nested(32)))) ORDER BY idx$$,
    $$VALUES ('posted'::text, NULL::text), ('rejected', 'LD111')$$,
    'post_entries, set-based path forced: the deep entry is handed to the per-entry path and rejected, the other posts');
RESET dualbook.post_entries_path;
SELECT throws_ok('SELECT ledger.post_entry(''d:33'', pg_temp.legs(), NULL, pg_temp.nested(32))',
                 'LD111', NULL, 'the same key again: still LD111 (a validation error records nothing)');
SELECT results_eq(
    $$SELECT (SELECT count(*) FROM ledger_private.entry), (SELECT count(*) FROM ledger_private.account)$$,
    'SELECT entries + 1, accounts FROM snap', 'nothing of the refused requests was written (one entry, d:f1, posted)');

-- The boundary: 32 levels post, through every path.
SELECT is((ledger.post_entry('d:32', pg_temp.legs(), NULL, pg_temp.nested(31))).status, 'posted',
          'post_entry: metadata nesting exactly 32 levels posts');
SELECT is((SELECT metadata FROM ledger_private.entry WHERE idempotency_key = 'd:32'), pg_temp.nested(31),
          'and is stored as given');
SELECT ok((ledger.create_account('deep32', 'USD', 'asset', NULL, NULL, pg_temp.nested(31))).created,
          'create_account: 32 levels are accepted');
SELECT results_eq(
    $$SELECT status FROM ledger.post_entries(jsonb_build_array(
          jsonb_build_object('key', 'd:s1', 'legs', pg_temp.legs(), 'metadata', pg_temp.nested(31)),
          jsonb_build_object('key', 'd:s2', 'legs', pg_temp.legs(), 'metadata', '{"x": 1}'::jsonb))) ORDER BY idx$$,
    $$VALUES ('posted'::text), ('posted'::text)$$,
    'post_entries: 32 levels post');
SELECT is((ledger.post_entry('d:flat', pg_temp.legs(), NULL,
                             jsonb_build_object('s', repeat('[{', 200), 't', repeat('{', 50)))).status, 'posted',
          'brackets inside strings are not nesting');
SELECT is((ledger.post_entry('d:wide', pg_temp.legs(), NULL,
                             jsonb_build_object('items', (SELECT jsonb_agg(jsonb_build_array(i)) FROM generate_series(1, 200) AS i)))).status,
          'posted', 'a wide document (200 arrays side by side, 3 levels) is not deep');
SELECT ok(ledger_private.metadata_depth_ok(pg_temp.nested(31)) AND NOT ledger_private.metadata_depth_ok(pg_temp.nested(32))
          AND ledger_private.metadata_depth_ok(NULL) AND ledger_private.metadata_depth_ok('{}'),
          'metadata_depth_ok: 32 levels pass, 33 do not, NULL and {} pass');
SELECT is((SELECT count(*) FROM ledger.error_codes WHERE sqlstate = 'LD111' AND name = 'metadata_too_deep'), 1::bigint,
          'LD111 metadata_too_deep is in the catalog');

SELECT * FROM finish();
ROLLBACK;
