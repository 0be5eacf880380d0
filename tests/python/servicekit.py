"""Test support for the HTTP service: a real ``dualbook serve`` (uvicorn) on a loopback port, its clients' tokens,
and its log. No test double: the service talks to a throwaway cluster's database."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from dualbook.service.auth import client_entry

#: each test client's token and scopes
TOKENS = {
    "poster": ("dbk_test_poster_token_0123456789", ["post"]),
    "reader": ("dbk_test_reader_token_0123456789", ["read"]),
    "admin": ("dbk_test_admin_token_01234567890", ["admin", "post", "read"]),
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_tokens(path: Path) -> Path:
    clients = [client_entry(name, token, scopes) for name, (token, scopes) in TOKENS.items()]
    path.write_text(json.dumps({"clients": clients}))
    return path


def auth(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[name][0]}"}


@dataclass
class Service:
    proc: subprocess.Popen[bytes]
    base: str
    log: Path

    def client(self, who: str | None = "admin", **kw: object) -> httpx.Client:
        return httpx.Client(base_url=self.base, headers=auth(who) if who else {}, timeout=30, **kw)  # type: ignore[arg-type]

    def log_lines(self) -> list[dict[str, object]]:
        out = []
        for line in self.log.read_text().splitlines():
            with contextlib.suppress(ValueError):
                out.append(json.loads(line))
        return out


def wait_healthy(base: str, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the service exited with {proc.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError("the service did not answer /healthz")


@contextlib.contextmanager
def running_service(
    database_url: str,
    workdir: Path,
    *args: str,
    env: dict[str, str] | None = None,
    command: list[str] | None = None,
) -> Iterator[Service]:
    """``dualbook serve`` on a free loopback port with the test tokens; stopped afterwards."""
    port = free_port()
    tokens = write_tokens(workdir / "tokens.json")
    log = workdir / f"service-{port}.log"
    full_env = dict(os.environ if env is None else env, DATABASE_URL=database_url)
    cmd = command or [sys.executable, "-m", "dualbook.cli"]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*cmd, "serve", "--port", str(port), "--tokens", str(tokens), *args],
            env=full_env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=workdir,
        )
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc)
        yield Service(proc, f"http://127.0.0.1:{port}", log)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
