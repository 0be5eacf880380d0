-- A search_path hijack does not change what the API does. The attacker is an application user (a member of
-- dualbook_app) that owns a schema and puts it first in its search_path, ahead of pg_catalog, with same-named
-- functions and operators that the ledger's code uses: = and + on bigint, <> on numeric, jsonb - text,
-- sha256(), jsonb_typeof(), jsonb_array_length(), length(), abs() and current_setting(). They are live in the
-- attacker's own statements (checked first, so this test is not vacuous), yet post_entry, get_balance and
-- books_check called from that session validate, hash, post and report exactly as for a clean caller: the API
-- functions pin search_path = pg_catalog, pg_temp (a SET clause holds for everything they call, so the
-- helpers run with it too) and qualify every ledger name. The attacker makes its schema usable by PUBLIC, so the
-- planted objects would be visible to dualbook_owner if the path were not pinned (checked by removing the pin:
-- this file then fails).
BEGIN;
SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;
SELECT plan(17);

SELECT ok((ledger.create_account('hj:cash', 'USD', 'asset')).created, 'setup: asset hj:cash');
SELECT ok((ledger.create_account('hj:wallet', 'USD', 'liability', 0)).created, 'setup: wallet hj:wallet, no overdraft');
-- A clean caller posts a reference entry; the attacker will send the same request under another key.
SELECT ok((ledger.post_entry('hj:clean', '[{"account": "hj:cash", "amount": 700, "currency": "USD"},
                                           {"account": "hj:wallet", "amount": -700, "currency": "USD"}]',
                             'top-up', '{"ref": 1}', '2026-01-02')).created, 'setup: a clean caller posts hj:clean');

CREATE ROLE tap_attacker NOLOGIN IN ROLE dualbook_app;
CREATE SCHEMA evil AUTHORIZATION tap_attacker;
CREATE TEMP TABLE hj_out (what text, result text);
GRANT ALL ON hj_out TO tap_attacker;

SET LOCAL ROLE tap_attacker;
SET LOCAL search_path = evil, pg_catalog, public;
-- Visible to everyone, the owner included: a schema a role cannot use is skipped in its search_path, which
-- would make the attack fail for the wrong reason.
GRANT USAGE ON SCHEMA evil TO PUBLIC;
CREATE FUNCTION evil.always(bigint, bigint) RETURNS boolean LANGUAGE sql AS 'SELECT true';
CREATE OPERATOR evil.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = evil.always);
CREATE FUNCTION evil.zero(bigint, bigint) RETURNS bigint LANGUAGE sql AS 'SELECT 0::bigint';
CREATE OPERATOR evil.+ (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = evil.zero);
CREATE FUNCTION evil.never(numeric, numeric) RETURNS boolean LANGUAGE sql AS 'SELECT false';
CREATE OPERATOR evil.<> (LEFTARG = numeric, RIGHTARG = numeric, FUNCTION = evil.never);
CREATE FUNCTION evil.strip(jsonb, text) RETURNS jsonb LANGUAGE sql AS 'SELECT ''{}''::jsonb';
CREATE OPERATOR evil.- (LEFTARG = jsonb, RIGHTARG = text, FUNCTION = evil.strip);
CREATE FUNCTION evil.sha256(bytea) RETURNS bytea LANGUAGE sql AS $$SELECT '\x00'::bytea$$;
CREATE FUNCTION evil.jsonb_typeof(jsonb) RETURNS text LANGUAGE sql AS $$SELECT 'array'::text$$;
CREATE FUNCTION evil.jsonb_array_length(jsonb) RETURNS integer LANGUAGE sql AS 'SELECT 2';
CREATE FUNCTION evil.length(text) RETURNS integer LANGUAGE sql AS 'SELECT 1';
CREATE FUNCTION evil.abs(numeric) RETURNS numeric LANGUAGE sql AS 'SELECT 0::numeric';
CREATE FUNCTION evil.current_setting(text) RETURNS text LANGUAGE sql AS $$SELECT 'read committed'::text$$;

-- The planted objects win in the attacker's own statements...
INSERT INTO hj_out
SELECT 'live', concat_ws(' ', 1::bigint = 2::bigint, 2::bigint + 2::bigint, 1.5 <> 2.5, '{"x": 1}'::jsonb - 'y',
                         sha256('x'::bytea), jsonb_typeof('{}'), jsonb_array_length('[]'), length('abcdef'),
                         abs(-5.0), current_setting('transaction_isolation'));

-- ...and the API is not fooled. Each call's outcome (SQLSTATE or result) goes to hj_out.
CREATE FUNCTION evil.try(p_what text, p_sql text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v_refused text;
BEGIN
    EXECUTE p_sql INTO v_refused;  -- a refusal returned as a row: its error_code
    INSERT INTO pg_temp.hj_out VALUES (p_what, coalesce(v_refused, 'ok'));
EXCEPTION WHEN OTHERS THEN
    INSERT INTO pg_temp.hj_out VALUES (p_what, SQLSTATE);
END
$$;
SELECT evil.try('same request as hj:clean',
    $q$SELECT error_code FROM ledger.post_entry('hj:evil', '[{"account": "hj:cash", "amount": 700, "currency": "USD"},
                                            {"account": "hj:wallet", "amount": -700, "currency": "USD"}]',
                               'top-up', '{"ref": 1}', '2026-01-02')$q$);
SELECT evil.try('replay of hj:clean',
    $q$SELECT error_code FROM ledger.post_entry('hj:clean', '[{"account": "hj:cash", "amount": 700, "currency": "USD"},
                                             {"account": "hj:wallet", "amount": -700, "currency": "USD"}]',
                               'top-up', '{"ref": 1}', '2026-01-02')$q$);
SELECT evil.try('hj:clean with another amount',
    $q$SELECT error_code FROM ledger.post_entry('hj:clean', '[{"account": "hj:cash", "amount": 701, "currency": "USD"},
                                             {"account": "hj:wallet", "amount": -701, "currency": "USD"}]',
                               'top-up', '{"ref": 1}', '2026-01-02')$q$);
SELECT evil.try('unbalanced',
    $q$SELECT error_code FROM ledger.post_entry('hj:1', '[{"account": "hj:cash", "amount": 5, "currency": "USD"},
                                         {"account": "hj:wallet", "amount": -4, "currency": "USD"}]')$q$);
SELECT evil.try('unknown field',
    $q$SELECT error_code FROM ledger.post_entry('hj:2', '[{"account": "hj:cash", "amount": 5, "currency": "USD", "x": 1},
                                         {"account": "hj:wallet", "amount": -5, "currency": "USD"}]')$q$);
SELECT evil.try('legs not an array',
    $q$SELECT error_code FROM ledger.post_entry('hj:3', '{"account": "hj:cash"}')$q$);
SELECT evil.try('overdraft',
    $q$SELECT error_code FROM ledger.post_entry('hj:4', '[{"account": "hj:wallet", "amount": 2000, "currency": "USD"},
                                         {"account": "hj:cash", "amount": -2000, "currency": "USD"}]')$q$);
SELECT evil.try('amount beyond 64 bits',
    $q$SELECT error_code FROM ledger.post_entry('hj:5', '[{"account": "hj:cash", "amount": "9223372036854775808", "currency": "USD"},
                                         {"account": "hj:wallet", "amount": "-9223372036854775808", "currency": "USD"}]')$q$);
INSERT INTO hj_out SELECT 'balance', balance::text FROM ledger.get_balance('hj:wallet');
INSERT INTO hj_out SELECT 'books_check', count(*)::text FROM ledger.books_check();
RESET search_path;
RESET ROLE;

SELECT is((SELECT result FROM hj_out WHERE what = 'live'),
          't 0 f {} \x00 array 2 1 0 read committed',
          'the planted = + <> - sha256 jsonb_typeof jsonb_array_length length abs current_setting are live for the attacker');
SELECT is((SELECT result FROM hj_out WHERE what = 'same request as hj:clean'), 'ok',
          'post_entry runs (its isolation check reads the real current_setting)');
SELECT is((SELECT e.request_hash FROM ledger_private.entry AS e WHERE e.idempotency_key = 'hj:evil'),
          (SELECT e.request_hash FROM ledger_private.entry AS e WHERE e.idempotency_key = 'hj:clean'),
          'the request hash is the real SHA-256 of the same canonical request');
SELECT is((SELECT result FROM hj_out WHERE what = 'replay of hj:clean'), 'ok', 'a replay is still recognised');
SELECT is((SELECT result FROM hj_out WHERE what = 'hj:clean with another amount'), 'LD205',
          'a changed request under a used key is still LD205');
SELECT is((SELECT result FROM hj_out WHERE what = 'unbalanced'), 'LD102', 'an unbalanced entry is still LD102');
SELECT is((SELECT result FROM hj_out WHERE what = 'unknown field'), 'LD101', 'an unknown field is still LD101');
SELECT is((SELECT result FROM hj_out WHERE what = 'legs not an array'), 'LD101', 'legs that are no array: LD101');
SELECT is((SELECT result FROM hj_out WHERE what = 'overdraft'), 'LD203', 'an overdraft is still LD203');
SELECT is((SELECT result FROM hj_out WHERE what = 'amount beyond 64 bits'), 'LD106', 'a 2^63 amount is still LD106');
SELECT is((SELECT result FROM hj_out WHERE what = 'balance'), '1400', 'get_balance reports the true balance');
SELECT is((SELECT result FROM hj_out WHERE what = 'books_check'), '0', 'books_check finds nothing, as the attacker');
SELECT results_eq(
    $$SELECT p.amount, p.account_seq, p.balance_after FROM ledger_private.posting AS p
        JOIN ledger_private.entry AS e USING (book_id, entry_id)
       WHERE e.idempotency_key = 'hj:evil' ORDER BY p.leg$$,
    $$VALUES (700::bigint, 2::bigint, 1400::bigint), (-700::bigint, 2::bigint, -1400::bigint)$$,
    'the attacker''s entry has the true amounts, sequence numbers and running balances');
SELECT is_empty('SELECT * FROM ledger.books_check()', 'the books balance');

SELECT * FROM finish();
ROLLBACK;
