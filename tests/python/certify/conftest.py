"""Fixtures of the certification suite: the session's collector (printed as a table at the end of the run and, with
DUALBOOK_CERTIFICATION_MD set, written to that file) and a factory of fresh ledger databases."""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from dualbook.db.cluster import Cluster
from dualbook.testing import drop_database, fresh_database
from dualbook.tools.certify import Certification, render_certification

from .profile import PROFILE

CERTIFICATION = pytest.StashKey[Certification]()
ORDER = [
    "model-based",
    "contention",
    "crash",
    "client-kill",
    "torn",
    "grouped",
    "http",
    "failover",
    "standby lost",
    "pitr",
    "holds",
]


@pytest.fixture(scope="session")
def certification(request: pytest.FixtureRequest) -> Certification:
    stash = request.config.stash
    if CERTIFICATION not in stash:
        stash[CERTIFICATION] = Certification(profile=PROFILE.name)
    return stash[CERTIFICATION]


def _order(name: str) -> int:
    return next((i for i, prefix in enumerate(ORDER) if name.startswith(prefix)), len(ORDER))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    cert = config.stash.get(CERTIFICATION, None)
    if cert is None or not (cert.rows or cert.selftests):
        return
    cert.rows.sort(key=lambda r: _order(r.scenario))
    text = render_certification(cert)
    terminalreporter.section("certification")
    terminalreporter.write(text)
    out = os.environ.get("DUALBOOK_CERTIFICATION_MD")
    if out:
        Path(out).write_text(text)
        terminalreporter.write_line(f"written to {out}")


class DatabaseFactory:
    """Fresh ledger databases (clones of the deployed template), created ahead and dropped in the background so
    that the model-based test, which takes a fresh database every few examples, does not wait for CREATE/DROP."""

    def __init__(self, cluster: Cluster, ahead: int = 2) -> None:
        self.cluster = cluster
        self.ready: queue.Queue[str] = queue.Queue(maxsize=ahead)
        self.to_drop: queue.Queue[str | None] = queue.Queue()
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.created = 0
        self._creator = threading.Thread(target=self._create_loop, daemon=True, name="db-creator")
        self._dropper = threading.Thread(target=self._drop_loop, daemon=True, name="db-dropper")
        self._creator.start()
        self._dropper.start()

    def _create_loop(self) -> None:
        try:
            while not self.stop.is_set():
                url = fresh_database(self.cluster, prefix="model")
                self.created += 1
                while True:
                    if self.stop.is_set():
                        drop_database(self.cluster, url)
                        return
                    try:
                        self.ready.put(url, timeout=0.1)
                        break
                    except queue.Full:
                        continue
        except BaseException as exc:
            self.error = exc

    def _drop_loop(self) -> None:
        while True:
            url = self.to_drop.get()
            if url is None:
                return
            try:
                drop_database(self.cluster, url)
            except BaseException as exc:
                self.error = exc

    def take(self) -> str:
        while True:
            if self.error is not None:
                raise RuntimeError("creating a fresh database failed") from self.error
            try:
                return self.ready.get(timeout=0.5)
            except queue.Empty:
                continue

    def release(self, url: str) -> None:
        self.to_drop.put(url)

    def close(self) -> None:
        self.stop.set()
        self._creator.join(timeout=60)
        while True:
            try:
                self.to_drop.put(self.ready.get_nowait())
            except queue.Empty:
                break
        self.to_drop.put(None)
        self._dropper.join(timeout=120)


@pytest.fixture
def database_factory(cluster: Cluster) -> Iterator[DatabaseFactory]:
    factory = DatabaseFactory(cluster)
    try:
        yield factory
    finally:
        factory.close()
