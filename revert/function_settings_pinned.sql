-- Revert dualbook:function_settings_pinned from pg

BEGIN;

SET LOCAL ROLE dualbook_owner;

ALTER FUNCTION ledger.post_entry(text, jsonb, text, jsonb, date, jsonb, text) RESET lock_timeout;
ALTER FUNCTION ledger.post_entries(jsonb, boolean, text) RESET lock_timeout;
ALTER FUNCTION ledger.reverse_entry(bigint, text, text, text) RESET lock_timeout;

ALTER FUNCTION ledger_private.account_check_row() RESET standard_conforming_strings;
ALTER FUNCTION ledger_private.add_checked(bigint,numeric,text) RESET standard_conforming_strings;
ALTER FUNCTION ledger_private.audit_merkle_root(bytea[]) RESET standard_conforming_strings;
ALTER FUNCTION ledger_private.check_assertions(integer,text[],text[],bigint[],text[],text[],bigint[],boolean[]) RESET standard_conforming_strings;
ALTER FUNCTION ledger_private.entry_document(integer,bigint) RESET standard_conforming_strings;
ALTER FUNCTION ledger_private.forbid_change() RESET standard_conforming_strings;
ALTER FUNCTION ledger_private.parsed_assertions(jsonb,integer) RESET standard_conforming_strings;
ALTER FUNCTION ledger_private.post(text,text,jsonb,text,jsonb,date,jsonb,bigint) RESET standard_conforming_strings;
ALTER FUNCTION ledger_private.post_batch_entry(text,jsonb) RESET standard_conforming_strings;
ALTER FUNCTION ledger_private.post_batch_set(integer,jsonb) RESET standard_conforming_strings;
ALTER FUNCTION ledger_private.raise_account_error(text,text,integer,boolean,text,text,text,text) RESET standard_conforming_strings;
ALTER FUNCTION ledger_private.raise_if_unbalanced(text[],bigint[]) RESET standard_conforming_strings;
ALTER FUNCTION ledger_private.raise_invalid_leg(jsonb,integer) RESET standard_conforming_strings;
ALTER FUNCTION ledger_private.raise_invalid_request(text,text,date,jsonb,integer) RESET standard_conforming_strings;
ALTER FUNCTION ledger_private.raise_limit_exceeded(json) RESET standard_conforming_strings;
ALTER FUNCTION ledger_private.range_hint(text) RESET standard_conforming_strings;
ALTER FUNCTION ledger_private.record_refusal(integer,text,bytea,text,text,text,text) RESET standard_conforming_strings;
ALTER FUNCTION ledger_private.replayed_entry(integer,text,bytea,bigint) RESET standard_conforming_strings;
ALTER FUNCTION ledger_private.require_serializable(text) RESET standard_conforming_strings;
ALTER FUNCTION ledger.audit_verify() RESET standard_conforming_strings;
ALTER FUNCTION ledger.books_check() RESET standard_conforming_strings;
ALTER FUNCTION ledger.close_account(text,text) RESET standard_conforming_strings;
ALTER FUNCTION ledger.create_account(text,text,text,bigint,bigint,jsonb,text,boolean) RESET standard_conforming_strings;
ALTER FUNCTION ledger.create_currency(text,integer,text) RESET standard_conforming_strings;
ALTER FUNCTION ledger.get_balance(text,text) RESET standard_conforming_strings;
ALTER FUNCTION ledger.get_currency(text) RESET standard_conforming_strings;
ALTER FUNCTION ledger.get_entry(bigint,text) RESET standard_conforming_strings;
ALTER FUNCTION ledger.get_entry_by_key(text,text) RESET standard_conforming_strings;
ALTER FUNCTION ledger.get_outcome(text,text) RESET standard_conforming_strings;
ALTER FUNCTION ledger.post_entries(jsonb,boolean,text) RESET standard_conforming_strings;
ALTER FUNCTION ledger.post_entry(text,jsonb,text,jsonb,date,jsonb,text) RESET standard_conforming_strings;
ALTER FUNCTION ledger.reverse_entry(bigint,text,text,text) RESET standard_conforming_strings;
ALTER FUNCTION ledger.seal_journal(integer,integer) RESET standard_conforming_strings;
ALTER FUNCTION ledger.sequence_deferred(integer) RESET standard_conforming_strings;

COMMIT;
