"""Identity: a first import of 1,000,000 register rows, then eligibility throughput and p99 with them stored.

Both services run as `onestop serve` subprocesses (uvicorn with uvloop and httptools) on free loopback
ports (rules with the shipped policies; identity with one worker per CPU, as deploy/README.md advises);
the load generator is this process (bench/load.py). The import is timed on a quiet server (autovacuum
idle and a checkpoint after the benchmarks before it). The import's events are published (outbox drained),
the tables vacuumed and analysed and a checkpoint taken before the load starts: eligibility is measured
in steady state, not under the import's aftermath. Throughput is measured saturated (16 closed-loop
clients); the p99 paced at 3% of pgbench select-only TPS (open loop).
`ONESTOP_BENCH_SCALE=0.05` runs a twentieth of it.
"""

from __future__ import annotations

import asyncio
import csv
import json
import os
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import httpx

from bench import load
from bench.core import Context, Row, asyncpg_dsn, cpu_seconds, quiet, serve, stop
from onestop.cli.embedded import free_port
from onestop.common.testing import mint
from onestop.identity.domain.id_number import check_digit

ROWS = 1_000_000
LOAD_SECONDS = 15.0
CLIENTS = 16
WORKERS = os.cpu_count() or 1  # identity's uvicorn workers: one per CPU
REGION = "150222"
TARGET_SHARE = 0.03  # of pgbench select-only TPS: the rate the p99 is measured at
PACED_RATE = 500.0  # without the pgbench anchor (DATABASE_URL set)
# Whose CPU a phase used (command-line patterns, identity with its workers): the service, PostgreSQL, this
# load generator.
_CPU = {"identity": ("serve\x00identity", True), "postgres": ("postgres", False), "bench": ("-m\x00bench", False)}


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


def _token() -> str:
    # An operator token: identity's per-token rate limit (ONESTOP_RATE_LIMIT_PER_MINUTE) counts only hospital and
    # bureau tokens, so the load measures the service, not the limit (test_read_scopes checks operators pass).
    return mint("operator", subject="operator:bench")  # signed with this run's own keys (key_env)


def _import(port: int, path: Path) -> tuple[float, dict]:  # type: ignore[type-arg]
    headers = {"Authorization": f"Bearer {_token()}", "Idempotency-Key": str(uuid.uuid4())}
    t = time.perf_counter()
    with path.open("rb") as f:
        r = httpx.post(f"http://127.0.0.1:{port}/v1/imports", headers=headers, timeout=3600,
                       files={"file": (path.name, f, "text/csv")}, data={"source": "poverty_office"})
    elapsed = time.perf_counter() - t
    r.raise_for_status()
    return elapsed, r.json()


def _requests(port: int, n: int) -> list[bytes]:
    """Eligibility requests for up to 20,000 stored persons, in a scattered order."""
    token = _token()
    return [load.post_request(port, "/v1/eligibility", token, json.dumps(
        {"id_number": id_of((k * 104_729) % n), "region_code": REGION, "hospital_code": "H150222001"}).encode())
        for k in range(min(n, 20_000))]


async def _drain(ctx: Context, db_name: str, limit_s: float = 900.0) -> float:
    """Wait until the relay has published the import's events (steady state), at most `limit_s`."""
    import asyncpg

    conn = await asyncpg.connect(asyncpg_dsn(ctx, "identity", db_name))
    t = time.perf_counter()
    try:
        while time.perf_counter() - t < limit_s:
            if not await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL"):
                break
            await asyncio.sleep(2)
    finally:
        await conn.close()
    return time.perf_counter() - t


async def _before_import(ctx: Context, limit_s: float = 300.0) -> float:
    """A quiet server before the import is timed: the benchmarks before it (pgbench, the outbox and rules
    runs) can leave autovacuum work and dirty pages that would run beside the import. (Identity's CPU a row
    still varies 69-96 µs between runs with this step, with the machine's phase.)"""
    import asyncpg

    conn = await asyncpg.connect(asyncpg_dsn(ctx, "identity"))
    t = time.perf_counter()
    try:
        await quiet(conn, t, limit_s)
    finally:
        await conn.close()
    return time.perf_counter() - t


async def _settle(ctx: Context, db_name: str, limit_s: float = 600.0) -> float:
    """Steady state before eligibility is measured: VACUUM ANALYZE the freshly loaded tables (PostgreSQL's
    advice after populating a database), wait until no autovacuum worker runs (at most `limit_s`), then
    CHECKPOINT: the import left gigabytes of dirty pages whose checkpoint fsync otherwise lands inside the
    measurement and stalls every audited read's commit behind it."""
    import asyncpg

    conn = await asyncpg.connect(asyncpg_dsn(ctx, "identity", db_name))
    t = time.perf_counter()
    try:
        await conn.execute("VACUUM ANALYZE")
        await quiet(conn, t, limit_s)
    finally:
        await conn.close()
    return time.perf_counter() - t


def run(ctx: Context) -> None:
    n = max(1000, int(ROWS * scale()))
    rules_port, identity_port = free_port(), free_port()
    path = ctx.base / "identity-register.csv"
    generate(path, n)
    rules, _ = serve(ctx, "rules", rules_port)
    identity, db_name = serve(ctx, "identity", identity_port, workers=WORKERS,
                               ONESTOP_RULES_URL=f"http://127.0.0.1:{rules_port}")
    try:
        quieted = asyncio.run(_before_import(ctx))
        before = {k: cpu_seconds(p, tree=t) for k, (p, t) in _CPU.items()}
        elapsed, body = _import(identity_port, path)
        assert body["accepted"] == n, body
        per_row = ", ".join(f"{k} {(cpu_seconds(p, tree=t) - before[k]) / n * 1e6:.0f}" for k, (p, t) in _CPU.items())
        ctx.add(Row("identity", "import_rows_per_s", n / elapsed, "rows/s", anchor="pgbench_tpcb_tps",
                    target="≥ 10,000 rows/s", note=f"first import of {n:,} rows (CSV over HTTP), {elapsed:.1f} s, "
                    f"after autovacuum idle and a CHECKPOINT ({quieted:.0f} s); "
                    f"CPU µs a row: {per_row}"))
        drained = asyncio.run(_drain(ctx, db_name))
        settled = asyncio.run(_settle(ctx, db_name))
        seconds = LOAD_SECONDS * max(scale(), 0.2)
        requests = _requests(identity_port, n)
        before = {k: cpu_seconds(p, tree=t) for k, (p, t) in _CPU.items()}
        latencies, errors = load.run(load.saturated(identity_port, requests, CLIENTS, seconds))
        per_request = ", ".join(f"{k} {(cpu_seconds(p, tree=t) - before[k]) / max(len(latencies), 1) * 1e6:.0f}"
                                for k, (p, t) in _CPU.items())
        ctx.add(Row("identity", "eligibility_rps", len(latencies) / seconds, "req/s", anchor="pgbench_select_only_tps",
                    target="≥ 3% of select-only", note=f"saturated: {n:,} persons, {CLIENTS} closed-loop clients, "
                    f"p99 {load.percentile(latencies, 0.99):.1f} ms there, {errors} errors; CPU µs a request: "
                    f"{per_request}; outbox drained after the import in {drained:.0f} s, then VACUUM ANALYZE, "
                    f"autovacuum idle and CHECKPOINT in {settled:.0f} s"))
        select_only = ctx.anchor("pgbench_select_only_tps")
        rate = max(TARGET_SHARE * select_only, 100.0) if select_only else PACED_RATE
        schedule: list[float] = []
        io_before = load.io_pressure_ms()
        paced, errors = load.run(load.paced(identity_port, requests, rate, seconds, schedule=schedule))
        io_after = load.io_pressure_ms()
        stalled = "" if io_before is None or io_after is None else \
            f"; the machine's I/O pressure (PSI full) over the phase {io_after - io_before:.0f} ms"
        windows = load.windows(schedule, paced)
        bad = [(t, p) for t, p in windows if p > 20]
        worst = ", ".join(f"{p:.0f} ms at {t:.2f} s" for t, p in sorted(bad, key=lambda w: -w[1])[:3])
        ctx.add(Row("identity", "eligibility_p99_ms", load.percentile(paced, 0.99), "ms", target="≤ 20 ms",
                    note=f"{len(paced):,} requests paced at {rate:.0f}/s (3% of select-only), latency from each "
                    f"request's scheduled send time, p50 {load.percentile(paced, 0.5):.2f} ms, {errors} errors; "
                    f"250 ms windows with p99 > 20 ms: {len(bad)} of {len(windows)}"
                    f"{' (worst ' + worst + ')' if bad else ''}{stalled}; load generator on the same machine "
                    "(bench/load.py)"))
    finally:
        stop(identity, rules)
