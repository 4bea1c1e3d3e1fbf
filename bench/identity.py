"""Identity: a first import of 1,000,000 register rows, then eligibility throughput and p99 with them stored.

Both services run as `onestop serve` subprocesses (uvicorn with uvloop and httptools) on free loopback
ports (rules with the shipped policies); the load generator is this process: 16 closed-loop clients on
hand-written keep-alive connections (httpx would cost the shared 2 CPUs about a millisecond a request).
The import's events are published (outbox drained) before the load starts. Throughput is measured
saturated (closed loop); the p99 paced at 3% of pgbench select-only TPS (open loop).
`ONESTOP_BENCH_SCALE=0.05` runs a twentieth of it.
"""

from __future__ import annotations

import asyncio
import csv
import importlib
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import httpx

from bench.core import Context, Row
from onestop.cli.embedded import free_port
from onestop.common.auth import TokenIssuer
from onestop.common.migrations import ensure_database
from onestop.common.settings import ServiceSettings
from onestop.identity.domain.id_number import check_digit

ROWS = 1_000_000
LOAD_SECONDS = 15.0
CLIENTS = 16
REGION = "150222"
TARGET_SHARE = 0.03  # of pgbench select-only TPS: the rate the p99 is measured at
PACED_RATE = 500.0  # without the pgbench anchor (DATABASE_URL set)


def scale() -> float:
    return float(os.environ.get("ONESTOP_BENCH_SCALE", "1"))


def id_of(i: int) -> str:
    """The i-th generated ID number: a birth date per thousand, a sequence within it (unique up to 36M)."""
    born = date(1940, 1, 1) + timedelta(days=i // 1000)
    first17 = f"{REGION}{born:%Y%m%d}{i % 1000:03d}"
    return first17 + check_digit(first17)


def generate(path: Path, n: int) -> None:
    """A register CSV with Chinese headers: even rows registered poor, odd rows resident-insured."""
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["身份证号码", "姓名", "人员类别", "行政区划代码", "起始日期", "终止日期", "参保类型", "户籍性质"])
        for i in range(n):
            if i % 2:
                w.writerow([id_of(i), "王秀英", "参保人员", REGION, "2024-01-01", "", "城乡居民", "农村"])
            else:
                w.writerow([id_of(i), "李建国", "建档立卡贫困人口", REGION, "2024-01-01", "", "", "农村"])


def _database(ctx: Context, service: str) -> str:
    name = f"bench_{service}_{uuid.uuid4().hex[:8]}"
    ensure_database(ctx.database_url, name)
    url = ServiceSettings(service=service, DATABASE_URL=ctx.database_url, database_name=name).service_database_url()
    importlib.import_module(f"onestop.{service}.store.migrate").upgrade(url)
    return name


def _serve(ctx: Context, service: str, port: int, **env: str) -> tuple[subprocess.Popen[bytes], str]:
    name = _database(ctx, service)
    environ = {**os.environ, "DATABASE_URL": ctx.database_url, "NATS_URL": ctx.nats_url,
               "ONESTOP_DATABASE_NAME": name, "ONESTOP_LOG_LEVEL": "WARNING", **env}
    proc = subprocess.Popen(
        [sys.executable, "-m", "onestop.cli.main", "serve", service, "--port", str(port)],  # uvloop, httptools
        env=environ, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return proc, name
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    proc.terminate()
    raise RuntimeError(f"{service} did not become ready")


def _token() -> str:
    s = ServiceSettings()
    return TokenIssuer(s.jwt_keys, s.jwt_current_kid, s.jwt_issuer).mint("operator", subject="operator:bench")


def _import(port: int, path: Path) -> tuple[float, dict]:  # type: ignore[type-arg]
    headers = {"Authorization": f"Bearer {_token()}", "Idempotency-Key": str(uuid.uuid4())}
    t = time.perf_counter()
    with path.open("rb") as f:
        r = httpx.post(f"http://127.0.0.1:{port}/v1/imports", headers=headers, timeout=3600,
                       files={"file": (path.name, f, "text/csv")}, data={"source": "poverty_office"})
    elapsed = time.perf_counter() - t
    r.raise_for_status()
    return elapsed, r.json()


class _Conn:
    """One keep-alive HTTP/1.1 connection written by hand (as bench/rules.py): the load generator shares the
    machine with the server it measures, and httpx's async client costs about a millisecond a request."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def post(self, request: bytes) -> int:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        await self.reader.readexactly(length)
        return int(head[9:12])


def _request(port: int, token: str, i: int) -> bytes:
    body = json.dumps({"id_number": id_of(i), "region_code": REGION, "hospital_code": "H150222001"}).encode()
    return (f"POST /v1/eligibility HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body


async def _load(port: int, n: int, seconds: float) -> tuple[int, list[float], int]:
    """CLIENTS closed-loop clients, each on its own keep-alive connection, for `seconds` after a warm-up."""
    token = _token()
    requests = [_request(port, token, (k * 104_729) % n) for k in range(min(n, 20_000))]
    latencies: list[float] = []
    errors = 0

    async def worker(k: int, until: float, record: bool) -> None:
        nonlocal errors
        conn = _Conn(*await asyncio.open_connection("127.0.0.1", port))
        try:
            i = k * 7919
            while time.perf_counter() < until:
                i = (i + 1) % len(requests)
                t = time.perf_counter()
                status = await conn.post(requests[i])
                if record:
                    latencies.append(time.perf_counter() - t)
                    errors += status != 200
        finally:
            conn.writer.close()

    async with asyncio.timeout(seconds + 60):
        await asyncio.gather(*(worker(k, time.perf_counter() + 1.0, False) for k in range(CLIENTS)))  # warm up
        await asyncio.gather(*(worker(k, time.perf_counter() + seconds, True) for k in range(CLIENTS)))
    return len(latencies), latencies, errors


async def _paced(port: int, n: int, rate: float, seconds: float, pool_size: int = 32) -> tuple[list[float], int]:
    """Open loop: requests sent on a fixed schedule at `rate`/s; each latency runs from its scheduled time, so a
    slow answer delays nothing it should not (no coordinated omission)."""
    token = _token()
    requests = [_request(port, token, (k * 104_729) % n) for k in range(min(n, 20_000))]
    idle: asyncio.Queue[_Conn] = asyncio.Queue()
    conns = [_Conn(*await asyncio.open_connection("127.0.0.1", port)) for _ in range(pool_size)]
    for c in conns:
        idle.put_nowait(c)
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    errors = 0

    async def one(i: int, at: float | None) -> None:
        nonlocal errors
        conn = await idle.get()
        try:
            status = await conn.post(requests[i % len(requests)])
        finally:
            idle.put_nowait(conn)
        if at is not None:
            latencies.append(loop.time() - at)
            errors += status != 200

    try:
        await asyncio.gather(*(one(i, None) for i in range(200)))  # warm up connections and the server
        start = loop.time() + 0.1
        tasks = []
        for i in range(int(rate * seconds)):
            at = start + i / rate
            delay = at - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i * 7919, at)))
        await asyncio.gather(*tasks)
    finally:
        for c in conns:
            c.writer.close()
    return latencies, errors


def _p99(latencies: list[float]) -> float:
    latencies = sorted(latencies)
    return latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000 if latencies else float("nan")


async def _drain(ctx: Context, db_name: str, limit_s: float = 900.0) -> float:
    """Wait until the relay has published the import's events (steady state), at most `limit_s`."""
    import asyncpg

    url = ServiceSettings(service="identity", DATABASE_URL=ctx.database_url, database_name=db_name)
    dsn = url.service_database_url().replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    t = time.perf_counter()
    try:
        while time.perf_counter() - t < limit_s:
            if not await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL"):
                break
            await asyncio.sleep(2)
    finally:
        await conn.close()
    return time.perf_counter() - t


def run(ctx: Context) -> None:
    n = max(1000, int(ROWS * scale()))
    rules_port, identity_port = free_port(), free_port()
    path = ctx.base / "identity-register.csv"
    generate(path, n)
    rules, _ = _serve(ctx, "rules", rules_port)
    identity, db_name = _serve(ctx, "identity", identity_port, ONESTOP_RULES_URL=f"http://127.0.0.1:{rules_port}")
    try:
        elapsed, body = _import(identity_port, path)
        assert body["accepted"] == n, body
        ctx.add(Row("identity", "import_rows_per_s", n / elapsed, "rows/s", anchor="pgbench_tpcb_tps",
                    target="≥ 10,000 rows/s", note=f"first import of {n:,} rows (CSV over HTTP), {elapsed:.1f} s"))
        drained = asyncio.run(_drain(ctx, db_name))
        seconds = LOAD_SECONDS * max(scale(), 0.2)
        count, latencies, errors = asyncio.run(_load(identity_port, n, seconds))
        ctx.add(Row("identity", "eligibility_rps", count / seconds, "req/s", anchor="pgbench_select_only_tps",
                    target="≥ 3% of select-only", note=f"saturated: {n:,} persons, {CLIENTS} closed-loop clients, "
                    f"p99 {_p99(latencies):.1f} ms there, {errors} errors; outbox drained after the import in "
                    f"{drained:.0f} s"))
        select_only = ctx.anchor("pgbench_select_only_tps")
        rate = max(TARGET_SHARE * select_only, 100.0) if select_only else PACED_RATE
        paced, errors = asyncio.run(_paced(identity_port, n, rate, seconds))
        ctx.add(Row("identity", "eligibility_p99_ms", _p99(paced), "ms", target="≤ 20 ms",
                    note=f"{len(paced):,} requests paced at {rate:.0f}/s (3% of select-only), latency from each "
                    f"request's scheduled send time, {errors} errors; load generator on the same machine"))
    finally:
        for proc in (identity, rules):  # our own subprocesses only
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
