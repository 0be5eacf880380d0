-- Revert dualbook:function_reports from pg

BEGIN;

DROP FUNCTION ledger.month_end_report(date, date, text);
DROP FUNCTION ledger.trial_balance_as_of(date, text);
DROP FUNCTION ledger.statement(text, date, date, text, integer, text);
DROP FUNCTION ledger.balance_as_recorded(text, bigint, timestamptz, text);
DROP FUNCTION ledger.balance_as_of(text, date, text);
DROP FUNCTION ledger_private.raise_if_bad_range(date, date);
DROP FUNCTION ledger_private.parse_statement_cursor(text);
DROP FUNCTION ledger_private.balances_as_of(integer, date);
DROP FUNCTION ledger_private.report_account(integer, text, text);

COMMIT;
