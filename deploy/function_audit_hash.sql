-- Deploy dualbook:function_audit_hash to pg
-- requires: table_audit_seal
-- requires: table_posting_deferred
-- requires: table_account
-- The canonical byte encoding of legs, entries and seals, and their SHA-256 (PostgreSQL's built-in sha256()).
-- docs/audit.md is the specification; pyadapter/dualbook/auditspec.py re-implements it in plain Python, and the
-- tests check that both agree. Changing anything here changes every hash: a new encoding needs a new version tag
-- ('dualbook/leg/v2', ...) and a new Sqitch change, never an edit of this one.
--
-- Field encoding: NULL is the single byte '-'; a value is its text, as UTF-8, prefixed by the decimal number of
-- those bytes and ':' ('5:hello', '0:' for the empty string). A field therefore starts with '-' or a digit and its
-- end is known from its prefix, so a concatenation of fields splits in exactly one way.
--   leg   = sha256('dualbook/leg/v1' book_id entry_id leg account_id account_code amount currency account_seq
--                   balance_after)
--   entry = sha256('dualbook/entry/v1' book_id entry_id idempotency_key request_hash description metadata
--                   effective_date recorded_at reverses_entry_id number_of_legs leg_hash_1 ... leg_hash_n)
--   seal  = sha256('dualbook/seal/v1' book_id book_code seal_no from_entry_id to_entry_id entry_count merkle_root
--                   prev_hash sealed_at)
-- (every item one field). Integers in decimal; hashes and request_hash in lowercase hex; metadata as PostgreSQL
-- prints jsonb; dates 'YYYY-MM-DD'; timestamps in UTC 'YYYY-MM-DDTHH:MM:SS.ffffffZ'. The Merkle root of a seal
-- is RFC 6962's Merkle Tree Hash over its entries' hashes (raw 32 bytes each) in entry id order.

BEGIN;

-- The encoding is defined on UTF-8 bytes; in a UTF8 database a text value's bytes are its UTF-8 bytes, so a field
-- can be built as text (octet_length = UTF-8 length) and a whole encoding converted once, before hashing.
DO $$
BEGIN
    IF current_setting('server_encoding') <> 'UTF8' THEN
        RAISE EXCEPTION 'the tamper-evident journal needs a UTF8 database (this one is %)', current_setting('server_encoding')
            USING HINT = 'CREATE DATABASE ... ENCODING ''UTF8'' (dualbook''s own clusters are created with --encoding=UTF8).';
    END IF;
END
$$;

-- One field, as text: '-' for NULL, else '<number of UTF-8 bytes>:<the value>'. A single expression, so the
-- planner inlines it.
CREATE FUNCTION ledger_private.audit_field_text(p_value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN p_value IS NULL THEN '-' ELSE octet_length(p_value)::text || ':' || p_value END;
COMMENT ON FUNCTION ledger_private.audit_field_text(text) IS
    'One field of the canonical encoding (docs/audit.md) as text: ''-'' for NULL, else ''<UTF-8 byte length>:<value>''.';

-- The same field as bytes (what docs/audit.md specifies; the views hash whole encodings built with the text form).
CREATE FUNCTION ledger_private.audit_field(p_value text) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE
RETURN convert_to(ledger_private.audit_field_text(p_value), 'UTF8');
COMMENT ON FUNCTION ledger_private.audit_field(text) IS
    'One field of the canonical encoding (docs/audit.md): ''-'' for NULL, else ''<UTF-8 byte length>:<UTF-8 bytes>''.';

-- A timestamp in UTC with microseconds: 2026-11-25T23:03:28.143697Z (' BC' appended before year 1;
-- 'infinity' / '-infinity' as themselves). Independent of the session's TimeZone and DateStyle.
CREATE FUNCTION ledger_private.audit_timestamp(p_value timestamptz) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
RETURN CASE WHEN NOT isfinite(p_value) THEN p_value::text
            ELSE to_char(p_value AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
                 || CASE WHEN p_value < '0001-01-01 00:00:00+00'::timestamptz THEN ' BC' ELSE '' END END;
COMMENT ON FUNCTION ledger_private.audit_timestamp(timestamptz) IS
    'A timestamp in its canonical text: UTC, microseconds, e.g. 2026-11-25T23:03:28.143697Z (docs/audit.md).';

-- A date: 2026-11-25 (' BC' appended before year 1; 'infinity' / '-infinity' as themselves).
CREATE FUNCTION ledger_private.audit_date(p_value date) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
RETURN CASE WHEN NOT isfinite(p_value) THEN p_value::text
            ELSE to_char(p_value, 'YYYY-MM-DD') || CASE WHEN p_value < '0001-01-01'::date THEN ' BC' ELSE '' END END;
COMMENT ON FUNCTION ledger_private.audit_date(date) IS
    'A date in its canonical text, e.g. 2026-11-25 (docs/audit.md).';

-- Every posting with its leg hash. LEFT JOIN: a posting whose account is gone still gets a hash (account_code
-- encoded as NULL), so the verifier can point at it. Each encoding is built as one text and converted once.
CREATE VIEW ledger_private.audit_leg_digest AS
    SELECT p.book_id, p.entry_id, p.leg, p.account_id, a.code AS account_code, p.amount, p.currency,
           p.account_seq, p.balance_after,
           sha256(convert_to(concat('15:dualbook/leg/v1',
                                    ledger_private.audit_field_text(p.book_id::text),
                                    ledger_private.audit_field_text(p.entry_id::text),
                                    ledger_private.audit_field_text(p.leg::text),
                                    ledger_private.audit_field_text(p.account_id::text),
                                    ledger_private.audit_field_text(a.code),
                                    ledger_private.audit_field_text(p.amount::text),
                                    ledger_private.audit_field_text(p.currency),
                                    ledger_private.audit_field_text(p.account_seq::text),
                                    ledger_private.audit_field_text(p.balance_after::text)), 'UTF8')) AS leg_hash
      FROM ledger_private.posting AS p
      LEFT JOIN ledger_private.account AS a ON a.book_id = p.book_id AND a.account_id = p.account_id;
COMMENT ON VIEW ledger_private.audit_leg_digest IS 'Every posting with its leg hash (docs/audit.md).';

-- Every entry with its legs' hashes (in leg order) and its entry hash, recomputed from the raw rows.
CREATE VIEW ledger_private.audit_entry_digest AS
    SELECT e.book_id, e.entry_id, coalesce(l.n, 0)::integer AS legs,
           coalesce(l.leg_hashes, '{}'::bytea[]) AS leg_hashes,
           sha256(convert_to(concat('17:dualbook/entry/v1',
                                    ledger_private.audit_field_text(e.book_id::text),
                                    ledger_private.audit_field_text(e.entry_id::text),
                                    ledger_private.audit_field_text(e.idempotency_key),
                                    ledger_private.audit_field_text(encode(e.request_hash, 'hex')),
                                    ledger_private.audit_field_text(e.description),
                                    ledger_private.audit_field_text(e.metadata::text),
                                    ledger_private.audit_field_text(ledger_private.audit_date(e.effective_date)),
                                    ledger_private.audit_field_text(ledger_private.audit_timestamp(e.recorded_at)),
                                    ledger_private.audit_field_text(e.reverses_entry_id::text),
                                    ledger_private.audit_field_text(coalesce(l.n, 0)::text),
                                    l.leg_fields), 'UTF8')) AS entry_hash
      FROM ledger_private.entry AS e
      LEFT JOIN LATERAL (
          SELECT count(*) AS n,
                 array_agg(d.leg_hash ORDER BY d.leg) AS leg_hashes,
                 string_agg('64:' || encode(d.leg_hash, 'hex'), '' ORDER BY d.leg) AS leg_fields
            FROM ledger_private.audit_leg_digest AS d
           WHERE d.book_id = e.book_id AND d.entry_id = e.entry_id) AS l ON true;
COMMENT ON VIEW ledger_private.audit_entry_digest IS
    'Every entry with its leg hashes (leg order) and entry hash, recomputed from the raw rows (docs/audit.md).';

-- RFC 6962 Merkle Tree Hash over 32-byte leaves: leaf = sha256(0x00 || h), node = sha256(0x01 || left || right);
-- computed level by level, an odd last node moving up unchanged (which yields the RFC's tree). Empty: sha256('').
-- Linear: each level is one pass over the previous one.
CREATE FUNCTION ledger_private.audit_merkle_root(p_hashes bytea[]) RETURNS bytea
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_level bytea[];
    v_n integer := coalesce(cardinality(p_hashes), 0);
BEGIN
    IF v_n = 0 THEN
        RETURN sha256(''::bytea);
    END IF;
    SELECT array_agg(sha256('\x00'::bytea || h.hash) ORDER BY h.i) INTO v_level
      FROM unnest(p_hashes) WITH ORDINALITY AS h(hash, i);
    -- Pair neighbours with lead() over unnest(): subscripting a bytea[] is linear in the index (its elements
    -- have variable length), so v_level[i] in a loop would make a level quadratic.
    WHILE v_n > 1 LOOP
        SELECT array_agg(CASE WHEN x.nxt IS NULL THEN x.hash ELSE sha256('\x01'::bytea || x.hash || x.nxt) END
                         ORDER BY x.i)
          INTO v_level
          FROM (SELECT h.hash, h.i, lead(h.hash) OVER (ORDER BY h.i) AS nxt
                  FROM unnest(v_level) WITH ORDINALITY AS h(hash, i)) AS x
         WHERE x.i % 2 = 1;
        v_n := (v_n + 1) / 2;
    END LOOP;
    RETURN v_level[1];
END
$$;
COMMENT ON FUNCTION ledger_private.audit_merkle_root(bytea[]) IS
    'RFC 6962 Merkle Tree Hash of 32-byte hashes (leaf 0x00, node 0x01 prefixes); sha256('''') when empty.';

CREATE FUNCTION ledger_private.audit_seal_hash(
    p_book_id integer, p_book_code text, p_seal_no bigint, p_from bigint, p_to bigint, p_count integer,
    p_merkle_root bytea, p_prev_hash bytea, p_sealed_at timestamptz
) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE
RETURN sha256(convert_to(concat('16:dualbook/seal/v1',
                                ledger_private.audit_field_text(p_book_id::text),
                                ledger_private.audit_field_text(p_book_code),
                                ledger_private.audit_field_text(p_seal_no::text),
                                ledger_private.audit_field_text(p_from::text),
                                ledger_private.audit_field_text(p_to::text),
                                ledger_private.audit_field_text(p_count::text),
                                ledger_private.audit_field_text(encode(p_merkle_root, 'hex')),
                                ledger_private.audit_field_text(encode(p_prev_hash, 'hex')),
                                ledger_private.audit_field_text(ledger_private.audit_timestamp(p_sealed_at))), 'UTF8'));
COMMENT ON FUNCTION ledger_private.audit_seal_hash(integer, text, bigint, bigint, bigint, integer, bytea, bytea, timestamptz) IS
    'The hash of a seal from its fields (docs/audit.md).';

REVOKE ALL ON FUNCTION ledger_private.audit_field_text(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION ledger_private.audit_field(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION ledger_private.audit_timestamp(timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION ledger_private.audit_date(date) FROM PUBLIC;
REVOKE ALL ON FUNCTION ledger_private.audit_merkle_root(bytea[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION ledger_private.audit_seal_hash(integer, text, bigint, bigint, bigint, integer, bytea, bytea, timestamptz) FROM PUBLIC;

COMMIT;
