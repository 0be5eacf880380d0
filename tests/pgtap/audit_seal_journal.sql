-- ledger.seal_journal(): seals committed entries oldest id first into one chain per book — seal n+1 starts where
-- seal n ends, links to its hash, holds its entries' Merkle root — seals an entry once, honours p_max, is idle when
-- nothing is new, validates its arguments (LD101) and refuses an entry id sequence that caches ids (LD305).
-- Postings need SERIALIZABLE and the sealer READ COMMITTED, so this file writes entries as post_entry would.
BEGIN;
SELECT plan(27);

SELECT has_function('ledger', 'seal_journal', ARRAY['integer', 'integer'], 'ledger.seal_journal(max, wait_ms) exists');
SELECT volatility_is('ledger', 'seal_journal', ARRAY['integer', 'integer'], 'volatile', 'the sealer is volatile');
SELECT results_eq(
    $$SELECT array_agg(name COLLATE "default" ORDER BY ord)
        FROM pg_proc AS p, unnest(p.proargnames, p.proargmodes) WITH ORDINALITY AS a(name, mode, ord)
       WHERE p.oid = 'ledger.seal_journal(integer, integer)'::regprocedure AND mode = 'o'$$,
    $$VALUES (ARRAY['status', 'entries', 'seals', 'sealed_through', 'waiting_for'])$$,
    'it returns status, entries, seals, sealed_through, waiting_for');

SELECT throws_ok('SELECT * FROM ledger.seal_journal(0)', 'LD101', NULL, 'p_max must be positive');
SELECT throws_ok('SELECT * FROM ledger.seal_journal(NULL)', 'LD101', NULL, 'p_max must not be NULL');
SELECT throws_ok('SELECT * FROM ledger.seal_journal(10, -1)', 'LD101', NULL, 'p_wait_ms must not be negative');
SELECT throws_ok('SELECT * FROM ledger.seal_journal(10, 600001)', 'LD101', NULL, 'p_wait_ms is at most ten minutes');

-- Two books, each with a cash and a wallet account; pg_temp.post writes an entry exactly as post_entry would.
INSERT INTO ledger_private.book (code, name) VALUES ('tap2', 'Second book');
INSERT INTO ledger_private.account (book_id, code, currency, type)
SELECT b.book_id, x.code, 'USD', x.type FROM ledger_private.book AS b
 CROSS JOIN (VALUES ('t:cash', 'asset'), ('t:wallet', 'liability')) AS x(code, type)
 WHERE b.code IN ('default', 'tap2');
CREATE FUNCTION pg_temp.post(p_key text, p_amount bigint, p_book text DEFAULT 'default') RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_book integer := (SELECT book_id FROM ledger_private.book WHERE code = p_book);
    v_entry bigint;
BEGIN
    INSERT INTO ledger_private.entry (book_id, idempotency_key, request_hash, effective_date)
    VALUES (v_book, p_key, sha256(convert_to(p_key, 'UTF8')), DATE '2026-11-25') RETURNING entry_id INTO v_entry;
    WITH a AS (
        UPDATE ledger_private.account
           SET balance = balance + CASE code WHEN 't:cash' THEN p_amount ELSE -p_amount END, seq = seq + 1
         WHERE book_id = v_book AND code IN ('t:cash', 't:wallet')
        RETURNING account_id, code, balance, seq
    )
    INSERT INTO ledger_private.posting (book_id, entry_id, leg, account_id, amount, currency, account_seq, balance_after)
    SELECT v_book, v_entry, CASE a.code WHEN 't:cash' THEN 1 ELSE 2 END, a.account_id,
           CASE a.code WHEN 't:cash' THEN p_amount ELSE -p_amount END, 'USD', a.seq, a.balance
      FROM a;
    RETURN v_entry;
END
$$;

SELECT results_eq('SELECT status, entries, seals FROM ledger.seal_journal()', $$VALUES ('idle', 0, 0)$$,
                  'nothing to seal: idle');

CREATE TEMP TABLE ids AS
SELECT pg_temp.post('s:1', 100) AS a, pg_temp.post('s:2', 200) AS b, pg_temp.post('t2:1', 300, 'tap2') AS c,
       pg_temp.post('s:3', 400) AS d;
SELECT results_eq('SELECT status, entries, seals FROM ledger.seal_journal()', $$VALUES ('sealed', 4, 2)$$,
                  'four entries in two books: one seal per book');
SELECT results_eq(
    $$SELECT b.code, s.seal_no, s.from_entry_id, s.to_entry_id, s.entry_count FROM ledger_private.seal AS s
        JOIN ledger_private.book AS b USING (book_id) ORDER BY s.book_id, s.seal_no$$,
    $$SELECT 'default', 1::bigint, 0::bigint, d, 3 FROM ids UNION ALL SELECT 'tap2', 1::bigint, 0::bigint, d, 1 FROM ids$$,
    'each book''s first seal covers (0, watermark], the watermark being the last id handed out');
SELECT results_eq(
    'SELECT book_id, entry_id, seal_no FROM ledger_private.sealed_entry ORDER BY entry_id',
    $$SELECT 1, a, 1::bigint FROM ids UNION ALL SELECT 1, b, 1::bigint FROM ids
      UNION ALL SELECT (SELECT book_id FROM ledger_private.book WHERE code = 'tap2'), c, 1::bigint FROM ids
      UNION ALL SELECT 1, d, 1::bigint FROM ids$$,
    'every entry is sealed once, in its own book''s seal');
SELECT is_empty(
    $$SELECT 1 FROM ledger_private.sealed_entry AS se JOIN ledger_private.audit_entry_digest AS d USING (book_id, entry_id)
       WHERE se.entry_hash <> d.entry_hash OR se.leg_hashes <> d.leg_hashes$$,
    'the sealed hashes are the entries'' hashes');
SELECT is_empty(
    $$SELECT 1 FROM ledger_private.seal AS s JOIN ledger_private.book AS b USING (book_id)
       WHERE s.seal_hash <> ledger_private.audit_seal_hash(s.book_id, b.code, s.seal_no, s.from_entry_id,
                 s.to_entry_id, s.entry_count, s.merkle_root, s.prev_hash, s.sealed_at)
          OR s.merkle_root <> ledger_private.audit_merkle_root(ARRAY(
                 SELECT se.entry_hash FROM ledger_private.sealed_entry AS se
                  WHERE se.book_id = s.book_id AND se.seal_no = s.seal_no ORDER BY se.entry_id))$$,
    'each seal holds the Merkle root of its entries and its own hash');
SELECT results_eq('SELECT status, entries, sealed_through FROM ledger.seal_journal()',
                  $$SELECT 'idle', 0, d FROM ids$$, 'sealing again: nothing new, the watermark stays');

-- p_max: the oldest entries first; the watermark of a partial pass is the last entry it sealed.
CREATE TEMP TABLE more AS SELECT pg_temp.post('s:4', 10) AS e, pg_temp.post('s:5', 20) AS f, pg_temp.post('s:6', 30) AS g;
SELECT results_eq('SELECT status, entries, seals, sealed_through FROM ledger.seal_journal(2)',
                  $$SELECT 'sealed', 2, 1, f FROM more$$, 'p_max = 2 seals the two oldest, through the second');
SELECT results_eq('SELECT status, entries, seals, sealed_through FROM ledger.seal_journal(2)',
                  $$SELECT 'sealed', 1, 1, g FROM more$$, 'the next call seals the rest');
SELECT results_eq(
    $$SELECT seal_no, from_entry_id, to_entry_id, entry_count FROM ledger_private.seal WHERE book_id = 1 ORDER BY seal_no$$,
    $$SELECT 1::bigint, 0::bigint, ids.d, 3 FROM ids
      UNION ALL SELECT 2::bigint, ids.d, more.f, 2 FROM ids, more
      UNION ALL SELECT 3::bigint, more.f, more.g, 1 FROM more$$,
    'the ranges of a book''s seals touch: (0, d], (d, f], (f, g]');
SELECT is_empty(
    $$SELECT 1 FROM (SELECT s.prev_hash, lag(s.seal_hash) OVER (PARTITION BY s.book_id ORDER BY s.seal_no) AS before
                       FROM ledger_private.seal AS s) AS x
       WHERE x.prev_hash IS DISTINCT FROM x.before$$,
    'every seal stores the hash of the one before it (NULL for seal 1)');
SELECT is((SELECT count(*)::integer FROM ledger_private.seal JOIN ledger_private.book USING (book_id) WHERE code = 'tap2'), 1,
          'a book without new entries gets no new seal');

-- A rolled-back id is a gap, never a reason to wait or to seal twice.
SELECT nextval(pg_get_serial_sequence('ledger_private.entry', 'entry_id'));
SELECT results_eq('SELECT status, entries FROM ledger.seal_journal()', $$VALUES ('idle', 0)$$,
                  'an id handed out but never committed leaves nothing to seal');
CREATE TEMP TABLE last AS SELECT pg_temp.post('t2:2', 5, 'tap2') AS h;
SELECT results_eq('SELECT status, entries, seals FROM ledger.seal_journal()', $$VALUES ('sealed', 1, 1)$$,
                  'the next entry is sealed across the gap');
SELECT results_eq($$SELECT seal_no, from_entry_id, to_entry_id FROM ledger_private.seal JOIN ledger_private.book USING (book_id)
                     WHERE code = 'tap2' ORDER BY seal_no$$,
                  $$SELECT 1::bigint, 0::bigint, ids.d FROM ids UNION ALL SELECT 2::bigint, ids.d, last.h FROM ids, last$$,
                  'the second book''s chain continues from its own last seal');
SELECT is((SELECT count(*)::integer FROM ledger_private.entry), (SELECT count(*)::integer FROM ledger_private.sealed_entry),
          'every entry is sealed');
SELECT is_empty('SELECT * FROM ledger.audit_verify()', 'audit_verify finds nothing');

-- The watermark needs ids handed out one by one, in order.
ALTER SEQUENCE ledger_private.entry_entry_id_seq CACHE 20;
SELECT throws_ok('SELECT * FROM ledger.seal_journal()', 'LD305', NULL, 'a caching entry id sequence is refused');
ALTER SEQUENCE ledger_private.entry_entry_id_seq CACHE 1 INCREMENT BY -1;
SELECT throws_ok('SELECT * FROM ledger.seal_journal()', 'LD305', NULL, 'a descending entry id sequence is refused');
ALTER SEQUENCE ledger_private.entry_entry_id_seq INCREMENT BY 1;
SELECT lives_ok('SELECT * FROM ledger.seal_journal()', 'CACHE 1, INCREMENT BY 1 is accepted');

SELECT * FROM finish();
ROLLBACK;
