"""P6 HTTP: single-entry ``POST /v1/entries`` through the service, driven by ``wrk`` (a native load generator, so
the client does not eat the CPU the service and the database need as a Python client would).

* **P6** -- peak: ``wrk`` at 64 connections (2 threads), each request one 2-leg entry between uniform random
  accounts with a unique ``Idempotency-Key``; the service (``dualbook serve``, its default of one worker, the group
  poster on) runs against the same database as the other points. Ratio of the commit ceiling measured in the same
  run; every non-2xx answer and socket error counts as an error.
* **P6@50%** -- latency at half of that peak, **open loop (approximated)**: wrk2 is not in Debian, so each of the 64
  connections pauses an exponentially distributed time (mean 64 / rate s) after each answer (wrk's ``delay()``).
  While a pause (≈ 100 ms and more) is far longer than the latency (a few ms), a slow answer barely delays the next
  arrival, so arrivals are close to Poisson at the target rate -- unlike a closed loop, where a slow answer holds
  back the load that would have measured it. The achieved rate is reported next to the offered one.

Where the CPU goes: the service's processes and the database server's are sampled from /proc before and after
each run; both are reported per request (``service_cpu_us_per_request``, ``server_cpu_us_per_call``), plus wrk's
own share of the machine.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from dualbook.tools.bench import pgbench as benchsql
from dualbook.tools.bench import procstat
from dualbook.tools.bench.callers import Runner
from dualbook.tools.bench.results import CEILING, P6, Result

CONNECTIONS = 64
THREADS = 2
HALF = 0.5

#: the wrk script: one 2-leg entry per request with a unique key; `delay()` paces a connection when asked (open
#: loop); `done()` prints the summary as one JSON line (WRKRESULT) for the bench to read.
LUA = r"""
local counter = 0
local threads = {}
function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end
function init(args)
  run, prefix, accounts, width = args[1], args[2], tonumber(args[3]), args[4]
  mean_pause, token = tonumber(args[5]), args[6]
  math.randomseed(os.time() * 1000 + id)
  fmt = "%s:%0" .. width .. "d"
end
function request()
  counter = counter + 1
  local a = math.random(accounts)
  local b = math.random(accounts - 1)
  if b >= a then b = b + 1 end
  local amount = math.random(100000)
  local body = string.format(
    '{"legs":[{"account":"%s","amount":%d,"currency":"USD"},{"account":"%s","amount":%d,"currency":"USD"}]}',
    string.format(fmt, prefix, a), amount, string.format(fmt, prefix, b), -amount)
  local headers = {}
  headers["Content-Type"] = "application/json"
  headers["Idempotency-Key"] = run .. ":" .. id .. ":" .. counter
  headers["Authorization"] = "Bearer " .. token
  return wrk.format("POST", "/v1/entries", headers, body)
end
function delay()
  if mean_pause > 0 then return -mean_pause * math.log(1 - math.random()) end
  return 0
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKRESULT {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,' ..
    '"p50_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""


class HttpBenchError(RuntimeError):
    pass


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(base: str, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise HttpBenchError(f"the service exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(base + "/readyz", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise HttpBenchError("the service did not become ready")


def _service_cpu_s(pid: int) -> float:
    used, _ = procstat._server_cpu_s(pid)  # the process and its descendants (uvicorn's workers), live or reaped
    return used or 0.0


def run_wrk(base: str, script: Path, seconds: int, args: list[str]) -> dict[str, Any]:
    cmd = ["wrk", "-t", str(THREADS), "-c", str(CONNECTIONS), "-d", f"{seconds}s", "--timeout", "10s"]
    cmd += ["-s", str(script), base, "--", *args]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    for line in out.stdout.splitlines():
        if line.startswith("WRKRESULT "):
            doc: dict[str, Any] = json.loads(line[len("WRKRESULT ") :])
            return doc
    raise HttpBenchError(f"wrk gave no result: {out.stderr.strip() or out.stdout.strip()}")


def http_points(runner: Runner) -> list[Result]:
    """P6 and P6@50% (see the module's documentation); [] when wrk is not installed."""
    if shutil.which("wrk") is None:
        runner.progress(f"[{P6}] skipped: wrk is not installed (apt-get install wrk; make setup does)")
        return []
    opts = runner.opts
    width = str(benchsql.code_width(opts.accounts))
    token = "dbk_bench_" + secrets.token_urlsafe(24)
    with tempfile.TemporaryDirectory(prefix="dualbook-bench-http-") as tmp:
        tokens = Path(tmp) / "tokens.json"
        digest = hashlib.sha256(token.encode()).hexdigest()
        tokens.write_text(json.dumps({"clients": [{"name": "bench", "sha256": digest, "scopes": ["post"]}]}))
        script = Path(tmp) / "post_entry.lua"
        script.write_text(LUA)
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        env = dict(os.environ, DATABASE_URL=runner.conninfo)
        cmd = [sys.executable, "-m", "dualbook.cli", "serve", "--port", str(port), "--tokens", str(tokens)]
        log_path = Path(tmp) / "service.log"
        log = log_path.open("wb")
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_ready(base, proc)
            runner.progress(f"[{P6}] HTTP POST /v1/entries, wrk {CONNECTIONS} connections, unique keys ...")
            peak = _measure(
                runner, proc.pid, base, script, [opts.accounts, width, 0, token], P6, "HTTP post_entry", log_path
            )
            rate = peak.tps * HALF
            if rate <= 0:
                return [peak]
            pause_ms = CONNECTIONS * 1000 / rate
            runner.progress(f"[{P6}@50%] open loop (paced connections) at {rate:,.0f} requests/s ...")
            half = _measure(
                runner,
                proc.pid,
                base,
                script,
                [opts.accounts, width, pause_ms, token],
                f"{P6}@50%",
                "HTTP at half peak",
                log_path,
            )
            half.extras["offered_per_s"] = round(rate, 1)
            half.ratio_of = P6
            return [peak, half]
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()


def _error_statuses(log_path: Path, offset: int) -> dict[str, int]:
    """The statuses >= 400 in the service's JSON access log from byte ``offset`` on, counted: what the errors wrk
    counts as non-2xx were (a 503 with Retry-After is a caller's cue to retry; anything else is a defect)."""
    counts: dict[str, int] = {}
    with log_path.open("rb") as f:
        f.seek(offset)
        for line in f:
            try:
                status = json.loads(line).get("status")
            except (ValueError, AttributeError):
                continue
            if isinstance(status, int) and status >= 400:
                counts[str(status)] = counts.get(str(status), 0) + 1
    return dict(sorted(counts.items()))


def _measure(
    runner: Runner, pid: int, base: str, script: Path, args: list[Any], name: str, title: str, log_path: Path
) -> Result:
    opts = runner.opts
    log_offset = log_path.stat().st_size
    run_tag = f"{runner.prefix}-http-{int(time.time())}-{name}"
    service_before = _service_cpu_s(pid)
    before = procstat.cpu_sample(runner.postmaster)
    doc = run_wrk(base, script, opts.seconds, [run_tag, runner.prefix, *(str(a) for a in args)])
    after = procstat.cpu_sample(runner.postmaster)
    service_used = _service_cpu_s(pid) - service_before
    n = int(doc["requests"])
    seconds = doc["duration_us"] / 1e6
    errors = sum(int(doc[k]) for k in ("connect", "read", "write", "status", "timeout"))
    ok = max(n - errors, 0)
    extras: dict[str, Any] = {
        "errors": errors,
        "non_2xx": int(doc["status"]),
        "socket_errors": errors - int(doc["status"]),
        "error_statuses": _error_statuses(log_path, log_offset) if doc["status"] else {},
        "connections": CONNECTIONS,
        "max_ms": round(doc["max_us"] / 1000, 3),
        "service_cpu_us_per_request": round(service_used * 1e6 / n, 1) if n else None,
    }
    if before.server_s is not None and after.server_s is not None and n:
        extras["server_cpu_us_per_call"] = round((after.server_s - before.server_s) * 1e6 / n, 1)
    if before.machine_busy_s is not None and after.machine_busy_s is not None:
        busy = after.machine_busy_s - before.machine_busy_s
        server = (after.server_s or 0) - (before.server_s or 0)
        extras["wrk_and_others_cpu_s"] = round(max(busy - server - service_used, 0.0), 2)
    r = Result(
        name=name,
        title=title,
        clients=CONNECTIONS,
        tps=round(ok / seconds, 1) if seconds else 0.0,
        retried_pct=0.0,
        failed_pct=round(100 * errors / n, 3) if n else 0.0,
        p50_ms=round(doc["p50_us"] / 1000, 3),
        p99_ms=round(doc["p99_us"] / 1000, 3),
        ratio=None,
        ratio_of=CEILING,
        calls_per_s=round(n / seconds, 1) if seconds else 0.0,
        entries_per_call=1,
        calls=n,
        retried=0,
        failed=errors,
        seconds=round(seconds, 2),
        other_cpu_pct=None,
        extras=extras,
    )
    runner.report(r)
    runner.progress(
        f"         per request: service CPU {extras['service_cpu_us_per_request']} us, "
        f"database CPU {extras.get('server_cpu_us_per_call', 'n/a')} us; errors {errors}"
        + (f" (statuses {extras['error_statuses']})" if extras["error_statuses"] else "")
    )
    return r
