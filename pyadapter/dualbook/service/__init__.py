"""The ledger service: the SQL API over HTTP (``dualbook serve``), one ASGI application per worker process.

FastAPI on uvicorn (uvloop + httptools): the HTTP shapes are declared once as pydantic models, which gives the
request validation (integers of minor units, never floats), the OpenAPI document (``docs/openapi.json``) and the
schema the contract tests fuzz from the same source. No business rule lives here: every request becomes one call
of :class:`dualbook.AsyncLedger` (single entries through its group poster, one per process), and the ledger's
own errors come back as ``application/problem+json`` carrying their SQLSTATE (docs/service.md).

The client (``dualbook/*.py``) never imports this package; it imports the client and ``dualbook.db`` (the packaged
migrations, for the readiness check).
"""

from __future__ import annotations
