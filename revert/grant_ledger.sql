-- Revert dualbook:grant_ledger from pg
-- Takes back every privilege of the four roles in this database (whoever granted it); other databases of the
-- cluster keep theirs.

BEGIN;

SET LOCAL ROLE dualbook_owner;

REVOKE ALL ON ALL TABLES IN SCHEMA ledger, ledger_private
    FROM dualbook_app, dualbook_sequencer, dualbook_reader, dualbook_auditor;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA ledger, ledger_private
    FROM dualbook_app, dualbook_sequencer, dualbook_reader, dualbook_auditor;
REVOKE ALL ON ALL ROUTINES IN SCHEMA ledger, ledger_private
    FROM dualbook_app, dualbook_sequencer, dualbook_reader, dualbook_auditor;
REVOKE ALL ON SCHEMA ledger, ledger_private FROM dualbook_app, dualbook_sequencer, dualbook_reader, dualbook_auditor;

COMMIT;
