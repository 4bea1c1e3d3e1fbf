"""The anchors: pgbench (TPC-B and select-only) on the same PostgreSQL, JetStream publish rate."""

from __future__ import annotations

import asyncio
import re
import time

import nats
from nats.js.api import StreamConfig

from bench.core import Context, Row

PGBENCH_SECONDS = 10


def _pgbench(ctx: Context, *args: str) -> str:
    if ctx.pg is None:
        raise RuntimeError("pgbench anchor needs the embedded PostgreSQL (unset DATABASE_URL)")
    pg = ctx.pg
    return pg._run("pgbench", *pg.libpq_args(), *args, timeout=300).stdout


def pgbench(ctx: Context) -> None:
    if ctx.pg is None:
        return
    ctx.pg.create_database("pgbench")
    _pgbench(ctx, "-i", "-q", "-s", "10", "pgbench")
    for mode, extra in (("pgbench_tpcb_tps", []), ("pgbench_select_only_tps", ["-S"])):
        out = _pgbench(ctx, "-c", "8", "-j", "2", "-T", str(PGBENCH_SECONDS), *extra, "pgbench")
        m = re.search(r"tps = ([\d.]+)", out)
        ctx.add(Row("anchor", mode, float(m.group(1)) if m else 0.0, "tps",
                    note=f"pgbench -c 8 -j 2 -T {PGBENCH_SECONDS} -s 10" + (" -S" if extra else "")))


async def _jetstream(url: str) -> tuple[float, float]:
    nc = await nats.connect(url)
    js = nc.jetstream()
    await js.add_stream(StreamConfig(name="BENCH", subjects=["bench.>"]))
    payload = b"x" * 512
    n = 3000
    t = time.perf_counter()
    for _ in range(n):
        await js.publish("bench.sync", payload)
    sync_rate = n / (time.perf_counter() - t)
    n2, window = 30000, 256
    t = time.perf_counter()
    for _ in range(0, n2, window):
        await asyncio.gather(*(js.publish("bench.async", payload) for _ in range(window)))
    pipelined = n2 / (time.perf_counter() - t)
    await js.delete_stream("BENCH")
    await nc.close()
    return sync_rate, pipelined


def jetstream(ctx: Context) -> None:
    sync_rate, pipelined = asyncio.run(_jetstream(ctx.nats_url))
    ctx.add(Row("anchor", "jetstream_publish_acked_per_s", sync_rate, "msg/s", note="512 B, await each ack"))
    ctx.add(Row("anchor", "jetstream_publish_pipelined_per_s", pipelined, "msg/s",
                note="512 B, 256 publishes in flight"))


def run(ctx: Context) -> None:
    pgbench(ctx)
    jetstream(ctx)

