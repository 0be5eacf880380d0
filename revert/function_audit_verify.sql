-- Revert dualbook:function_audit_verify from pg: back to the function of v0.2.0, which reports only the first
-- differing leg of an entry.

BEGIN;

SET LOCAL ROLE dualbook_owner;

CREATE OR REPLACE FUNCTION ledger.audit_verify()
RETURNS TABLE (ord integer, kind text, book text, seal_no bigint, entry_id bigint, subject text, detail text)
LANGUAGE sql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
WITH digest AS MATERIALIZED (
    SELECT d.book_id, d.entry_id, d.legs, d.leg_hashes, d.entry_hash FROM ledger_private.audit_entry_digest AS d
), chain AS MATERIALIZED (
    SELECT s.book_id, s.seal_no, s.from_entry_id, s.to_entry_id, s.entry_count, s.merkle_root, s.prev_hash,
           s.seal_hash,
           lag(s.seal_no) OVER w AS prev_no, lag(s.to_entry_id) OVER w AS prev_to, lag(s.seal_hash) OVER w AS prev_seal_hash,
           ledger_private.audit_seal_hash(s.book_id, b.code, s.seal_no, s.from_entry_id, s.to_entry_id, s.entry_count,
                                          s.merkle_root, s.prev_hash, s.sealed_at) AS recomputed
      FROM ledger_private.seal AS s
      LEFT JOIN ledger_private.book AS b ON b.book_id = s.book_id
    WINDOW w AS (PARTITION BY s.book_id ORDER BY s.seal_no)
), members AS (
    SELECT se.book_id, se.seal_no, count(*)::integer AS n,
           ledger_private.audit_merkle_root(array_agg(se.entry_hash ORDER BY se.entry_id)) AS root
      FROM ledger_private.sealed_entry AS se
     GROUP BY se.book_id, se.seal_no
), mark AS (
    SELECT coalesce(max(s.to_entry_id), 0) AS watermark FROM ledger_private.seal AS s
), changed AS MATERIALIZED (
    -- sealed entries that are gone or differ: only these are looked at leg by leg
    SELECT se.book_id, se.entry_id, se.seal_no, se.entry_hash, se.leg_hashes, d.entry_hash AS now_hash
      FROM ledger_private.sealed_entry AS se
      LEFT JOIN digest AS d ON d.book_id = se.book_id AND d.entry_id = se.entry_id
     WHERE d.entry_id IS NULL OR d.entry_hash <> se.entry_hash OR d.leg_hashes <> se.leg_hashes
), findings (book_id, seal_no, rank, entry_id, kind, subject, detail) AS (
    -- 1. The chain, seal by seal.
    SELECT c.book_id, c.seal_no, 1, NULL::bigint, 'seal_sequence', 'seal ' || c.seal_no,
           CASE WHEN c.prev_no IS NULL
                THEN format('the chain starts at seal %s: seal(s) 1..%s are missing', c.seal_no, c.seal_no - 1)
                ELSE format('seal %s follows seal %s: seal(s) %s..%s are missing', c.seal_no, c.prev_no,
                            c.prev_no + 1, c.seal_no - 1) END
      FROM chain AS c
     WHERE c.seal_no <> coalesce(c.prev_no, 0) + 1
    UNION ALL
    SELECT c.book_id, c.seal_no, 2, NULL, 'seal_range', 'seal ' || c.seal_no,
           format('covers entries (%s, %s], but the previous seal ends at %s', c.from_entry_id, c.to_entry_id,
                  coalesce(c.prev_to, 0))
      FROM chain AS c
     WHERE c.from_entry_id <> coalesce(c.prev_to, 0)
    UNION ALL
    SELECT c.book_id, c.seal_no, 3, NULL, 'seal_link', 'seal ' || c.seal_no,
           format('prev_hash is %s, but the hash of the seal before it (%s) is %s',
                  coalesce(encode(c.prev_hash, 'hex'), 'NULL'), coalesce('seal ' || c.prev_no, 'none'),
                  coalesce(encode(c.prev_seal_hash, 'hex'), 'NULL'))
      FROM chain AS c
     WHERE c.prev_hash IS DISTINCT FROM c.prev_seal_hash
    UNION ALL
    SELECT c.book_id, c.seal_no, 6, NULL, 'seal_hash', 'seal ' || c.seal_no,
           format('stored hash %s, but its fields hash to %s', encode(c.seal_hash, 'hex'),
                  coalesce(encode(c.recomputed, 'hex'), 'NULL'))
      FROM chain AS c
     WHERE c.recomputed IS DISTINCT FROM c.seal_hash
    UNION ALL
    SELECT c.book_id, c.seal_no, 4, NULL, 'seal_count', 'seal ' || c.seal_no,
           format('entry_count is %s, but %s entries are sealed in it', c.entry_count, coalesce(m.n, 0))
      FROM chain AS c
      LEFT JOIN members AS m ON m.book_id = c.book_id AND m.seal_no = c.seal_no
     WHERE c.entry_count <> coalesce(m.n, 0)
    UNION ALL
    SELECT c.book_id, c.seal_no, 5, NULL, 'seal_root', 'seal ' || c.seal_no,
           format('merkle_root is %s, but its sealed entry hashes give %s', encode(c.merkle_root, 'hex'),
                  encode(coalesce(m.root, sha256(''::bytea)), 'hex'))
      FROM chain AS c
      LEFT JOIN members AS m ON m.book_id = c.book_id AND m.seal_no = c.seal_no
     WHERE c.merkle_root IS DISTINCT FROM coalesce(m.root, sha256(''::bytea))
    UNION ALL
    SELECT se.book_id, se.seal_no, 0, NULL, 'seal_missing', 'seal ' || se.seal_no,
           format('is not in the chain, but %s sealed entr%s (ids %s..%s) are recorded in it', count(*),
                  CASE WHEN count(*) = 1 THEN 'y' ELSE 'ies' END, min(se.entry_id), max(se.entry_id))
      FROM ledger_private.sealed_entry AS se
      LEFT JOIN chain AS c ON c.book_id = se.book_id AND c.seal_no = se.seal_no
     WHERE c.seal_no IS NULL
     GROUP BY se.book_id, se.seal_no
    UNION ALL
    SELECT se.book_id, se.seal_no, 7, se.entry_id, 'seal_range', 'entry ' || se.entry_id,
           format('is recorded in seal %s, which covers entries (%s, %s]', se.seal_no, c.from_entry_id, c.to_entry_id)
      FROM ledger_private.sealed_entry AS se
      JOIN chain AS c ON c.book_id = se.book_id AND c.seal_no = se.seal_no
     WHERE se.entry_id <= c.from_entry_id OR se.entry_id > c.to_entry_id
    UNION ALL
    -- 2. Every sealed entry against the journal as it is now: gone, header changed, or a leg changed.
    SELECT se.book_id, se.seal_no, 10, se.entry_id,
           CASE WHEN se.now_hash IS NULL THEN 'entry_missing'
                WHEN se.now_hash = se.entry_hash THEN 'sealed_legs'
                WHEN k.leg IS NULL THEN 'entry_changed'
                WHEN k.sealed IS NULL THEN 'leg_added'
                WHEN k.leg_hash IS NULL THEN 'leg_missing'
                ELSE 'leg_changed' END,
           'entry ' || se.entry_id
               || CASE WHEN se.now_hash IS NOT NULL AND se.now_hash <> se.entry_hash AND k.leg IS NOT NULL
                       THEN ' leg ' || k.leg ELSE '' END,
           CASE WHEN se.now_hash IS NULL
                THEN format('was sealed in seal %s but is not in the journal (deleted); its postings: %s',
                            se.seal_no, (SELECT count(*) FROM ledger_private.posting AS p
                                          WHERE p.book_id = se.book_id AND p.entry_id = se.entry_id))
                WHEN se.now_hash = se.entry_hash
                THEN format('matches its sealed hash, but the leg hashes recorded for it in seal %s were altered',
                            se.seal_no)
                WHEN k.leg IS NULL
                THEN format('its header no longer matches seal %s (entry hash %s, sealed %s); now: key %s, '
                            'description %s, effective_date %s, recorded_at %s, reverses %s',
                            se.seal_no, encode(se.now_hash, 'hex'), encode(se.entry_hash, 'hex'),
                            quote_nullable(e.idempotency_key), quote_nullable(e.description),
                            ledger_private.audit_date(e.effective_date), ledger_private.audit_timestamp(e.recorded_at),
                            coalesce(e.reverses_entry_id::text, 'none'))
                WHEN k.sealed IS NULL
                THEN format('was not sealed (seal %s holds %s leg(s) of this entry); now: account %s (id %s), '
                            'amount %s %s', se.seal_no, cardinality(se.leg_hashes), quote_nullable(k.account_code),
                            k.account_id, k.amount, k.currency)
                WHEN k.leg_hash IS NULL
                THEN format('was sealed in seal %s but is not in the journal (deleted)', se.seal_no)
                ELSE format('differs from what seal %s holds; now: account %s (id %s), amount %s %s, account_seq %s, '
                            'balance_after %s', se.seal_no, quote_nullable(k.account_code), k.account_id, k.amount,
                            k.currency, coalesce(k.account_seq::text, 'NULL'), coalesce(k.balance_after::text, 'NULL'))
           END
      FROM changed AS se
      LEFT JOIN ledger_private.entry AS e ON e.book_id = se.book_id AND e.entry_id = se.entry_id
      LEFT JOIN LATERAL (
          SELECT g.k AS leg, se.leg_hashes[g.k] AS sealed, l.leg_hash, l.account_id, l.account_code, l.amount,
                 l.currency, l.account_seq, l.balance_after
            FROM generate_series(1, greatest(cardinality(se.leg_hashes),
                                             (SELECT coalesce(max(p.leg), 0) FROM ledger_private.posting AS p
                                               WHERE p.book_id = se.book_id AND p.entry_id = se.entry_id))) AS g(k)
            LEFT JOIN ledger_private.audit_leg_digest AS l
                   ON l.book_id = se.book_id AND l.entry_id = se.entry_id AND l.leg = g.k
           WHERE l.leg_hash IS DISTINCT FROM se.leg_hashes[g.k]
           ORDER BY g.k
           LIMIT 1) AS k ON se.now_hash IS NOT NULL
    UNION ALL
    -- 3. Entries no seal holds although the chain already covers their id: added after sealing.
    SELECT d.book_id, c.seal_no, 10, d.entry_id, 'entry_unsealed', 'entry ' || d.entry_id,
           CASE WHEN c.seal_no IS NOT NULL
                THEN format('is not sealed, but seal %s covers entries (%s, %s] of this book: it was added after '
                            'sealing', c.seal_no, c.from_entry_id, c.to_entry_id)
                ELSE format('is not sealed, but every entry up to %s has been sealed: it was added after sealing',
                            mk.watermark) END
      FROM digest AS d
     CROSS JOIN mark AS mk
      LEFT JOIN ledger_private.sealed_entry AS se ON se.book_id = d.book_id AND se.entry_id = d.entry_id
      LEFT JOIN chain AS c ON c.book_id = d.book_id AND d.entry_id > c.from_entry_id AND d.entry_id <= c.to_entry_id
     WHERE se.entry_id IS NULL AND d.entry_id <= mk.watermark
    UNION ALL
    -- 4. Every balance and invariant recomputed from the postings.
    SELECT b.book_id, NULL, 100, NULL, 'books:' || x.check_name, x.subject, x.detail
      FROM ledger.books_check() AS x
      LEFT JOIN ledger_private.book AS b ON b.code = x.book
)
SELECT (row_number() OVER (ORDER BY f.rank >= 100, f.book_id NULLS LAST, f.seal_no NULLS LAST, f.rank,
                                     f.entry_id NULLS FIRST, f.kind, f.subject, f.detail))::integer,
       f.kind, b.code, f.seal_no, f.entry_id, f.subject, f.detail
  FROM findings AS f
  LEFT JOIN ledger_private.book AS b ON b.book_id = f.book_id
 ORDER BY 1;
$$;
COMMENT ON FUNCTION ledger.audit_verify() IS
    'Recomputes every leg, entry and seal hash and Merkle root from the raw rows, walks each book''s seal chain, '
    'finds deleted, changed, inserted and unsealed entries, and adds books_check(); one row per finding in order '
    '(ord 1 = the first divergence), no rows = all holds. Kinds: docs/audit.md. Reads everything: run it off-peak. '
    'Errors: none of its own.';

REVOKE ALL ON FUNCTION ledger.audit_verify() FROM PUBLIC;

COMMIT;
