-- Verify dualbook:grant_registry_read on pg

BEGIN;

DO $$
BEGIN
    ASSERT has_table_privilege('dualbook_app', 'sqitch.changes', 'SELECT'), 'dualbook_app reads sqitch.changes';
    ASSERT has_table_privilege('dualbook_reader', 'sqitch.changes', 'SELECT'), 'dualbook_reader reads sqitch.changes';
    ASSERT NOT has_table_privilege('dualbook_app', 'sqitch.changes', 'INSERT'), 'dualbook_app cannot write it';
END
$$;

ROLLBACK;
