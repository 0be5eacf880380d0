-- Revert dualbook:holds from pg
-- Drops the hold functions, tables and the account's held_* columns. post() and post_entries read those columns
-- through to_jsonb() of the account row, so they keep working without them (no holds, no held limits).

BEGIN;

DROP FUNCTION ledger.pending_as_of(timestamptz, text);
DROP FUNCTION ledger.get_available(text, text);
DROP FUNCTION ledger.get_hold(bigint, text);
DROP FUNCTION ledger.expire_holds(text, integer);
DROP FUNCTION ledger.void_hold(bigint, text, text);
DROP FUNCTION ledger.capture_hold(bigint, text, bigint, text);
DROP FUNCTION ledger.hold_entry(text, jsonb, text, jsonb, date, timestamptz, text);
DROP FUNCTION ledger_private.raise_hold_resolved(bigint, text, text, timestamptz);
DROP FUNCTION ledger_private.raise_unknown_hold(bigint, text);
DROP FUNCTION ledger_private.adjust_held(bigint, integer, timestamptz);
DROP FUNCTION ledger_private.held_amounts(integer, jsonb);
DROP FUNCTION ledger_private.outstanding_hold_legs(integer, bigint, timestamptz);
DROP TABLE ledger_private.hold_resolution;
DROP TABLE ledger_private.hold_leg;
DROP TABLE ledger_private.hold;
ALTER TABLE ledger_private.account DROP COLUMN held_debit, DROP COLUMN held_credit, DROP COLUMN held_until;

COMMIT;
