"""The wheel is the product: built from this checkout, installed into a fresh virtualenv, it runs what the image runs
(``dualbook`` as the entry point) with no checkout anywhere in sight -- the migrations and the pgbench workloads are
package data, so ``dualbook deploy`` works from the installed package alone.

The Dockerfile does the same two steps (build the wheel, install it with ``[service]``); there is no Docker engine on
the test machines, so this test is how the image's contents are checked.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from dualbook.db import roles
from dualbook.db.cluster import Cluster
from dualbook.testing import drop_database
from tests.python.servicekit import running_service

ROOT = Path(__file__).resolve().parents[2]


def _run(cmd: list[str], env: dict[str, str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    """(the fresh virtualenv's bin directory, an environment without this checkout on any path)."""
    base = tmp_path_factory.mktemp("wheel")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "DATABASE_URL")}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if ".venv" not in p)
    # Built from a copy: a build writes metadata (dualbook.egg-info) next to the sources, which must not appear in
    # the checkout (pytest would find the plugin entry point in it).
    src = base / "src"
    skip = shutil.ignore_patterns(
        ".git", ".venv", ".dualbook", "*.egg-info", "build", "dist", "__pycache__", ".*_cache"
    )
    shutil.copytree(ROOT, src, symlinks=True, ignore=skip)
    built = _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(base / "dist"), str(src)], env, base
    )
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = (base / "dist").glob("dualbook-*.whl")
    made = _run([sys.executable, "-m", "venv", str(base / "venv")], env, base)
    assert made.returncode == 0, made.stderr
    bin_dir = base / "venv" / "bin"
    pip = [str(bin_dir / "python"), "-m", "pip", "install", "-q", "-c", str(ROOT / "constraints.txt")]
    done = _run([*pip, f"{wheel}[service]"], env, base, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    yield bin_dir, env


def test_the_wheel_carries_the_migrations_and_workloads(installed: tuple[Path, dict[str, str]]) -> None:
    (wheel,) = installed[0].parents[1].glob("dist/dualbook-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    plan = [line.split()[0] for line in (ROOT / "sqitch.plan").read_text().splitlines() if line and line[0].isalpha()]
    for change in plan:
        for kind in ("deploy", "revert", "verify"):
            assert f"dualbook/db/migrations/{kind}/{change}.sql" in names, (kind, change)
    assert "dualbook/db/migrations/sqitch.plan" in names
    assert "dualbook/tools/bench/workloads/post_entry.sql" in names
    assert not [n for n in names if n.startswith("tests/")]


def test_installed_package_deploys_and_posts_without_a_checkout(
    installed: tuple[Path, dict[str, str]], cluster: Cluster, tmp_path: Path
) -> None:
    bin_dir, base_env = installed
    # An empty database of its own, nothing deployed: the installed package's migrations do it.
    name = f"wheel_{os.getpid()}"
    cluster.create_database(name)
    url = cluster.url(name)
    try:
        with_roles = dict(base_env, DATABASE_URL=roles.url_as(url, roles.APP), DUALBOOK_MIGRATOR_URL=url)
        with_roles["DUALBOOK_READER_URL"] = roles.url_as(url, roles.READER)
        dualbook = str(bin_dir / "dualbook")

        def ok(*args: str) -> str:
            r = _run([dualbook, *args], with_roles, tmp_path)
            assert r.returncode == 0, (args, r.stdout, r.stderr)
            return r.stdout

        assert "Usage" in ok("--help")
        ok("deploy")
        last_change = [ln.split()[0] for ln in (ROOT / "sqitch.plan").read_text().splitlines() if ln[:1].isalpha()][-1]
        assert last_change in ok("status")
        ok("account", "create", "bank", "--currency", "USD", "--type", "asset")
        ok("account", "create", "wallet:1", "--currency", "USD", "--type", "liability", "--lower-limit", "0")
        ok("post", "--key", "wheel:1", "--debit", "bank", "12.34", "--credit", "wallet:1", "12.34")
        assert "12.34" in ok("balance", "wallet:1")
        # The service the image runs, from the installed package: it serves, and the schema is the one it expects.
        with running_service(with_roles["DATABASE_URL"], tmp_path, env=with_roles, command=[dualbook]) as svc:
            with svc.client(None) as c:
                ready = c.get("/readyz")
                assert ready.status_code == 200 and ready.json()["expected_change"] == last_change, ready.text
            with svc.client("reader") as c:
                assert c.get("/v1/balances/wallet:1").json()["balance"] == 1234
        # The offline audit verifier runs as a module of the installed package.
        r = _run([str(bin_dir / "python"), "-m", "dualbook.audit.verify"], base_env, tmp_path)
        assert r.returncode == 2 and "usage" in r.stderr.lower(), r.stderr
    finally:
        drop_database(cluster, url)
