-- The export views give every hashed field in exactly the text it is hashed as: hashing the view rows with the
-- documented encoding reproduces the entry and seal hashes, whatever the session's TimeZone and DateStyle.
BEGIN;
SELECT plan(8);

SELECT has_view('ledger', 'audit_entries', 'ledger.audit_entries exists');
SELECT has_view('ledger', 'audit_postings', 'ledger.audit_postings exists');
SELECT has_view('ledger', 'audit_seals', 'ledger.audit_seals exists');
SELECT has_view('ledger', 'audit_sealed_entries', 'ledger.audit_sealed_entries exists');

INSERT INTO ledger_private.account (book_id, code, currency, type, deferred)
VALUES (1, 'x:cash', 'USD', 'asset', false), (1, 'x:fees', 'USD', 'income', true);
INSERT INTO ledger_private.entry (book_id, idempotency_key, request_hash, description, metadata, effective_date)
VALUES (1, 'x:1', sha256('x:1'::bytea), 'Zürich', '{"b": {"z": 1, "a": [true, null]}, "a": "\n"}', '2026-02-28');
INSERT INTO ledger_private.posting (book_id, entry_id, leg, account_id, amount, currency, account_seq, balance_after)
SELECT 1, e.entry_id, 1, (SELECT account_id FROM ledger_private.account WHERE code = 'x:cash'), 9223372036854775807, 'USD', 1, 9223372036854775807
  FROM ledger_private.entry AS e WHERE e.idempotency_key = 'x:1'
UNION ALL
SELECT 1, e.entry_id, 2, (SELECT account_id FROM ledger_private.account WHERE code = 'x:fees'), -9223372036854775807, 'USD', NULL, NULL
  FROM ledger_private.entry AS e WHERE e.idempotency_key = 'x:1';
SELECT is((SELECT status FROM ledger.seal_journal()), 'sealed', 'setup: sealed');

SET LOCAL TimeZone = 'Asia/Kathmandu';
SET LOCAL DateStyle = 'German';
-- The entry hash recomputed from nothing but the export views' text.
SELECT is(
    (SELECT encode(sha256(
         ledger_private.audit_field('dualbook/entry/v1') || ledger_private.audit_field(e.book_id::text)
         || ledger_private.audit_field(e.entry_id::text) || ledger_private.audit_field(e.idempotency_key)
         || ledger_private.audit_field(e.request_hash) || ledger_private.audit_field(e.description)
         || ledger_private.audit_field(e.metadata) || ledger_private.audit_field(e.effective_date)
         || ledger_private.audit_field(e.recorded_at) || ledger_private.audit_field(e.reverses_entry_id::text)
         || ledger_private.audit_field('2')
         || (SELECT string_agg(ledger_private.audit_field(encode(sha256(
                ledger_private.audit_field('dualbook/leg/v1') || ledger_private.audit_field(p.book_id::text)
                || ledger_private.audit_field(p.entry_id::text) || ledger_private.audit_field(p.leg::text)
                || ledger_private.audit_field(p.account_id::text) || ledger_private.audit_field(p.account_code)
                || ledger_private.audit_field(p.amount::text) || ledger_private.audit_field(p.currency)
                || ledger_private.audit_field(p.account_seq::text) || ledger_private.audit_field(p.balance_after::text)),
                'hex')), ''::bytea ORDER BY p.leg)
               FROM ledger.audit_postings AS p WHERE p.entry_id = e.entry_id)), 'hex')
       FROM ledger.audit_entries AS e WHERE e.idempotency_key = 'x:1'),
    (SELECT se.entry_hash FROM ledger.audit_sealed_entries AS se
       JOIN ledger.audit_entries AS e USING (book_id, entry_id) WHERE e.idempotency_key = 'x:1'),
    'the export views'' text hashes to the sealed entry hash (64-bit extremes, non-ASCII, nested metadata)');
SELECT is(
    (SELECT encode(sha256(
         ledger_private.audit_field('dualbook/seal/v1') || ledger_private.audit_field(s.book_id::text)
         || ledger_private.audit_field(s.book_code) || ledger_private.audit_field(s.seal_no::text)
         || ledger_private.audit_field(s.from_entry_id::text) || ledger_private.audit_field(s.to_entry_id::text)
         || ledger_private.audit_field(s.entry_count::text) || ledger_private.audit_field(s.merkle_root)
         || ledger_private.audit_field(s.prev_hash) || ledger_private.audit_field(s.sealed_at)), 'hex')
       FROM ledger.audit_seals AS s),
    (SELECT seal_hash FROM ledger.audit_seals),
    'the export views'' text hashes to the seal hash');
SELECT ok((SELECT recorded_at ~ '^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$' AND effective_date = '2026-02-28'
             FROM ledger.audit_entries WHERE idempotency_key = 'x:1'),
          'timestamps and dates come out in the canonical form under another TimeZone and DateStyle');

SELECT * FROM finish();
ROLLBACK;
