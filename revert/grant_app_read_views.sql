-- Revert dualbook:grant_app_read_views from pg

BEGIN;

SET LOCAL ROLE dualbook_owner;

REVOKE SELECT ON ledger.currencies, ledger.accounts, ledger.trial_balance FROM dualbook_app;
REVOKE EXECUTE ON FUNCTION ledger_private.normal_balance(text, bigint), ledger_private.int64_or_null(numeric)
    FROM dualbook_app;

COMMIT;
