-- Deploy dualbook:table_currency_code_instruments to pg
-- requires: table_currency
-- Currency and asset codes as real instruments spell them: share classes and listings (BRK.B, VWCE-DE, 0700.HK)
-- and one-character codes (X). A code is 1-16 characters of A-Z, 0-9, '.', '-' and '_', starts with a letter or
-- a digit and holds at least one letter (so that no code reads as an amount). 16 is what a leg of post_entry
-- accepts as a currency. Every code the previous rule allowed (2-16 of A-Z, 0-9 and _, starting with a letter)
-- is still valid, so existing rows pass.

BEGIN;

SET LOCAL ROLE dualbook_owner;

ALTER TABLE ledger_private.currency
    DROP CONSTRAINT currency_code_check,
    ADD CONSTRAINT currency_code_check CHECK (code ~ '^[A-Z0-9][A-Z0-9._-]{0,15}$' AND code ~ '[A-Z]');

COMMIT;
