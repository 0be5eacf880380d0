-- The P5 loader of `make bench` (pyadapter/dualbook/bench.py; a psycopg query with named parameters, not a
-- pgbench script): one ledger.post_entries() call with n random 2-leg entries (up to 1000, the API's limit)
-- between two distinct accounts among the span consecutive bench accounts starting at number lo. Each loader
-- connection gets its own slice of the accounts, so concurrent batches never update the same account row.
-- Keys: the key parameter followed by the position. It goes through the API's own path: the same validation,
-- idempotency, balances, account_seq and balance_after as any posting. Returns how many entries were not posted
-- (must be 0). Each entry is dated on a random day of the past year that is still open (after the book's close
-- date, if any), so the reports of `make bench` (point R) read a journal that arrived out of effective-date order.
SELECT count(*) FILTER (WHERE status <> 'posted') AS not_posted
  FROM ledger.post_entries(
           (SELECT jsonb_agg(
                       jsonb_build_object(
                           'key', %(key)s::text || g.i::text,
                           'legs', jsonb_build_array(
                               jsonb_build_object('account', %(prefix)s::text || ':' || lpad(g.a::text, %(width)s::integer, '0'),
                                                  'amount', g.amount, 'currency', 'USD'),
                               jsonb_build_object('account', %(prefix)s::text || ':' || lpad(g.b::text, %(width)s::integer, '0'),
                                                  'amount', -g.amount, 'currency', 'USD')),
                           'effective_date', g.day)
                       ORDER BY g.i)
              FROM (SELECT r.i, %(lo)s::integer + r.a AS a,
                           %(lo)s::integer + CASE WHEN r.b >= r.a THEN r.b + 1 ELSE r.b END AS b, r.amount,
                           d.lo + floor(r.u * (current_date - d.lo))::integer AS day
                      FROM (SELECT greatest(current_date - 365, coalesce(ledger.closed_through() + 1,
                                                                         current_date - 365)) AS lo) AS d,
                           (SELECT s.i, random() AS u,
                                   floor(random() * %(span)s::integer)::integer AS a,
                                   floor(random() * (%(span)s::integer - 1))::integer AS b,
                                   1 + floor(random() * 100000)::bigint AS amount
                              FROM generate_series(1, %(n)s::integer) AS s(i)) AS r) AS g),
           false);
