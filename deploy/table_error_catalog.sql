-- Deploy dualbook:table_error_catalog to pg
-- requires: schema_ledger
-- One catalog of every SQLSTATE the SQL API raises. Class 'LD' (LeDger) is not used by PostgreSQL.
-- LD1xx: the request is invalid by itself; LD2xx: it conflicts with the ledger's state;
-- LD3xx: the environment (isolation level) or an integrity guard refused it.
-- The Python adapter mirrors this table (dualbook.errors); a test checks both agree.

BEGIN;

CREATE TABLE ledger_private.error_catalog (
    sqlstate    text PRIMARY KEY CHECK (sqlstate ~ '^LD[0-9]{3}$'),
    name        text NOT NULL UNIQUE,
    category    text NOT NULL CHECK (category IN ('validation', 'conflict', 'infrastructure')),
    description text NOT NULL
);
COMMENT ON TABLE ledger_private.error_catalog IS 'Every SQLSTATE raised by the ledger SQL API (see docs/sql-api.md).';

INSERT INTO ledger_private.error_catalog (sqlstate, name, category, description) VALUES
    ('LD101', 'invalid_argument',      'validation',     'An argument is missing, malformed or out of its documented range.'),
    ('LD102', 'unbalanced_entry',      'validation',     'The legs of an entry do not sum to zero in some currency.'),
    ('LD103', 'zero_amount',           'validation',     'A leg has a zero amount.'),
    ('LD104', 'too_many_legs',         'validation',     'An entry has more legs than the maximum (100).'),
    ('LD105', 'metadata_too_large',    'validation',     'Metadata exceeds its size limit (8192 bytes as JSON text).'),
    ('LD106', 'amount_out_of_range',   'validation',     'An amount, or the sum of the legs on one account, does not fit in a signed 64-bit integer.'),
    ('LD107', 'currency_mismatch',     'validation',     'A leg''s currency is not its account''s currency.'),
    ('LD108', 'unknown_currency',      'validation',     'The currency or asset code does not exist.'),
    ('LD109', 'too_few_legs',          'validation',     'An entry has fewer than two legs.'),
    ('LD201', 'unknown_account',       'conflict',       'No account with that code exists in the book.'),
    ('LD202', 'account_closed',        'conflict',       'The account is closed and accepts no postings.'),
    ('LD203', 'limit_exceeded',        'conflict',       'The entry would take an account''s balance beyond its lower or upper limit.'),
    ('LD204', 'assertion_failed',      'conflict',       'A balance assertion in the request does not hold after the entry.'),
    ('LD205', 'idempotency_conflict',  'conflict',       'The idempotency key was already used with a different payload.'),
    ('LD206', 'account_exists',        'conflict',       'An account with that code exists with different attributes.'),
    ('LD207', 'account_not_zero',      'conflict',       'An account can only be closed at a zero balance.'),
    ('LD208', 'unknown_entry',         'conflict',       'No entry with that id or idempotency key exists in the book.'),
    ('LD209', 'already_reversed',      'conflict',       'The entry has already been reversed (an entry is reversed at most once).'),
    ('LD210', 'unknown_book',          'conflict',       'No book with that code exists.'),
    ('LD211', 'balance_out_of_range',  'conflict',       'An account''s balance would leave the signed 64-bit range.'),
    ('LD212', 'currency_exists',       'conflict',       'A currency with that code exists with a different exponent or name.'),
    ('LD213', 'book_exists',           'conflict',       'A book with that code exists with a different name.'),
    ('LD301', 'not_serializable',      'infrastructure', 'A write function was called outside a SERIALIZABLE transaction.'),
    ('LD302', 'append_only_violation', 'infrastructure', 'History is append-only: UPDATE, DELETE and TRUNCATE of the journal (and changes to immutable columns) are refused.');

CREATE VIEW ledger.error_codes AS
    SELECT sqlstate, name, category, description FROM ledger_private.error_catalog;
COMMENT ON VIEW ledger.error_codes IS 'The SQLSTATEs the ledger SQL API raises, with their meaning.';

COMMIT;
