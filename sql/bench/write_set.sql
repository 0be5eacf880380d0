-- pgbench workload, DIAGNOSTIC ONLY (python -m dualbook.benchsql --write-set; throwaway clusters only):
-- the rows one 2-leg posting writes -- one entry, two account balance updates, two postings -- in ONE plain SQL
-- statement straight into ledger_private, as the superuser, bypassing ledger.post_entry() and its validation.
-- It measures what the schema's write set costs by itself (heap + index inserts, CHECK constraints, triggers,
-- SSI bookkeeping, WAL), so that post_entry's figure splits into "the writes" and "the PL/pgSQL around them".
-- The rows it writes are consistent (balance_after / account_seq follow the account row), but never run it
-- against a real ledger. Same variables as post_entry.sql; assumes the default book has book_id 1.
\set a random(1, :accounts)
\set b random(1, :accounts - 1)
\set b case when :b >= :a then :b + 1 else :b end
\set amount random(1, 100000)
\set n :n + 1
WITH k AS (SELECT :run::text || ':' || :client_id::text || ':' || :n::text AS key,
                  :prefix::text || ':' || lpad(:a::text, :width::integer, '0') AS code_a,
                  :prefix::text || ':' || lpad(:b::text, :width::integer, '0') AS code_b,
                  :amount::bigint AS amount),
     e AS (INSERT INTO ledger_private.entry (book_id, idempotency_key, request_hash, effective_date)
           SELECT 1, k.key, sha256(convert_to(k.key, 'UTF8')), current_date FROM k
           ON CONFLICT DO NOTHING
           RETURNING entry_id),
     u AS (UPDATE ledger_private.account AS acc
              SET balance = acc.balance + CASE WHEN acc.code = k.code_a THEN k.amount ELSE -k.amount END,
                  seq = acc.seq + 1
             FROM k
            WHERE acc.book_id = 1 AND acc.code IN (k.code_a, k.code_b)
           RETURNING acc.account_id, acc.code = k.code_a AS is_a, acc.balance, acc.seq, k.amount)
INSERT INTO ledger_private.posting (book_id, entry_id, leg, account_id, amount, currency, account_seq, balance_after)
SELECT 1, e.entry_id, CASE WHEN u.is_a THEN 1 ELSE 2 END, u.account_id,
       CASE WHEN u.is_a THEN u.amount ELSE -u.amount END, 'USD', u.seq, u.balance
  FROM e CROSS JOIN u;
