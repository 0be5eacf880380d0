"""dualbook: a strongly-consistent double-entry ledger on PostgreSQL.

The SQL API (schema ``ledger``) holds every business rule; this package starts an embedded cluster, deploys
the schema with Sqitch, and calls the API.
"""

__version__ = "0.1.0"
