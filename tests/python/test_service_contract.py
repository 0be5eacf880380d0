"""The service against its own OpenAPI document, fuzzed by schemathesis: valid and invalid requests generated
for every operation (at least 1,000 in all) against a real uvicorn and a real database. No answer is a 500, and
every answer conforms to the document (status, content type, headers, body schema)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from dualbook.db import roles
from dualbook.db.cluster import Cluster
from dualbook.testing import drop_database, fresh_database
from tests.python.servicekit import Service, auth, running_service

EXAMPLES = 45  # per operation and mode (22 operations, most positive and negative): over 1,000 requests
SENT: list[int] = []


@pytest.fixture(scope="module")
def contract_service(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    url = fresh_database(cluster, prefix="contract")
    try:
        with running_service(roles.url_as(url, roles.APP), tmp_path_factory.mktemp("contract")) as svc:
            with svc.client("admin") as c:  # something for the generated requests to find
                for code, kind in (("bank", "asset"), ("wallet", "liability")):
                    c.post("/v1/accounts", json={"code": code, "currency": "USD", "type": kind})
                legs = [
                    {"account": "bank", "amount": 100, "currency": "USD"},
                    {"account": "wallet", "amount": -100, "currency": "USD"},
                ]
                c.post("/v1/entries", json={"legs": legs}, headers={"Idempotency-Key": "seed"})
            yield svc
    finally:
        drop_database(cluster, url)


COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
SCHEMA = schemathesis.openapi.from_path(COMMITTED)
OPERATIONS = {op.label: op for op in (r.ok() for r in SCHEMA.get_all_operations())}
#: (operation, mode): schema-invalid requests only where the operation takes some input
CASES = [
    (label, mode)
    for label in sorted(OPERATIONS)
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if mode is GenerationMode.POSITIVE
    or "parameters" in OPERATIONS[label].definition.raw
    or "requestBody" in OPERATIONS[label].definition.raw
]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.mark.parametrize(("label", "mode"), CASES, ids=[f"{label} {mode.value}" for label, mode in CASES])
def test_contract(contract_service: Service, label: str, mode: GenerationMode) -> None:
    """Generated requests for one operation (schema-valid ones, or schema-invalid ones) against the service."""
    operation = OPERATIONS[label]

    @given(case=operation.as_strategy(mode))
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def run(case: schemathesis.Case) -> None:
        SENT.append(1)
        case.call_and_validate(base_url=contract_service.base, headers=auth("admin"), checks=CHECKS, timeout=30)

    run()


def test_at_least_a_thousand_requests_were_sent(contract_service: Service) -> None:
    print(f"contract: {len(SENT)} generated requests")
    assert len(SENT) >= 1000, len(SENT)
    with contract_service.client("admin") as c:
        metrics = c.get("/metrics").text
        assert 'status="500"' not in metrics
