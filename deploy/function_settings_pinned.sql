-- Deploy dualbook:function_settings_pinned to pg
-- requires: function_helpers
-- requires: function_close_account_lock_timeout
-- requires: function_seal_journal
-- requires: function_sequence_deferred
-- requires: function_get_outcome
-- requires: function_audit_verify
-- requires: function_create_book
-- PL/pgSQL (and SQL functions with a string body) parse their statements when first called in a session, with
-- that session's settings: with standard_conforming_strings off, '\d' in a pattern means 'd' and '\x00' is not a
-- bytea escape, so post_entries refused a valid effective_date (LD101) and seal_journal/audit_verify failed with
-- 22021. Every such function now runs with standard_conforming_strings = on next to its pinned search_path;
-- functions with an SQL-standard body were parsed at CREATE and are inlined, so they take no SET clause (a SET
-- would stop the inlining). book_id(), checked_metadata() (function_helpers) and create_book() (its rework) have
-- it in their definitions.
-- The posting functions also pin lock_timeout = 2s (the application role's default): an open transaction of the
-- application holding an account row makes a posting fail with 55P03 after 2 s, whatever lock_timeout the
-- session set, instead of hanging and queueing every later posting of that account behind it.
-- ALTER FUNCTION keeps body, owner and grants. A later CREATE OR REPLACE of any of these functions must carry
-- the same SET clauses: tests/pgtap/function_settings.sql fails otherwise.

BEGIN;

SET LOCAL ROLE dualbook_owner;

ALTER FUNCTION ledger_private.account_check_row() SET standard_conforming_strings = on;
ALTER FUNCTION ledger_private.add_checked(bigint,numeric,text) SET standard_conforming_strings = on;
ALTER FUNCTION ledger_private.audit_merkle_root(bytea[]) SET standard_conforming_strings = on;
ALTER FUNCTION ledger_private.check_assertions(integer,text[],text[],bigint[],text[],text[],bigint[],boolean[]) SET standard_conforming_strings = on;
ALTER FUNCTION ledger_private.entry_document(integer,bigint) SET standard_conforming_strings = on;
ALTER FUNCTION ledger_private.forbid_change() SET standard_conforming_strings = on;
ALTER FUNCTION ledger_private.parsed_assertions(jsonb,integer) SET standard_conforming_strings = on;
ALTER FUNCTION ledger_private.post(text,text,jsonb,text,jsonb,date,jsonb,bigint) SET standard_conforming_strings = on;
ALTER FUNCTION ledger_private.post_batch_entry(text,jsonb) SET standard_conforming_strings = on;
ALTER FUNCTION ledger_private.post_batch_set(integer,jsonb) SET standard_conforming_strings = on;
ALTER FUNCTION ledger_private.raise_account_error(text,text,integer,boolean,text,text,text,text) SET standard_conforming_strings = on;
ALTER FUNCTION ledger_private.raise_if_unbalanced(text[],bigint[]) SET standard_conforming_strings = on;
ALTER FUNCTION ledger_private.raise_invalid_leg(jsonb,integer) SET standard_conforming_strings = on;
ALTER FUNCTION ledger_private.raise_invalid_request(text,text,date,jsonb,integer) SET standard_conforming_strings = on;
ALTER FUNCTION ledger_private.raise_limit_exceeded(json) SET standard_conforming_strings = on;
ALTER FUNCTION ledger_private.range_hint(text) SET standard_conforming_strings = on;
ALTER FUNCTION ledger_private.record_refusal(integer,text,bytea,text,text,text,text) SET standard_conforming_strings = on;
ALTER FUNCTION ledger_private.replayed_entry(integer,text,bytea,bigint) SET standard_conforming_strings = on;
ALTER FUNCTION ledger_private.require_serializable(text) SET standard_conforming_strings = on;
ALTER FUNCTION ledger.audit_verify() SET standard_conforming_strings = on;
ALTER FUNCTION ledger.books_check() SET standard_conforming_strings = on;
ALTER FUNCTION ledger.close_account(text,text) SET standard_conforming_strings = on;
ALTER FUNCTION ledger.create_account(text,text,text,bigint,bigint,jsonb,text,boolean) SET standard_conforming_strings = on;
ALTER FUNCTION ledger.create_currency(text,integer,text) SET standard_conforming_strings = on;
ALTER FUNCTION ledger.get_balance(text,text) SET standard_conforming_strings = on;
ALTER FUNCTION ledger.get_currency(text) SET standard_conforming_strings = on;
ALTER FUNCTION ledger.get_entry(bigint,text) SET standard_conforming_strings = on;
ALTER FUNCTION ledger.get_entry_by_key(text,text) SET standard_conforming_strings = on;
ALTER FUNCTION ledger.get_outcome(text,text) SET standard_conforming_strings = on;
ALTER FUNCTION ledger.post_entries(jsonb,boolean,text) SET standard_conforming_strings = on;
ALTER FUNCTION ledger.post_entry(text,jsonb,text,jsonb,date,jsonb,text) SET standard_conforming_strings = on;
ALTER FUNCTION ledger.reverse_entry(bigint,text,text,text) SET standard_conforming_strings = on;
ALTER FUNCTION ledger.seal_journal(integer,integer) SET standard_conforming_strings = on;
ALTER FUNCTION ledger.sequence_deferred(integer) SET standard_conforming_strings = on;

ALTER FUNCTION ledger.post_entry(text, jsonb, text, jsonb, date, jsonb, text) SET lock_timeout = '2s';
ALTER FUNCTION ledger.post_entries(jsonb, boolean, text) SET lock_timeout = '2s';
ALTER FUNCTION ledger.reverse_entry(bigint, text, text, text) SET lock_timeout = '2s';

COMMIT;
