"""plpgsql_check over every PL/pgSQL function: zero errors and zero warnings — and the check can fail."""

from __future__ import annotations

import psycopg

from .sqlcheck import plpgsql_findings


def test_every_plpgsql_function_is_clean(conn: psycopg.Connection) -> None:
    findings = plpgsql_findings(conn)
    assert findings == [], "\n".join(map(str, findings))


def test_check_catches_a_missing_column(conn: psycopg.Connection) -> None:
    conn.execute(
        """
        CREATE FUNCTION ledger_private.broken() RETURNS bigint LANGUAGE plpgsql AS $$
        BEGIN
            RETURN (SELECT a.no_such_column FROM ledger_private.account AS a LIMIT 1);
        END $$
        """
    )
    findings = plpgsql_findings(conn)
    broken = [f for f in findings if f.function.startswith("ledger_private.broken")]
    assert broken, "plpgsql_check did not report the missing column"
    assert broken[0].level == "error" and "no_such_column" in broken[0].message
