-- Deploy dualbook:function_seal_journal to pg
-- requires: function_seal_journal@v0.2.0
-- requires: table_worker_lock
-- Reworked so that no other role can stop the sealer (docs/security.md §7): its lock is its row of
-- ledger_private.worker_lock, taken FOR UPDATE SKIP LOCKED, instead of an advisory lock, which every role can take
-- (an application session holding pg_advisory_lock(hashtext('dualbook.seal_journal')) made every pass 'busy').
-- Nobody but the owner may lock that row, and only this function does. lock_timeout is pinned in the definition,
-- so what is left to wait for (a relation lock held by a migration) is bounded whatever the session set.
-- Unchanged: the watermark and the chains (the comments of function_seal_journal@v0.2.0 describe them).

BEGIN;

SET LOCAL ROLE dualbook_owner;

CREATE OR REPLACE FUNCTION ledger.seal_journal(
    p_max integer DEFAULT 10000,
    p_wait_ms integer DEFAULT 2000,
    OUT status text,
    OUT entries integer,
    OUT seals integer,
    OUT sealed_through bigint,
    OUT waiting_for integer[]
)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET lock_timeout = '5s'
SET jit = off  -- a pass is small and frequent: compiling its plans would cost more than it saves
AS $$
DECLARE
    v_entry constant regclass := 'ledger_private.entry'::regclass;
    v_seq regclass;
    v_db oid;
    v_last bigint;
    v_done bigint;
    v_to bigint;
    v_n integer;
    v_vx text[];
    v_deadline timestamptz;
    v_sleep double precision := 0.001;
    v_book record;
    v_prev_no bigint;
    v_prev_from bigint;
    v_prev_to bigint;
    v_prev_count integer;
    v_prev_root bytea;
    v_prev_prev bytea;
    v_prev_at timestamptz;
    v_prev_hash bytea;
    v_no bigint;
    v_hashes bytea[];
    v_root bytea;
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'ledger.seal_journal must run in READ COMMITTED (this transaction is %)',
            upper(current_setting('transaction_isolation'))
            USING ERRCODE = 'LD303',
                  DETAIL = json_build_object('function', 'ledger.seal_journal',
                                             'isolation', current_setting('transaction_isolation'))::text,
                  HINT = 'It needs a fresh snapshot per statement: call it in its own READ COMMITTED transaction.';
    END IF;
    IF p_max IS NULL OR p_max < 1 THEN
        RAISE EXCEPTION 'p_max must be a positive number of entries'
            USING ERRCODE = 'LD101', DETAIL = json_build_object('argument', 'max')::text;
    END IF;
    IF p_wait_ms IS NULL OR p_wait_ms NOT BETWEEN 0 AND 600000 THEN
        RAISE EXCEPTION 'p_wait_ms must be 0-600000 milliseconds'
            USING ERRCODE = 'LD101', DETAIL = json_build_object('argument', 'wait_ms')::text;
    END IF;
    v_seq := pg_get_serial_sequence('ledger_private.entry', 'entry_id')::regclass;
    IF NOT EXISTS (SELECT 1 FROM pg_sequence AS s WHERE s.seqrelid = v_seq AND s.seqcache = 1 AND s.seqincrement > 0) THEN
        RAISE EXCEPTION 'the entry id sequence % does not hand out ids one by one in increasing order', v_seq
            USING ERRCODE = 'LD305',
                  DETAIL = json_build_object('sequence', v_seq::text)::text,
                  HINT = format('ALTER SEQUENCE %s CACHE 1 INCREMENT BY 1', v_seq);
    END IF;

    entries := 0;
    seals := 0;
    -- The sealer's own lock: a row nobody but the owner may lock (table_worker_lock).
    PERFORM 1 FROM ledger_private.worker_lock AS w WHERE w.purpose = 'seal_journal' FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
        status := 'busy';  -- another sealer is running: it does this work
        RETURN;
    END IF;

    -- W: every committed entry with an id up to here is sealed (the newest seal of each book ends at most here).
    SELECT coalesce(max(h.to_entry_id), 0) INTO v_done
      FROM ledger_private.book AS b
     CROSS JOIN LATERAL (SELECT s.to_entry_id FROM ledger_private.seal AS s
                          WHERE s.book_id = b.book_id ORDER BY s.seal_no DESC LIMIT 1) AS h;
    sealed_through := v_done;

    -- 1. L: the highest id handed out so far; every id handed out from now on is larger.
    v_last := pg_sequence_last_value(v_seq);
    IF v_last IS NULL OR v_last <= v_done THEN
        status := 'idle';
        RETURN;
    END IF;

    -- 2. Who may still commit an id <= L: every transaction holding ROW EXCLUSIVE on entry now.
    SELECT d.oid INTO v_db FROM pg_database AS d WHERE d.datname = current_database();
    SELECT array_agg(DISTINCT l.virtualtransaction) INTO v_vx
      FROM pg_locks AS l
     WHERE l.locktype = 'relation' AND l.database = v_db AND l.relation = v_entry
       AND l.mode = 'RowExclusiveLock' AND l.pid IS DISTINCT FROM pg_backend_pid();

    -- 3. Wait, without a lock anyone could queue behind, until each of them has committed or aborted.
    v_deadline := clock_timestamp() + make_interval(secs => p_wait_ms / 1000.0);
    WHILE v_vx IS NOT NULL LOOP
        SELECT array_agg(DISTINCT l.virtualtransaction) INTO v_vx
          FROM pg_locks AS l
         WHERE l.locktype = 'relation' AND l.database = v_db AND l.relation = v_entry
           AND l.mode = 'RowExclusiveLock' AND l.virtualtransaction = ANY (v_vx);
        EXIT WHEN v_vx IS NULL;
        IF clock_timestamp() >= v_deadline THEN
            status := 'waiting';  -- NULL in waiting_for: a prepared transaction
            SELECT array_agg(DISTINCT l.pid) INTO waiting_for
              FROM pg_locks AS l
             WHERE l.locktype = 'relation' AND l.database = v_db AND l.relation = v_entry
               AND l.mode = 'RowExclusiveLock' AND l.virtualtransaction = ANY (v_vx);
            RETURN;
        END IF;
        PERFORM pg_sleep(v_sleep);
        v_sleep := least(v_sleep * 2, 0.05);
    END LOOP;

    -- 4. A fresh snapshot: every entry with an id <= L that will ever commit is visible now. Take the oldest
    --    p_max of (W, L]; if that is not all of them, this pass ends at the last one taken.
    SELECT count(*), max(x.entry_id) INTO v_n, v_to
      FROM (SELECT e.entry_id
              FROM ledger_private.book AS b
             CROSS JOIN LATERAL (SELECT e.entry_id FROM ledger_private.entry AS e
                                  WHERE e.book_id = b.book_id AND e.entry_id > v_done AND e.entry_id <= v_last
                                  ORDER BY e.entry_id LIMIT p_max) AS e
             ORDER BY e.entry_id LIMIT p_max) AS x;
    IF v_n = 0 THEN
        status := 'idle';  -- the ids in (W, L] were all rolled back
        RETURN;
    END IF;
    IF v_n < p_max THEN
        v_to := v_last;
    END IF;

    -- 5. One seal per book with entries in (W, new watermark], each continuing its book's chain.
    FOR v_book IN
        SELECT b.book_id, b.code FROM ledger_private.book AS b
         WHERE EXISTS (SELECT 1 FROM ledger_private.entry AS e
                        WHERE e.book_id = b.book_id AND e.entry_id > v_done AND e.entry_id <= v_to)
         ORDER BY b.book_id
    LOOP
        v_prev_no := NULL;
        SELECT s.seal_no, s.from_entry_id, s.to_entry_id, s.entry_count, s.merkle_root, s.prev_hash, s.sealed_at,
               s.seal_hash
          INTO v_prev_no, v_prev_from, v_prev_to, v_prev_count, v_prev_root, v_prev_prev, v_prev_at, v_prev_hash
          FROM ledger_private.seal AS s
         WHERE s.book_id = v_book.book_id
         ORDER BY s.seal_no DESC LIMIT 1;
        IF v_prev_no IS NOT NULL
           AND ledger_private.audit_seal_hash(v_book.book_id, v_book.code, v_prev_no, v_prev_from, v_prev_to,
                                              v_prev_count, v_prev_root, v_prev_prev, v_prev_at)
               IS DISTINCT FROM v_prev_hash THEN
            RAISE EXCEPTION 'seal % of book % does not match its own hash: the chain was tampered with',
                v_prev_no, quote_literal(v_book.code)
                USING ERRCODE = 'LD304',
                      DETAIL = json_build_object('book', v_book.code, 'seal_no', v_prev_no)::text,
                      HINT = 'Run dualbook audit verify to find the first divergence; nothing was sealed.';
        END IF;
        v_no := coalesce(v_prev_no, 0) + 1;

        WITH sealed AS (
            INSERT INTO ledger_private.sealed_entry (book_id, entry_id, seal_no, entry_hash, leg_hashes)
            SELECT d.book_id, d.entry_id, v_no, d.entry_hash, d.leg_hashes
              FROM ledger_private.audit_entry_digest AS d
             WHERE d.book_id = v_book.book_id AND d.entry_id > v_done AND d.entry_id <= v_to
            RETURNING sealed_entry.entry_id, sealed_entry.entry_hash
        )
        SELECT count(*), array_agg(s.entry_hash ORDER BY s.entry_id) INTO v_n, v_hashes FROM sealed AS s;

        v_root := ledger_private.audit_merkle_root(v_hashes);
        INSERT INTO ledger_private.seal (book_id, seal_no, from_entry_id, to_entry_id, entry_count, merkle_root,
                                         prev_hash, sealed_at, seal_hash)
        VALUES (v_book.book_id, v_no, coalesce(v_prev_to, 0), v_to, v_n, v_root, v_prev_hash, now(),
                ledger_private.audit_seal_hash(v_book.book_id, v_book.code, v_no, coalesce(v_prev_to, 0), v_to, v_n,
                                               v_root, v_prev_hash, now()));
        entries := entries + v_n;
        seals := seals + 1;
    END LOOP;
    status := 'sealed';
    sealed_through := v_to;
END
$$;
COMMENT ON FUNCTION ledger.seal_journal(integer, integer) IS
    'The sealer: seal up to p_max committed entries, oldest id first, into one new seal per book, behind a watermark '
    'no concurrent commit can precede (docs/audit.md); waits up to p_wait_ms for transactions that may still commit '
    'a lower id. status: sealed | idle (nothing new) | busy (another sealer runs) | waiting (waiting_for: their pids). '
    'Run it in READ COMMITTED, in its own transaction, often (dualbook audit seal --every 1). '
    'Errors: LD101 (p_max, p_wait_ms), LD303 wrong_isolation, LD304 seal_chain_broken, LD305 unsafe_entry_ids.';

REVOKE ALL ON FUNCTION ledger.seal_journal(integer, integer) FROM PUBLIC;

COMMIT;
