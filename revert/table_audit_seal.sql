-- Revert dualbook:table_audit_seal from pg

BEGIN;

-- Seals exist nowhere else: refuse to throw the chain away.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM ledger_private.seal) OR EXISTS (SELECT 1 FROM ledger_private.sealed_entry) THEN
        RAISE EXCEPTION 'the journal has been sealed: reverting table_audit_seal would destroy the hash chain'
            USING HINT = 'Export it first (dualbook audit export), then drop the tables by hand if you really must.';
    END IF;
END
$$;

DROP TABLE ledger_private.sealed_entry;
DROP TABLE ledger_private.seal;

COMMIT;
