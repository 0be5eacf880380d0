"""The service with a read target, on a real primary and streaming standby: reports answered by the replica
(their snapshot says so), /readyz and /metrics about it, and a 503 with Retry-After -- never a stale answer --
while its replay is paused past the read's bound."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from dualbook.db import roles
from dualbook.db.cluster import Cluster
from dualbook.errors import ConfigError
from dualbook.reads import ReadPolicy
from dualbook.service import settings
from dualbook.testing import ReplicaPair, drop_database, fresh_database
from tests.python.servicekit import Service, free_port, running_service
from tests.python.test_service import problem
from tests.python.test_service_reports import entry


@pytest.fixture
def service(
    replica_pair: ReplicaPair, replica_urls: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    url, replica_url = replica_urls
    read_url = roles.url_as(replica_url, roles.APP)
    workdir = tmp_path_factory.mktemp("service")
    args = ("--read-url", read_url, "--read-timeout", "1")
    with running_service(roles.url_as(url, roles.APP), workdir, *args) as svc:
        yield svc


def test_reports_come_from_the_replica_and_refuse_when_it_lags(replica_pair: ReplicaPair, service: Service) -> None:
    with service.client("admin") as c:
        for code, kind in (("bank", "asset"), ("wallet", "liability")):
            assert c.post("/v1/accounts", json={"code": code, "currency": "USD", "type": kind}).status_code == 201
        r = c.post("/v1/entries", json=entry("bank", "wallet", 40, "2026-01-10"), headers={"Idempotency-Key": "a"})
        assert r.status_code == 201, r.text

        ready = c.get("/readyz")
        assert ready.status_code == 200 and ready.json()["read_target"] == "reachable", ready.text
        # read-your-writes: the replica answers once it has replayed the entry just posted
        bal = c.get("/v1/reports/balance/wallet", params={"as_of": "2026-01-31"})
        assert bal.status_code == 200, bal.text
        assert bal.json()["balance"] == 40 and bal.json()["snapshot"]["source"] == "replica"
        tb = c.get("/v1/reports/trial-balance", params={"as_of": "2026-01-31"}).json()
        assert tb["snapshot"]["source"] == "replica" and tb["balanced"] is True
        assert c.get("/v1/trial-balance").json()["snapshot"]["source"] == "replica"
        text = c.get("/metrics").text
        assert 'dualbook_replica_up{target="read"} 1.0' in text
        assert 'dualbook_replica_lag_bytes{target="read"}' in text

        with psycopg.connect(replica_pair.replica.url("postgres"), autocommit=True) as standby:
            standby.execute("SELECT pg_wal_replay_pause()")
            try:
                r = c.post(
                    "/v1/entries", json=entry("bank", "wallet", 2, "2026-01-11"), headers={"Idempotency-Key": "b"}
                )
                assert r.status_code == 201, r.text
                lagging = c.get("/v1/reports/balance/wallet", params={"as_of": "2026-01-31"})
                body = problem(lagging, 503, "replica_lagging")
                assert lagging.headers["retry-after"] and body["context"]["lag_bytes"] > 0, body
                statement = c.get("/v1/reports/statement/wallet", params={"from": "2026-01-01", "to": "2026-01-31"})
                problem(statement, 503, "replica_lagging")
                # writes still go to the primary, and the service stays ready
                assert c.get("/readyz").json()["read_target"] == "reachable"
                lag = [ln for ln in c.get("/metrics").text.splitlines() if ln.startswith("dualbook_replica_lag_bytes{")]
                assert lag and float(lag[0].split()[-1]) > 0, lag
            finally:
                standby.execute("SELECT pg_wal_replay_resume()")
        caught_up = c.get("/v1/reports/balance/wallet", params={"as_of": "2026-01-31"})
        assert caught_up.status_code == 200 and caught_up.json()["balance"] == 42, caught_up.text


def test_an_unreachable_read_target_leaves_the_service_ready(
    cluster: Cluster, tmp_path_factory: pytest.TempPathFactory
) -> None:
    url = fresh_database(cluster, prefix="svcnorep")
    try:
        nowhere = f"postgresql://app@127.0.0.1:{free_port()}/nowhere?connect_timeout=1"
        args = ("--read-url", nowhere, "--read-timeout", "0.5")
        workdir = tmp_path_factory.mktemp("service")
        with running_service(roles.url_as(url, roles.APP), workdir, *args) as svc, svc.client("admin") as c:
            ready = c.get("/readyz")
            assert ready.status_code == 200 and ready.json()["read_target"] == "unreachable", ready.text
            assert c.post("/v1/accounts", json={"code": "bank", "currency": "USD", "type": "asset"}).status_code == 201
            r = c.get("/v1/reports/trial-balance", params={"as_of": "2026-01-31"})
            problem(r, 503, "replica_unavailable")
            assert r.headers["retry-after"]
            assert 'dualbook_replica_up{target="read"} 0.0' in c.get("/metrics").text
    finally:
        drop_database(cluster, url)


def test_the_read_policy_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(settings.AUTH, "off")
    monkeypatch.setenv(settings.READ_URL, "postgresql://app@replica/ledger")
    monkeypatch.delenv(settings.MAX_LAG, raising=False)
    monkeypatch.setenv(settings.READ_TIMEOUT, "0.5")
    own = settings.from_environment("postgresql://app@primary/ledger")
    assert own.read_url == "postgresql://app@replica/ledger"
    assert own.read_policy() == ReadPolicy(read_your_writes=True, timeout=0.5)
    monkeypatch.setenv(settings.MAX_LAG, "2.5")
    bounded = settings.from_environment("postgresql://app@primary/ledger").read_policy()
    assert bounded == ReadPolicy(read_your_writes=False, max_lag=2.5, timeout=0.5)
    monkeypatch.setenv(settings.MAX_LAG, "-1")
    with pytest.raises(ConfigError, match="max lag"):
        settings.from_environment("postgresql://app@primary/ledger")
    monkeypatch.setenv(settings.MAX_LAG, "soon")
    with pytest.raises(ConfigError, match=settings.MAX_LAG):
        settings.from_environment("postgresql://app@primary/ledger")
