-- The sealer refuses to extend a chain whose newest seal does not match its own hash (LD304): a tampered head is
-- reported, not sealed over. The call fails as a whole, so nothing is sealed (in any book) until someone looks:
-- tamper evidence must not be buried under newer seals.
BEGIN;
SELECT plan(5);

INSERT INTO ledger_private.account (book_id, code, currency, type) VALUES (1, 't:cash', 'USD', 'asset'), (1, 't:wallet', 'USD', 'liability');
CREATE FUNCTION pg_temp.post(p_key text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_entry bigint;
BEGIN
    INSERT INTO ledger_private.entry (book_id, idempotency_key, request_hash, effective_date)
    VALUES (1, p_key, sha256(convert_to(p_key, 'UTF8')), DATE '2026-11-25') RETURNING entry_id INTO v_entry;
    WITH a AS (
        UPDATE ledger_private.account SET balance = balance + CASE code WHEN 't:cash' THEN 5 ELSE -5 END, seq = seq + 1
         WHERE book_id = 1 AND code IN ('t:cash', 't:wallet') RETURNING account_id, code, balance, seq
    )
    INSERT INTO ledger_private.posting (book_id, entry_id, leg, account_id, amount, currency, account_seq, balance_after)
    SELECT 1, v_entry, CASE a.code WHEN 't:cash' THEN 1 ELSE 2 END, a.account_id,
           CASE a.code WHEN 't:cash' THEN 5 ELSE -5 END, 'USD', a.seq, a.balance FROM a;
    RETURN v_entry;
END
$$;

SELECT pg_temp.post('c:1');
SELECT is((SELECT status FROM ledger.seal_journal()), 'sealed', 'setup: seal 1');
SET LOCAL session_replication_role = replica;
UPDATE ledger_private.seal SET entry_count = entry_count + 1 WHERE book_id = 1 AND seal_no = 1;
SET LOCAL session_replication_role = origin;
SELECT pg_temp.post('c:2');
SELECT throws_ok('SELECT * FROM ledger.seal_journal()', 'LD304', NULL, 'a tampered head seal is not extended');
SELECT is((SELECT count(*)::integer FROM ledger_private.seal), 1, 'no seal was added');
SELECT is((SELECT count(*)::integer FROM ledger_private.sealed_entry), 1, 'the new entry was not sealed');
SELECT is((SELECT kind || '|' || subject FROM ledger.audit_verify() ORDER BY ord LIMIT 1), 'seal_count|seal 1',
          'audit_verify names the tampered seal');

SELECT * FROM finish();
ROLLBACK;
