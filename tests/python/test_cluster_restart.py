"""Restarting the embedded cluster after its postmaster was killed (kill -9) while a backend is still alive: start()
waits, bounded, for the orphaned backend to exit and says so, instead of failing against PostgreSQL's "pre-existing
shared memory block is still in use"."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator

import psycopg
import pytest

from dualbook.db.cluster import Cluster
from dualbook.errors import ClusterError
from dualbook.testing import throwaway_cluster


def gone(pid: int) -> bool:
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


@pytest.fixture
def crashed() -> Iterator[tuple[Cluster, int]]:
    """A cluster whose postmaster was killed while one of its backends is stopped (SIGSTOP): that backend cannot
    notice the death and exit until it is continued. Yields (cluster, the stopped backend's pid)."""
    with throwaway_cluster() as cluster:
        conn = psycopg.connect(cluster.url("postgres"), autocommit=True)
        backend = conn.info.backend_pid
        postmaster = cluster.postmaster_pid()
        assert postmaster is not None
        os.kill(backend, signal.SIGSTOP)
        try:
            os.kill(postmaster, signal.SIGKILL)
            deadline = time.monotonic() + 30
            while not gone(postmaster):
                assert time.monotonic() < deadline
                time.sleep(0.01)
            yield cluster, backend
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.kill(backend, signal.SIGCONT)
            with contextlib.suppress(psycopg.Error):
                conn.close()


def test_start_waits_for_the_orphaned_backend(crashed: tuple[Cluster, int], capfd: pytest.CaptureFixture[str]) -> None:
    cluster, backend = crashed
    assert backend in cluster.leftover_processes()
    resume = threading.Timer(2.0, os.kill, (backend, signal.SIGCONT))
    resume.daemon = True
    began = time.monotonic()
    resume.start()
    cluster.start()
    waited = time.monotonic() - began
    assert waited >= 1.5
    with psycopg.connect(cluster.url("postgres")) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    err = capfd.readouterr().err
    assert f"waiting up to 60s for the processes of an earlier server of {cluster.datadir}" in err
    assert str(backend) in err and "have exited" in err
    # it never tried to start while the old backend held the shared memory
    assert "pre-existing shared memory block" not in cluster.logfile.read_text()


def test_the_wait_is_bounded(crashed: tuple[Cluster, int]) -> None:
    cluster, backend = crashed
    began = time.monotonic()
    with pytest.raises(ClusterError) as info:
        cluster.start(wait_seconds=2)
    assert time.monotonic() - began < 10
    assert "did not exit within 2s" in str(info.value) and str(backend) in str(info.value)
