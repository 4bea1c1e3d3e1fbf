"""The HTTP load generator every HTTP benchmark shares: keep-alive connections written by hand, open loop
(paced) and closed loop (saturated).

It runs on the machine it measures, so it must cost far less CPU than the server (httpx's async client costs
about a millisecond a request on 2 CPUs) and must not pause: with a large heap left by the benchmarks before
it, one of its own full garbage collections stalled every request in flight for 80–150 ms and alone decided
a p99. Garbage collection is therefore off while latencies are recorded (`quiet_gc`). Every phase runs on
uvloop (`run`), the event loop the services use, which costs the generator about half of asyncio's CPU a
request; its timers count whole milliseconds, so a paced request is never sent before its time (see
`paced`) and latency is read from `time.perf_counter`, never from the loop's clock.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Coroutine, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a phase on uvloop, the event loop the services use: on a 2-CPU machine the generator's own CPU
    is taken from the server it measures, and uvloop's costs less than asyncio's."""
    import uvloop

    return uvloop.run(coro)


@contextmanager
def quiet_gc() -> Iterator[None]:
    """No collection inside the block: what is alive now is frozen out of later passes, and none runs."""
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()


def post_request(port: int, path: str, token: str, body: bytes, headers: dict[str, str] | None = None) -> bytes:
    """A whole HTTP/1.1 POST of a JSON body with a bearer token (and `headers`, an Idempotency-Key say), ready to
    write to a keep-alive connection."""
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n{extra}"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body


class Conn:
    """One keep-alive HTTP/1.1 connection: write a request, read the status and the body."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Conn:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def send(self, request: bytes) -> int:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        await self.reader.readexactly(length)
        return int(head[9:12])

    def close(self) -> None:
        self.writer.close()


async def paced(port: int, requests: Sequence[bytes], rate: float, seconds: float, *,
                pool_size: int = 32, warm_up: int = 200,
                schedule: list[float] | None = None, ok: int = 200) -> tuple[list[float], int]:
    """Open loop: request i is sent at start + i/rate (cycling through `requests`) and its latency runs from
    that scheduled time, so a slow answer delays nothing it should not (no coordinated omission).
    Returns the latencies in seconds and the number of answers that were not `ok`; `schedule`, if given,
    receives each latency's scheduled send time (seconds from the start) in the same order. With `warm_up` 0
    and `rate * seconds` requests, each request is sent exactly once (writes that must not be replayed)."""
    conns = [await Conn.open(port) for _ in range(pool_size)]
    clock = time.perf_counter  # never the loop's clock: uvloop's counts whole milliseconds
    latencies: list[float] = []
    errors = 0
    total = int(rate * seconds)
    claimed = 0
    start = 0.0

    async def worker(conn: Conn) -> None:
        # Each connection takes the next unclaimed slot, waits for its time and sends: no task per request
        # (a task and a queue hop cost the generator ~30 µs a request). With every connection busy, the
        # next slot waits for one, and that wait is part of its latency (measured from the slot's time).
        nonlocal claimed, errors
        while claimed < total:
            i = claimed
            claimed += 1
            at = start + i / rate
            # Never early: uvloop's timers count whole milliseconds (a shorter sleep returns at once), so
            # sleep again until the time has come. A late send is counted in its latency (from `at`).
            while (delay := at - clock()) > 0:  # noqa: ASYNC110 (a timed wait, not a wait for an event)
                await asyncio.sleep(max(delay, 0.001))
            status = await conn.send(requests[i % len(requests)])
            latencies.append(clock() - at)
            if schedule is not None:
                schedule.append(at - start)
            errors += status != ok

    try:
        for k in range(warm_up):  # connections and the server warm
            await conns[k % pool_size].send(requests[k % len(requests)])
        with quiet_gc():
            start = clock() + 0.1
            await asyncio.gather(*(worker(c) for c in conns))
    finally:
        for c in conns:
            c.close()
    return latencies, errors


async def saturated(port: int, requests: Sequence[bytes], clients: int, seconds: float,
                    warm_up_s: float = 1.0) -> tuple[list[float], int]:
    """Closed loop: `clients` connections, each sending its next request as soon as the last is answered,
    for `seconds` after a warm-up. Returns the latencies in seconds and the number of answers not 200."""
    latencies: list[float] = []
    errors = 0

    async def client(k: int, until: float, record: bool) -> None:
        nonlocal errors
        conn = await Conn.open(port)
        try:
            i = k * 7919
            while time.perf_counter() < until:
                i += 1
                t = time.perf_counter()
                status = await conn.send(requests[i % len(requests)])
                if record:
                    latencies.append(time.perf_counter() - t)
                    errors += status != 200
        finally:
            conn.close()

    async with asyncio.timeout(warm_up_s + seconds + 60):
        await asyncio.gather(*(client(k, time.perf_counter() + warm_up_s, False) for k in range(clients)))
        with quiet_gc():
            await asyncio.gather(*(client(k, time.perf_counter() + seconds, True) for k in range(clients)))
    return latencies, errors


async def once(port: int, requests: Sequence[bytes], clients: int, seconds: float, *,
               ok: int = 200) -> tuple[list[float], int, float]:
    """Closed loop over requests that must each be sent once (settlements, fee-line batches: a second send is a
    replay): `clients` connections take the next unsent request as soon as their last is answered, until all
    are sent or `seconds` have passed. Returns the latencies in seconds, the answers not `ok`, the elapsed time."""
    latencies: list[float] = []
    errors = 0
    cursor = iter(requests)
    clock = time.perf_counter

    async def client(until: float) -> None:
        nonlocal errors
        conn = await Conn.open(port)
        try:
            for request in cursor:  # one iterator shared by every client: each request is taken once
                t = clock()
                status = await conn.send(request)
                latencies.append(clock() - t)
                errors += status != ok
                if clock() >= until:
                    break
        finally:
            conn.close()

    async with asyncio.timeout(seconds + 60):
        with quiet_gc():
            start = clock()
            await asyncio.gather(*(client(start + seconds) for _ in range(clients)))
            elapsed = clock() - start
    return latencies, errors, elapsed


def windows(schedule: Sequence[float], latencies: Sequence[float], width: float = 0.25) -> list[tuple[float, float]]:
    """(start in seconds, p99 in ms) of each `width`-second window of scheduled send times: a tail made by
    a few machine-wide stalls shows as a few bad windows, a slow service as many."""
    by_window: dict[int, list[float]] = {}
    for at, latency in zip(schedule, latencies, strict=True):
        by_window.setdefault(int(at / width), []).append(latency)
    return [(k * width, percentile(v, 0.99)) for k, v in sorted(by_window.items())]


def io_pressure_ms() -> float | None:
    """Linux's cumulative I/O pressure, 'full' line (time all non-idle tasks were stalled on I/O), in ms;
    None where /proc/pressure is missing."""
    try:
        with open("/proc/pressure/io") as f:
            for line in f:
                if line.startswith("full"):
                    return int(line.rsplit("total=", 1)[1]) / 1000
    except OSError:
        pass
    return None


def percentile(latencies: Sequence[float], q: float) -> float:
    """The q-quantile (0 < q < 1) in milliseconds, nearest rank."""
    ordered = sorted(latencies)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, int(len(ordered) * q + 0.999999) - 1))] * 1000
