-- Every error stays short whatever the caller sent: a value an error repeats goes through ledger_private.echo()
-- (whole up to 256 characters, else 256 and '...(+N chars)'). Each call below passes a 1,000,000-character text
-- where a code, key, name, type or book belongs, and its error (message + DETAIL + HINT) must stay under 2,000
-- characters with its documented SQLSTATE. Before, create_account(repeat('x', 1000000), ...) raised a
-- 1,000,023-character message.
BEGIN;
SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;
SELECT plan(40);

-- The SQLSTATE and the length of message + DETAIL + HINT of the error p_sql raises.
CREATE FUNCTION pg_temp.error_of(p_sql text, OUT state text, OUT size integer, OUT message text)
LANGUAGE plpgsql AS $$
DECLARE
    v_detail text;
    v_hint text;
BEGIN
    EXECUTE p_sql;
    state := 'none';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT, v_detail = PG_EXCEPTION_DETAIL,
                            v_hint = PG_EXCEPTION_HINT;
    size := length(message) + coalesce(length(v_detail), 0) + coalesce(length(v_hint), 0);
END
$$;

SELECT ok((ledger.create_account('cash', 'USD', 'asset')).created, 'setup: cash');
SELECT ok((ledger.create_account('wallet', 'USD', 'liability')).created, 'setup: wallet');
SELECT is((ledger.post_entry('k1', '[{"account": "cash", "amount": 5, "currency": "USD"},
                                     {"account": "wallet", "amount": -5, "currency": "USD"}]')).status,
          'posted', 'setup: entry 1');
CREATE FUNCTION pg_temp.k1() RETURNS bigint LANGUAGE sql
AS $$ SELECT entry_id FROM ledger_private.entry WHERE idempotency_key = 'k1' $$;
CREATE TEMP TABLE big AS SELECT repeat('x', 1000000) AS x, repeat('X', 1000000) AS u;
CREATE TEMP TABLE calls (what text, sql text, code text);
INSERT INTO calls VALUES
 ('create_account: code', $$SELECT ledger.create_account((SELECT x FROM big), 'USD', 'asset')$$, 'LD101'),
 ('create_account: currency', $$SELECT ledger.create_account('a1', (SELECT u FROM big), 'asset')$$, 'LD108'),
 ('create_account: type', $$SELECT ledger.create_account('a1', 'USD', (SELECT x FROM big))$$, 'LD101'),
 ('create_account: book', $$SELECT ledger.create_account('a1', 'USD', 'asset', NULL, NULL, NULL, (SELECT x FROM big))$$, 'LD210'),
 ('close_account: code', $$SELECT ledger.close_account((SELECT x FROM big))$$, 'LD201'),
 ('close_account: book', $$SELECT ledger.close_account('cash', (SELECT x FROM big))$$, 'LD210'),
 ('create_currency: code', $$SELECT ledger.create_currency((SELECT u FROM big), 2, 'n')$$, 'LD101'),
 ('create_currency: name', $$SELECT ledger.create_currency('ABC', 2, (SELECT x FROM big))$$, 'LD101'),
 ('create_book: code', $$SELECT ledger.create_book((SELECT x FROM big), 'n')$$, 'LD101'),
 ('create_book: name', $$SELECT ledger.create_book('bk', (SELECT x FROM big))$$, 'LD101'),
 ('post_entry: key', $$SELECT ledger.post_entry((SELECT x FROM big), '[{"account": "cash", "amount": 5, "currency": "USD"},
     {"account": "wallet", "amount": -5, "currency": "USD"}]')$$, 'LD101'),
 ('post_entry: leg account', $$SELECT ledger.post_entry('k2', jsonb_build_array(
     jsonb_build_object('account', (SELECT x FROM big), 'amount', 5, 'currency', 'USD'),
     jsonb_build_object('account', 'wallet', 'amount', -5, 'currency', 'USD')))$$, 'LD101'),
 ('post_entry: leg currency', $$SELECT ledger.post_entry('k2', jsonb_build_array(
     jsonb_build_object('account', 'cash', 'amount', 5, 'currency', (SELECT u FROM big)),
     jsonb_build_object('account', 'wallet', 'amount', -5, 'currency', 'USD')))$$, 'LD101'),
 ('post_entry: leg amount', $$SELECT ledger.post_entry('k2', jsonb_build_array(
     jsonb_build_object('account', 'cash', 'amount', (SELECT x FROM big), 'currency', 'USD'),
     jsonb_build_object('account', 'wallet', 'amount', -5, 'currency', 'USD')))$$, 'LD101'),
 ('post_entry: leg field name', $$SELECT ledger.post_entry('k2', jsonb_build_array(
     jsonb_build_object((SELECT x FROM big), 1, 'account', 'cash', 'amount', 5, 'currency', 'USD'),
     jsonb_build_object('account', 'wallet', 'amount', -5, 'currency', 'USD')))$$, 'LD101'),
 ('post_entry: description', $$SELECT ledger.post_entry('k2', '[{"account": "cash", "amount": 5, "currency": "USD"},
     {"account": "wallet", "amount": -5, "currency": "USD"}]', (SELECT x FROM big))$$, 'LD101'),
 ('post_entry: book', $$SELECT ledger.post_entry('k2', '[{"account": "cash", "amount": 5, "currency": "USD"},
     {"account": "wallet", "amount": -5, "currency": "USD"}]', NULL, NULL, NULL, NULL, (SELECT x FROM big))$$, 'LD210'),
 ('post_entry: assertion account', $$SELECT ledger.post_entry('k2', '[{"account": "cash", "amount": 5, "currency": "USD"},
     {"account": "wallet", "amount": -5, "currency": "USD"}]', NULL, NULL, NULL,
     jsonb_build_array(jsonb_build_object('account', (SELECT x FROM big), 'op', '=', 'balance', 0)))$$, 'LD101'),
 ('post_entry: assertion op', $$SELECT ledger.post_entry('k2', '[{"account": "cash", "amount": 5, "currency": "USD"},
     {"account": "wallet", "amount": -5, "currency": "USD"}]', NULL, NULL, NULL,
     jsonb_build_array(jsonb_build_object('account', 'cash', 'op', (SELECT x FROM big), 'balance', 0)))$$, 'LD101'),
 ('post_entries: key', $$SELECT * FROM ledger.post_entries(jsonb_build_array(
     jsonb_build_object('key', (SELECT x FROM big), 'legs', '[]'::jsonb)), true)$$, 'LD101'),
 ('post_entries: book', $$SELECT * FROM ledger.post_entries('[{"key": "b1", "legs": [
     {"account": "cash", "amount": 5, "currency": "USD"}, {"account": "wallet", "amount": -5, "currency": "USD"}]}]',
     false, (SELECT x FROM big))$$, 'LD210'),
 ('post_entries: leg account', $$SELECT * FROM ledger.post_entries(jsonb_build_array(jsonb_build_object('key', 'b1',
     'legs', jsonb_build_array(jsonb_build_object('account', (SELECT x FROM big), 'amount', 5, 'currency', 'USD'),
                               jsonb_build_object('account', 'wallet', 'amount', -5, 'currency', 'USD')))), true)$$, 'LD101'),
 ('post_entries: field name', $$SELECT * FROM ledger.post_entries(jsonb_build_array(
     jsonb_build_object((SELECT x FROM big), 1)), true)$$, 'LD101'),
 ('reverse_entry: key', $$SELECT ledger.reverse_entry(pg_temp.k1(), (SELECT x FROM big))$$, 'LD101'),
 ('reverse_entry: reason', $$SELECT ledger.reverse_entry(pg_temp.k1(), 'r1', (SELECT x FROM big))$$, 'LD101'),
 ('reverse_entry: book', $$SELECT ledger.reverse_entry(pg_temp.k1(), 'r1', NULL, (SELECT x FROM big))$$, 'LD210'),
 ('get_balance: account', $$SELECT ledger.get_balance((SELECT x FROM big))$$, 'LD201'),
 ('get_balance: book', $$SELECT ledger.get_balance('cash', (SELECT x FROM big))$$, 'LD210'),
 ('get_entry: book', $$SELECT ledger.get_entry(pg_temp.k1(), (SELECT x FROM big))$$, 'LD210'),
 ('get_entry_by_key: key', $$SELECT ledger.get_entry_by_key((SELECT x FROM big))$$, 'LD208'),
 ('get_outcome: book', $$SELECT ledger.get_outcome('k1', (SELECT x FROM big))$$, 'LD210'),
 ('get_currency: code', $$SELECT ledger.get_currency((SELECT u FROM big))$$, 'LD108');

SELECT is(e.state || ' ' || (e.size < 2000)::text, c.code || ' true',
          c.what || ': 1,000,000 characters give ' || c.code || ' in under 2,000 characters')
  FROM calls AS c CROSS JOIN LATERAL pg_temp.error_of(c.sql) AS e
 ORDER BY c.what;

SELECT is(ledger_private.echo(repeat('y', 256)), repeat('y', 256), 'echo: 256 characters are repeated whole');
SELECT is(ledger_private.echo(repeat('y', 1000000)), repeat('y', 256) || '...(+999744 chars)',
          'echo: longer values are cut at 256 with the count left out');
SELECT is(ledger_private.echo(NULL), NULL, 'echo: NULL stays NULL');
SELECT is((pg_temp.error_of($$SELECT ledger.create_account((SELECT x FROM big), 'USD', 'asset')$$)).message,
          'invalid account code ''' || repeat('x', 256) || '...(+999744 chars)''',
          'the message shows the cut value and the marker');
SELECT is((ledger.post_entry('k3', '[{"account": "cash", "amount": 5, "currency": "USD"},
                                     {"account": "wallet", "amount": -5, "currency": "USD"}]')).status,
          'posted', 'nothing above disturbed the ledger: the next entry posts');

SELECT * FROM finish();
ROLLBACK;
