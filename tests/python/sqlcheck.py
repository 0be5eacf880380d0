"""Static checks of the deployed PL/pgSQL with the plpgsql_check extension (used by `make test`)."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

SCHEMAS = ("ledger", "ledger_private")

# Every PL/pgSQL function in the ledger schemas; trigger functions are checked against a table they serve.
_QUERY = """
SELECT p.oid::regprocedure::text AS function, c.lineno, c.level, c.sqlstate, c.message, c.detail
  FROM pg_catalog.pg_proc AS p
  JOIN pg_catalog.pg_language AS l ON l.oid = p.prolang AND l.lanname = 'plpgsql'
  LEFT JOIN LATERAL (SELECT t.tgrelid FROM pg_catalog.pg_trigger AS t WHERE t.tgfoid = p.oid LIMIT 1) AS trg ON true
 CROSS JOIN LATERAL public.plpgsql_check_function_tb(
           p.oid,
           relid => coalesce(trg.tgrelid, 0),
           fatal_errors => false,
           other_warnings => true,
           extra_warnings => true,
           performance_warnings => false,
           security_warnings => true) AS c
 WHERE p.pronamespace = ANY (%s::regnamespace[])
 ORDER BY 1, 2
"""


@dataclass(frozen=True)
class Finding:
    function: str
    lineno: int | None
    level: str
    sqlstate: str
    message: str
    detail: str | None

    def __str__(self) -> str:
        return f"{self.function}:{self.lineno}: {self.level} {self.sqlstate} {self.message} {self.detail or ''}".strip()


def plpgsql_findings(conn: psycopg.Connection, schemas: tuple[str, ...] = SCHEMAS) -> list[Finding]:
    """All errors and warnings plpgsql_check reports for the PL/pgSQL functions in `schemas`."""
    conn.execute("CREATE EXTENSION IF NOT EXISTS plpgsql_check SCHEMA public")
    rows = conn.execute(_QUERY, (list(schemas),)).fetchall()
    return [Finding(*row) for row in rows]
