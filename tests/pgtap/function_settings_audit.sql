-- The sealer and the in-database verifier in a session with standard_conforming_strings = off (set before any
-- ledger function is first called): seal_journal seals and audit_verify finds nothing, where before both failed
-- with 22021 ('\x00'::bytea parsed without backslash escapes). The session's output settings are odd as well
-- (DateStyle, TimeZone, bytea_output, IntervalStyle, extra_float_digits): the seals made under them verify in a
-- session with the defaults, so no hash depends on them. Entries are written as post_entry would (postings need
-- SERIALIZABLE, the sealer READ COMMITTED).
BEGIN;
SET standard_conforming_strings = off;
SET DateStyle = 'SQL, DMY';
SET TimeZone = 'Pacific/Chatham';
SET bytea_output = 'escape';
SET IntervalStyle = 'sql_standard';
SET extra_float_digits = -15;
SELECT plan(5);

INSERT INTO ledger_private.account (book_id, code, currency, type)
VALUES (1, 't:cash', 'USD', 'asset'), (1, 't:wallet', 'USD', 'liability');
CREATE FUNCTION pg_temp.post(p_key text, p_amount bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_entry bigint;
BEGIN
    INSERT INTO ledger_private.entry (book_id, idempotency_key, request_hash, effective_date)
    VALUES (1, p_key, sha256(convert_to(p_key, 'UTF8')), DATE '2026-11-25') RETURNING entry_id INTO v_entry;
    WITH a AS (
        UPDATE ledger_private.account
           SET balance = balance + CASE code WHEN 't:cash' THEN p_amount ELSE -p_amount END, seq = seq + 1
         WHERE book_id = 1 AND code IN ('t:cash', 't:wallet')
        RETURNING account_id, code, balance, seq
    )
    INSERT INTO ledger_private.posting (book_id, entry_id, leg, account_id, amount, currency, account_seq, balance_after)
    SELECT 1, v_entry, CASE a.code WHEN 't:cash' THEN 1 ELSE 2 END, a.account_id,
           CASE a.code WHEN 't:cash' THEN p_amount ELSE -p_amount END, 'USD', a.seq, a.balance
      FROM a;
    RETURN v_entry;
END
$$;
SELECT pg_temp.post('scs:1', 100), pg_temp.post('scs:2', 200), pg_temp.post('scs:3', 300);

SELECT is(current_setting('standard_conforming_strings'), 'off', 'this session runs with standard_conforming_strings off');
SELECT results_eq('SELECT status, entries, seals FROM ledger.seal_journal()', $$VALUES ('sealed', 3, 1)$$,
                  'seal_journal seals the three entries');
SELECT is(ledger_private.audit_merkle_root(ARRAY[sha256(convert_to('leaf', 'UTF8'))]),
          sha256(decode('00', 'hex') || sha256(convert_to('leaf', 'UTF8'))),
          'a one-leaf Merkle root is sha256(0x00 || leaf), the 0x00 byte meant');
SELECT is_empty('SELECT * FROM ledger.audit_verify()', 'audit_verify finds nothing');
RESET DateStyle;
RESET TimeZone;
RESET bytea_output;
RESET IntervalStyle;
RESET extra_float_digits;
SELECT is_empty('SELECT * FROM ledger.audit_verify()',
                'with the default output settings audit_verify finds nothing either: the seals do not depend on them');

SELECT * FROM finish();
ROLLBACK;
