-- The canonical encoding of the tamper-evident journal (docs/audit.md): fields, timestamps, dates, the Merkle root,
-- and the published test vector — a fixed entry, its legs and a seal over it must hash to exactly the values that
-- docs/audit.md lists and the Python reference implementation (tests/python/test_audit_spec.py) computes.
BEGIN;
SELECT plan(22);

-- Fields: '-' for NULL, else '<UTF-8 byte length>:<UTF-8 bytes>'.
SELECT is(ledger_private.audit_field(NULL), '\x2d'::bytea, 'NULL is the single byte "-"');
SELECT is(ledger_private.audit_field(''), convert_to('0:', 'UTF8'), 'the empty string is "0:" (not NULL)');
SELECT is(ledger_private.audit_field('-'), convert_to('1:-', 'UTF8'), 'a "-" value is "1:-" (not NULL)');
SELECT is(ledger_private.audit_field('Café ☕'), convert_to('9:Café ☕', 'UTF8'),
          'the length counts UTF-8 bytes, not characters');
SELECT isnt(ledger_private.audit_field('ab') || ledger_private.audit_field('c'),
            ledger_private.audit_field('a') || ledger_private.audit_field('bc'),
            'concatenations of different fields differ (length prefixes)');

-- Timestamps and dates: fixed UTC forms, whatever the session says.
SET LOCAL TimeZone = 'America/New_York';
SET LOCAL DateStyle = 'SQL, DMY';
SELECT is(ledger_private.audit_timestamp('2026-11-25 23:03:28.143697+00'), '2026-11-25T23:03:28.143697Z',
          'a timestamp is UTC with six fractional digits, independent of TimeZone');
SELECT is(ledger_private.audit_timestamp('2026-01-02 03:04:05+01'), '2026-01-02T02:04:05.000000Z',
          'zero microseconds are written out');
SELECT is(ledger_private.audit_date('2026-11-25'), '2026-11-25', 'a date is YYYY-MM-DD, independent of DateStyle');
SELECT is(ledger_private.audit_date('0044-03-15 BC'), '0044-03-15 BC', 'a date before year 1 carries " BC"');
SELECT is(ledger_private.audit_date('infinity'), 'infinity', 'infinity is spelled out');
RESET TimeZone;
RESET DateStyle;

-- RFC 6962 Merkle Tree Hash over 32-byte leaves (vectors computed by the Python reference implementation).
-- leaf i is sha256 of the single byte i
CREATE TEMP TABLE leaves AS
    SELECT array_agg(sha256(decode(lpad(to_hex(i), 2, '0'), 'hex')) ORDER BY i) AS h FROM generate_series(0, 4) AS i;
SELECT is(ledger_private.audit_merkle_root('{}'), sha256(''::bytea), 'no leaves: sha256 of nothing');
SELECT is(ledger_private.audit_merkle_root((SELECT h[1:1] FROM leaves)),
          sha256('\x00'::bytea || (SELECT h[1] FROM leaves)), 'one leaf: sha256(0x00 || leaf)');
SELECT is(ledger_private.audit_merkle_root((SELECT h[1:3] FROM leaves)),
          sha256('\x01'::bytea
                 || sha256('\x01'::bytea || sha256('\x00'::bytea || (SELECT h[1] FROM leaves))
                                         || sha256('\x00'::bytea || (SELECT h[2] FROM leaves)))
                 || sha256('\x00'::bytea || (SELECT h[3] FROM leaves))),
          'three leaves: the RFC 6962 split at the largest power of two below n');
SELECT is(encode(ledger_private.audit_merkle_root((SELECT h[1:5] FROM leaves)), 'hex'),
          '6b313b611b40676b9e1dfd70c4503f2379f88f0f1c2740fb7e1cacc32c113465', 'five leaves: the published vector');
SELECT is(encode(ledger_private.audit_merkle_root((SELECT h[1:4] FROM leaves)), 'hex'),
          '0dcc2b645c00dfa2338e1c7ac2c4b570beda5a476d58836e55e28bde55e6bee1', 'four leaves: the published vector');

-- The test vector of docs/audit.md: entry 42 with two legs (the second on a deferred account, so NULL sequence).
INSERT INTO ledger_private.account (book_id, account_id, code, currency, type, deferred)
OVERRIDING SYSTEM VALUE VALUES (1, 7, 'wallet:alice', 'USD', 'liability', false), (1, 9, 'merchant:7', 'USD', 'asset', true);
INSERT INTO ledger_private.entry (book_id, entry_id, idempotency_key, request_hash, description, metadata,
                                  effective_date, recorded_at, reverses_entry_id)
OVERRIDING SYSTEM VALUE VALUES (1, 42, 'payment:8431', sha256('payment:8431'::bytea), 'Café ☕ order 8431',
                                '{"order": 8431, "tags": ["a", "b"]}', '2026-11-25', '2026-11-25 23:03:28.143697+00', NULL);
INSERT INTO ledger_private.posting (book_id, entry_id, leg, account_id, amount, currency, account_seq, balance_after)
VALUES (1, 42, 1, 7, 1250, 'USD', 3, -8750), (1, 42, 2, 9, -1250, 'USD', NULL, NULL);

SELECT is((SELECT metadata::text FROM ledger_private.entry WHERE entry_id = 42), '{"tags": ["a", "b"], "order": 8431}',
          'metadata is hashed as jsonb prints it: keys by length, then bytes');
SELECT results_eq(
    $$SELECT leg, encode(leg_hash, 'hex') FROM ledger_private.audit_leg_digest WHERE entry_id = 42 ORDER BY leg$$,
    $$VALUES (1::smallint, 'e9b9cbd4f0eddd595ad9145344dd77a56fce00c5eee0a63f1fda43b08996e701'),
             (2::smallint, '4988657956df221f4435ebc4122c3eea0f41e69a08c09922e87fc79d0ca28fb4')$$,
    'the test vector''s leg hashes');
SELECT is((SELECT encode(entry_hash, 'hex') FROM ledger_private.audit_entry_digest WHERE entry_id = 42),
          'ca12f09c89940cc167011a3e5fc16e085c6da45320a8b8c0f251c123aac9a32a', 'the test vector''s entry hash');
SELECT is((SELECT legs FROM ledger_private.audit_entry_digest WHERE entry_id = 42), 2, 'it has two legs');
SELECT is(encode(ledger_private.audit_merkle_root(ARRAY['\xca12f09c89940cc167011a3e5fc16e085c6da45320a8b8c0f251c123aac9a32a'::bytea]), 'hex'),
          'ee53cca787462f166609e98b898b1082afe875b6e1cc17c811ac8feeb4c41d72', 'the Merkle root of a seal holding only it');
SELECT is(encode(ledger_private.audit_seal_hash(1, 'default', 1, 0, 42, 1,
                     '\xee53cca787462f166609e98b898b1082afe875b6e1cc17c811ac8feeb4c41d72', NULL,
                     '2026-11-25 23:04:00+00'), 'hex'),
          'd732baab8dafebed397f7f025c523291158908c5f9ea6322b0e835c821cc18e8', 'the test vector''s seal hash');
SELECT isnt(encode(ledger_private.audit_seal_hash(1, 'default', 1, 0, 42, 1,
                     '\xee53cca787462f166609e98b898b1082afe875b6e1cc17c811ac8feeb4c41d72', NULL,
                     '2026-11-25 23:04:00.000001+00'), 'hex'),
          'd732baab8dafebed397f7f025c523291158908c5f9ea6322b0e835c821cc18e8', 'a microsecond changes the seal hash');

SELECT * FROM finish();
ROLLBACK;
