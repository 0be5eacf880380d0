-- ledger.audit_verify(): nothing to report on a sealed, untouched journal; each tampering a superuser can do with
-- the triggers off is found and pinpointed as the first finding — an amount changed, a leg moved to another
-- account, a posting deleted, an entry deleted, a forged entry inserted in the middle, two entries swapped, a
-- header edited, a seal edited, a seal's hash rewritten, a sealed hash altered — and balances come from books_check().
BEGIN;
SELECT plan(20);

SELECT has_function('ledger', 'audit_verify', ARRAY[]::text[], 'ledger.audit_verify() exists');
SELECT volatility_is('ledger', 'audit_verify', ARRAY[]::text[], 'stable', 'it only reads');

INSERT INTO ledger_private.account (book_id, code, currency, type)
VALUES (1, 't:cash', 'USD', 'asset'), (1, 't:wallet', 'USD', 'liability'), (1, 't:spare', 'USD', 'liability');
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
-- Tamper as a superuser with the triggers off, take the first finding, undo everything (the variables survive
-- the rolled-back block): returns 'kind|subject' of the first finding, or 'none'.
CREATE FUNCTION pg_temp.first_after(p_tamper text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_first text := 'none';
BEGIN
    BEGIN
        SET LOCAL session_replication_role = replica;
        EXECUTE p_tamper;
        SELECT v.kind || '|' || v.subject INTO v_first FROM ledger.audit_verify() AS v ORDER BY v.ord LIMIT 1;
        RAISE EXCEPTION 'undo' USING ERRCODE = 'P0001';
    EXCEPTION WHEN raise_exception THEN
        NULL;
    END;
    RETURN coalesce(v_first, 'none');
END
$$;

-- Entries 1..4 sealed in two seals, then a gap (a rolled-back id), then entry 6 sealed, entry 7 not yet.
CREATE TEMP TABLE ids AS SELECT pg_temp.post('v:1', 100) AS a, pg_temp.post('v:2', 200) AS b;
SELECT status FROM ledger.seal_journal();
INSERT INTO ids SELECT pg_temp.post('v:3', 300), pg_temp.post('v:4', 400);
SELECT nextval(pg_get_serial_sequence('ledger_private.entry', 'entry_id')) AS gap \gset
INSERT INTO ids SELECT pg_temp.post('v:6', 600), NULL;
SELECT status FROM ledger.seal_journal();
INSERT INTO ids SELECT pg_temp.post('v:7', 700), NULL;
CREATE TEMP TABLE e AS
SELECT (array_agg(x ORDER BY x))[1] AS e1, (array_agg(x ORDER BY x))[2] AS e2, (array_agg(x ORDER BY x))[3] AS e3,
       (array_agg(x ORDER BY x))[4] AS e4, (array_agg(x ORDER BY x))[5] AS e6, (array_agg(x ORDER BY x))[6] AS e7
  FROM (SELECT a AS x FROM ids UNION ALL SELECT b FROM ids WHERE b IS NOT NULL) AS t;
SELECT is((SELECT count(*)::integer FROM ledger_private.seal), 2, 'setup: two seals');

SELECT is_empty('SELECT * FROM ledger.audit_verify()', 'a sealed, untouched journal (one entry not yet sealed): no finding');

SELECT is(pg_temp.first_after(format('UPDATE ledger_private.posting SET amount = 250 WHERE entry_id = %s AND leg = 1', e2)),
          format('leg_changed|entry %s leg 1', e2), 'an amount changed: that leg of that entry') FROM e;
SELECT is(pg_temp.first_after(format(
              'UPDATE ledger_private.posting SET account_id = (SELECT account_id FROM ledger_private.account WHERE code = %L) '
              'WHERE entry_id = %s AND leg = 2', 't:spare', e3)),
          format('leg_changed|entry %s leg 2', e3), 'a leg moved to another account: that leg') FROM e;
SELECT is(pg_temp.first_after(format('DELETE FROM ledger_private.posting WHERE entry_id = %s AND leg = 2', e1)),
          format('leg_missing|entry %s leg 2', e1), 'a posting deleted: the missing leg') FROM e;
SELECT is(pg_temp.first_after(format('DELETE FROM ledger_private.entry WHERE entry_id = %s', e4)),
          format('entry_missing|entry %s', e4), 'an entry deleted: the missing entry') FROM e;
SELECT is(pg_temp.first_after(format(
              'INSERT INTO ledger_private.entry (book_id, entry_id, idempotency_key, request_hash, effective_date) '
              'OVERRIDING SYSTEM VALUE VALUES (1, %s, %L, sha256(%L::bytea), %L)', :gap, 'forged', 'forged', '2026-11-25')),
          format('entry_unsealed|entry %s', :gap), 'a forged entry inserted in the middle (in a gap of the ids): it');
SELECT is(pg_temp.first_after(format(
              'ALTER TABLE ledger_private.entry ALTER COLUMN entry_id SET GENERATED BY DEFAULT; '
              'UPDATE ledger_private.entry SET entry_id = -1 WHERE entry_id = %1$s; '
              'UPDATE ledger_private.entry SET entry_id = %1$s WHERE entry_id = %2$s; '
              'UPDATE ledger_private.entry SET entry_id = %2$s WHERE entry_id = -1; '
              'UPDATE ledger_private.posting SET entry_id = -1 WHERE entry_id = %1$s; '
              'UPDATE ledger_private.posting SET entry_id = %1$s WHERE entry_id = %2$s; '
              'UPDATE ledger_private.posting SET entry_id = %2$s WHERE entry_id = -1', e1, e2)),
          format('leg_changed|entry %s leg 1', e1), 'two entries swapped (ids, with their postings): the first of them') FROM e;
SELECT is(pg_temp.first_after(format(
              'ALTER TABLE ledger_private.entry ALTER COLUMN entry_id SET GENERATED BY DEFAULT; '
              'UPDATE ledger_private.entry SET entry_id = -1 WHERE entry_id = %1$s; '
              'UPDATE ledger_private.entry SET entry_id = %1$s WHERE entry_id = %2$s; '
              'UPDATE ledger_private.entry SET entry_id = %2$s WHERE entry_id = -1', e3, e4)),
          format('entry_changed|entry %s', e3), 'two entry headers swapped: the first of them, its header') FROM e;
SELECT is(pg_temp.first_after(format('UPDATE ledger_private.entry SET description = %L WHERE entry_id = %s', 'edited', e6)),
          format('entry_changed|entry %s', e6), 'a description edited: that entry''s header') FROM e;
SELECT is(pg_temp.first_after('UPDATE ledger_private.seal SET sealed_at = sealed_at - interval ''1 hour'' WHERE seal_no = 1'),
          'seal_hash|seal 1', 'a seal''s timestamp edited: its hash');
SELECT is(pg_temp.first_after('UPDATE ledger_private.seal SET entry_count = entry_count + 1 WHERE seal_no = 1'),
          'seal_count|seal 1', 'a seal''s count edited: its count');
SELECT is(pg_temp.first_after(
              'UPDATE ledger_private.seal SET sealed_at = sealed_at - interval ''1 hour'', '
              'seal_hash = ledger_private.audit_seal_hash(book_id, ''default'', seal_no, from_entry_id, to_entry_id, '
              'entry_count, merkle_root, prev_hash, sealed_at - interval ''1 hour'') WHERE seal_no = 1'),
          'seal_link|seal 2', 'a seal edited and its hash recomputed: the next seal no longer links to it');
SELECT is(pg_temp.first_after('DELETE FROM ledger_private.seal WHERE seal_no = 1'),
          'seal_missing|seal 1', 'a seal deleted: it is missing, its entries still name it');
SELECT is(pg_temp.first_after('DELETE FROM ledger_private.seal WHERE seal_no = 1; '
                              'DELETE FROM ledger_private.sealed_entry WHERE seal_no = 1'),
          'seal_sequence|seal 2', 'a seal deleted with its entries'' hashes: the chain has a hole at seal 2');
SELECT is(pg_temp.first_after(format('UPDATE ledger_private.sealed_entry SET leg_hashes = leg_hashes[2:2] || leg_hashes[1:1] '
                                     'WHERE entry_id = %s', e1)),
          format('sealed_legs|entry %s', e1), 'sealed leg hashes altered: that entry') FROM e;
SELECT is(pg_temp.first_after('UPDATE ledger_private.account SET balance = balance + 1 WHERE code = ''t:spare'''),
          'books:account_balance|t:spare', 'a stored balance edited: books_check reports it after the chain');
SELECT is_empty('SELECT * FROM ledger.audit_verify()', 'every tampering was undone: no finding');

SELECT * FROM finish();
ROLLBACK;
