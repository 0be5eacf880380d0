"""Operations: the embedded PostgreSQL cluster, the roles and their URLs, and the migrations (Sqitch).

Nothing in the client (:mod:`dualbook`'s ``Ledger``, ``AsyncLedger``, results, errors) imports this package."""
