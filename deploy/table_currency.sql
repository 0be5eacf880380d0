-- Deploy dualbook:table_currency to pg
-- requires: schema_ledger
-- A currency (or custom asset such as loyalty points) and its minor-unit exponent: an amount of 1234 in a
-- currency of exponent 2 means 12.34. The exponent of a currency never changes once created.

BEGIN;

CREATE TABLE ledger_private.currency (
    code       text PRIMARY KEY CHECK (code ~ '^[A-Z][A-Z0-9_]{1,15}$'),
    exponent   smallint NOT NULL CHECK (exponent BETWEEN 0 AND 18),
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    iso4217    boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE ledger_private.currency IS 'Currencies and custom assets with their minor-unit exponent.';

INSERT INTO ledger_private.currency (code, exponent, name, iso4217) VALUES
    ('USD', 2, 'US Dollar', true), ('EUR', 2, 'Euro', true), ('GBP', 2, 'Pound Sterling', true),
    ('JPY', 0, 'Yen', true), ('CHF', 2, 'Swiss Franc', true), ('CAD', 2, 'Canadian Dollar', true),
    ('AUD', 2, 'Australian Dollar', true), ('NZD', 2, 'New Zealand Dollar', true), ('CNY', 2, 'Yuan Renminbi', true),
    ('HKD', 2, 'Hong Kong Dollar', true), ('SGD', 2, 'Singapore Dollar', true), ('SEK', 2, 'Swedish Krona', true),
    ('NOK', 2, 'Norwegian Krone', true), ('DKK', 2, 'Danish Krone', true), ('PLN', 2, 'Zloty', true),
    ('CZK', 2, 'Czech Koruna', true), ('HUF', 2, 'Forint', true), ('RON', 2, 'Romanian Leu', true),
    ('TRY', 2, 'Turkish Lira', true), ('ILS', 2, 'New Israeli Sheqel', true), ('INR', 2, 'Indian Rupee', true),
    ('IDR', 2, 'Rupiah', true), ('KRW', 0, 'Won', true), ('MXN', 2, 'Mexican Peso', true),
    ('BRL', 2, 'Brazilian Real', true), ('ARS', 2, 'Argentine Peso', true), ('CLP', 0, 'Chilean Peso', true),
    ('COP', 2, 'Colombian Peso', true), ('ZAR', 2, 'Rand', true), ('NGN', 2, 'Naira', true),
    ('KES', 2, 'Kenyan Shilling', true), ('EGP', 2, 'Egyptian Pound', true), ('AED', 2, 'UAE Dirham', true),
    ('SAR', 2, 'Saudi Riyal', true), ('QAR', 2, 'Qatari Rial', true), ('BHD', 3, 'Bahraini Dinar', true),
    ('KWD', 3, 'Kuwaiti Dinar', true), ('OMR', 3, 'Rial Omani', true), ('JOD', 3, 'Jordanian Dinar', true),
    ('TND', 3, 'Tunisian Dinar', true), ('ISK', 0, 'Iceland Krona', true), ('VND', 0, 'Dong', true),
    ('THB', 2, 'Baht', true), ('MYR', 2, 'Malaysian Ringgit', true), ('PHP', 2, 'Philippine Peso', true),
    ('TWD', 2, 'New Taiwan Dollar', true), ('UAH', 2, 'Hryvnia', true), ('XAF', 0, 'CFA Franc BEAC', true),
    ('XOF', 0, 'CFA Franc BCEAO', true), ('UGX', 0, 'Uganda Shilling', true), ('PKR', 2, 'Pakistan Rupee', true),
    ('BDT', 2, 'Taka', true), ('CLF', 4, 'Unidad de Fomento', true), ('UYW', 4, 'Unidad Previsional', true);

COMMIT;
