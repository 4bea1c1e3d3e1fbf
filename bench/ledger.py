"""The ledger (issue 12, Performance): one-stop settlement over HTTP, fee-line batches, and settlement with a
million stored stays, each figure beside an anchor of the same run.

Identity, rules and two ledgers run as `onestop serve` subprocesses (bench/core.py `serve`): the ledger asks
identity's eligibility again over HTTP with its service token and rules' quote over NATS
(`onestop.rpc.rules.quote`), as in production. Ledger A holds about 10,000 stays, ledger B 1,000,000; both are
filled with settled stays by `COPY`, each stay a copy of one stay settled through the API beforehand (its
agreement, stay, settlement, per-fund rows, accumulators and `STORED_LINES` of its fee lines, uuids replaced),
so the stored rows are what the API writes. The persons are imported into identity first; the stays that are
measured are admitted and billed (50 lines, one batch) through the API before any phase is timed.

- `settlement_per_s`: 20 closed-loop clients settle distinct stays on A (each stay once), ratio to TPC-B;
- `settlement_p99_ms`: settlements paced at 10% of TPC-B TPS over 20 connections (open loop, latency from each
  request's scheduled time, as identity's p99 is measured), the saturated p99 in the note;
- `settlement_p50_1m_over_10k`: p50 of settlements paced at a low rate on B over that on A, three interleaved
  rounds (A, B, A, B, A, B), each side the min of its rounds' medians;
- `fee_lines_per_s`: batches of 500 new lines over HTTP (4 clients), ratio to `COPY` of the same rows into a
  table of fee_line's shape (`CREATE TABLE … (LIKE fee_line INCLUDING ALL)`) in A's database, timed in this run.

`ONESTOP_BENCH_SCALE=0.1` stores a tenth of the stays and measures shorter phases.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import statistics
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench import load
from bench.core import Context, Row, asyncpg_dsn, cpu_seconds, quiet, serve, stop
from bench.identity import WORKERS, scale
from bench.rules import CODES
from onestop.cli.embedded import free_port
from onestop.common.testing import mint
from onestop.identity.domain.id_number import check_digit

REGION, HOSPITAL = "411203", "H411203001"  # 001 Henan (陕州区): a policy, a treat-first rule and a registry
STORED_BIG, STORED_SMALL = 1_000_000, 10_000
STORED_LINES = 10  # fee lines kept per stored stay (of its 50): 10 M rows at scale 1, loadable in minutes
LINES, BATCH = 50, 500
CLIENTS = 20
LOAD_SECONDS = 10.0
SETTLE_RATE = 250.0  # stays prepared per second of the saturated phase (above what it reaches)
TARGET_SHARE = 0.10  # of TPC-B TPS: the rate the p99 is measured at
P50_RATE, P50_STAYS, ROUNDS = 20.0, 120, 3
ADMITTED = "2026-03-10T09:30:00+08:00"
SETTLEMENT = json.dumps({"discharged_at": "2026-03-20T10:00:00+08:00", "discharge_way": "normal"}).encode()
_CPU = {"ledger": ("serve\x00ledger", True), "identity": ("serve\x00identity", True),
        "rules": ("serve\x00rules", True), "postgres": ("postgres", False), "bench": ("-m\x00bench", False)}


def _say(started: float, what: str) -> None:
    """Progress on stderr: the suite takes minutes."""
    print(f"  ledger {time.perf_counter() - started:6.1f} s  {what}", file=sys.stderr, flush=True)


def id_of(i: int) -> str:
    born = date(1950, 1, 1) + timedelta(days=i // 1000)
    first17 = f"{REGION}{born:%Y%m%d}{i % 1000:03d}"
    return first17 + check_digit(first17)


def registers(base: Path, n: int) -> list[tuple[str, Path]]:
    """Insurance and poverty-office registers of n registered-poor resident-insured persons (English headers)."""
    header = ["id_number", "name", "category", "region_code", "valid_from", "valid_to", "insurance", "disability",
              "household", "civil_servant", "subgroup", "guardian_name"]
    out = []
    for source, category, insurance, household in (("insurance", "参保人员", "城乡居民", ""),
                                                   ("poverty_office", "建档立卡贫困人口", "", "农村")):
        path = base / f"ledger-{source}.csv"
        with path.open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(header)
            for i in range(n):
                w.writerow([id_of(i), "王秀英", category, REGION, "2024-01-01", "", insurance, "", household, "", "",
                            ""])
        out.append((source, path))
    return out


def _hospital_token() -> str:
    return mint("hospital", hospital_code=HOSPITAL, subject="hospital:bench", ttl_s=7200)


def _key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


def lines(prefix: str, n: int, day: int = 11) -> list[dict[str, Any]]:
    """n fee lines of catalogue and local items, classes A/B/C (rules' bench mix), dated in the stay."""
    return [{"line_id": f"{prefix}{i:05d}", "code": CODES[i % len(CODES)][0], "name": "项目",
             "class": CODES[i % len(CODES)][1], "amount": CODES[i % len(CODES)][2],
             "occurred_at": f"2026-03-{day + i % 8:02d}T10:00:00+08:00"} for i in range(n)]


async def _admit(client: httpx.AsyncClient, person: int, billed: bool) -> str:
    r = await _post(client, "/v1/agreements", {
        "id_number": id_of(person), "region_code": REGION, "hospital_code": HOSPITAL,
        "signer": {"name": "王秀英", "relation": "self"}})
    r = await _post(client, "/v1/stays", {
        "agreement_id": r.json()["agreement_id"], "hospital_code": HOSPITAL, "admitted_at": ADMITTED})
    stay_id: str = r.json()["stay_id"]
    if billed:
        await _post(client, f"/v1/stays/{stay_id}/fee-lines", {"lines": lines("L", LINES)})
    return stay_id


async def _post(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> httpx.Response:
    """A preparation write, asked again with its key on a 503 (a dependency slow on a busy machine)."""
    key = _key()
    for attempt in range(5):
        r = await client.post(path, headers=key, json=body)
        if r.status_code != 503:
            break
        await asyncio.sleep(0.5 * (attempt + 1))
    r.raise_for_status()
    return r


async def admit_many(port: int, persons: range, *, billed: bool = True, concurrency: int = 8) -> list[str]:
    """Stays admitted (and billed 50 lines) through the API for these persons, in their order."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120, limits=limits,
                                 headers={"Authorization": f"Bearer {_hospital_token()}"}) as client:
        gate = asyncio.Semaphore(concurrency)

        async def one(p: int) -> str:
            async with gate:
                return await _admit(client, p, billed)

        return list(await asyncio.gather(*(one(p) for p in persons)))


def settlement_requests(port: int, stay_ids: list[str]) -> list[bytes]:
    token = _hospital_token()
    return [load.post_request(port, f"/v1/stays/{s}/settlement", token, SETTLEMENT, _key()) for s in stay_ids]


# --- stored stays by COPY -------------------------------------------------------------------------------------

# table -> (its columns as COPY writes them: identity columns left to the table, the query of the template's rows)
_TEMPLATE = {
    "agreement": "agreement_id IN (SELECT agreement_id FROM stay WHERE stay_id = $1)",
    "stay": "stay_id = $1",
    "settlement": "stay_id = $1",
    "settlement_fund": "settlement_id IN (SELECT settlement_id FROM settlement WHERE stay_id = $1)",
    "accumulator": "person_ref IN (SELECT person_ref FROM stay WHERE stay_id = $1)",
    "fee_line": "stay_id = $1",
}


# The stored settlements' quote without its Chinese trace (the settlement's and each payer's): a 50-line quote's
# trace is tens of kB, a million of them tens of GB to COPY; the settlement path never reads an old quote's trace.
_SLIM = {("settlement", "quote"): "jsonb_set(quote - 'trace', '{payers}', (SELECT jsonb_agg(p - 'trace') FROM "
                                  "jsonb_array_elements(quote->'payers') p))"}


async def _columns(conn: Any, table: str) -> list[str]:
    rows = await conn.fetch("SELECT column_name FROM information_schema.columns WHERE table_name = $1 AND "
                            "is_identity = 'NO' ORDER BY ordinal_position", table)
    return [r["column_name"] for r in rows]


async def template(ctx: Context, db_name: str, stay_id: str) -> dict[str, tuple[list[str], list[str], list[str]]]:
    """The settled stay's rows in COPY text format, per table (columns, lines), with the uuids to replace."""
    import asyncpg

    conn = await asyncpg.connect(asyncpg_dsn(ctx, "ledger", db_name))
    try:
        ids = await conn.fetchrow("SELECT s.stay_id::text, s.agreement_id::text, s.person_ref::text, "
                                  "t.settlement_id::text FROM stay s JOIN settlement t USING (stay_id) "
                                  "WHERE s.stay_id = $1", stay_id)
        out = {}
        for table, where in _TEMPLATE.items():
            cols = await _columns(conn, table)
            buf = io.BytesIO()
            picked = [_SLIM.get((table, c), c) for c in cols]
            query = f"SELECT {', '.join(picked)} FROM {table} WHERE {where.replace('$1', repr(stay_id))}"
            if table == "fee_line":
                query += f" ORDER BY line_id LIMIT {STORED_LINES}"
            await conn.copy_from_query(query, output=buf, format="text")
            out[table] = (cols, buf.getvalue().decode().splitlines(keepends=True), list(ids))
        return out
    finally:
        await conn.close()


def _copies(rows: list[str], ids: list[str], first: int, n: int) -> Iterator[bytes]:
    """The template's rows for stored stays first..first+n, each with its own uuids, in chunks."""
    text = "".join(rows)
    chunk: list[str] = []
    for k in range(first, first + n):
        # stay, agreement, person and settlement ids of stay k: distinct uuids of a fixed form per kind
        fresh = [str(uuid.UUID(int=(kind + 1) << 100 | k)) for kind in range(len(ids))]
        copy = text
        for old, new in zip(ids, fresh, strict=True):
            copy = copy.replace(old, new)
        chunk.append(copy)
        if len(chunk) >= 2000:
            yield "".join(chunk).encode()
            chunk = []
    if chunk:
        yield "".join(chunk).encode()


async def store(ctx: Context, db_name: str, tmpl: dict[str, tuple[list[str], list[str], list[str]]],
                n: int) -> float:
    """COPY n settled stays shaped as the template into the ledger database, then VACUUM ANALYZE: seconds."""
    import asyncpg

    conn = await asyncpg.connect(asyncpg_dsn(ctx, "ledger", db_name))
    t = time.perf_counter()
    try:
        try:  # no foreign-key trigger a row (the copies reference their own template rows): half a COPY's time
            await conn.execute("SET session_replication_role = replica")
        except asyncpg.InsufficientPrivilegeError:
            pass  # an external server where the bench's role may not: checked row by row
        for table in _TEMPLATE:  # parents before children (foreign keys)
            cols, rows, ids = tmpl[table]

            async def source(rows: list[str] = rows, ids: list[str] = ids) -> Any:
                for data in _copies(rows, ids, 0, n):
                    yield data

            await conn.copy_to_table(table, source=source(), columns=cols, format="text")
            _say(t, f"  {table}: {n:,} × {len(''.join(rows)):,} B")
        await conn.execute("VACUUM ANALYZE")
        await quiet(conn, time.perf_counter(), 300)
    finally:
        await conn.close()
    return time.perf_counter() - t


async def copy_anchor(ctx: Context, db_name: str, batches: list[list[dict[str, Any]]], stay_ids: list[str]) -> float:
    """COPY of the fee-line rows the API phase posts into a table of fee_line's shape: rows per second."""
    import asyncpg

    conn = await asyncpg.connect(asyncpg_dsn(ctx, "ledger", db_name))
    try:
        await conn.execute("DROP TABLE IF EXISTS fee_line_copy")
        await conn.execute("CREATE TABLE fee_line_copy (LIKE fee_line INCLUDING ALL)")
        cols = ["stay_id", "line_id", "code", "name", "fee_class", "amount_fen", "occurred_at", "occurred_on"]
        records = []
        for stay_id, batch in zip(stay_ids, batches, strict=True):
            for x in batch:
                at = x["occurred_at"]
                records.append((uuid.UUID(stay_id), x["line_id"], x["code"], x["name"], x["class"],
                                int(x["amount"].replace(".", "")), _ts(at), date.fromisoformat(at[:10])))
        t = time.perf_counter()
        await conn.copy_records_to_table("fee_line_copy", records=records, columns=cols)
        elapsed = time.perf_counter() - t
        await conn.execute("DROP TABLE fee_line_copy")
        return len(records) / elapsed
    finally:
        await conn.close()


def _ts(at: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(at)


async def idle(ctx: Context, db_names: list[str], billed: int, limit_s: float = 600.0) -> float:
    """Wait until the ledgers' outboxes are published and their cost-alert consumers are done with the billed
    stays (every one checked, or none more for 5 s: their background quotes are the batches' aftermath, not the
    settlement's), then CHECKPOINT."""
    import asyncpg

    t = time.perf_counter()
    for name in db_names:
        conn = await asyncpg.connect(asyncpg_dsn(ctx, "ledger", name))
        try:
            last, still = -1, 0
            while time.perf_counter() - t < limit_s:
                pending = await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
                checked = await conn.fetchval("SELECT count(*) FROM cost_alert_check")
                still = still + 1 if checked == last else 0
                if not pending and (checked >= billed or still >= 5):
                    break
                last = checked
                await asyncio.sleep(1)
            await quiet(conn, time.perf_counter(), 120)
        finally:
            await conn.close()
    return time.perf_counter() - t


def _per(before: dict[str, float], n: int) -> str:
    return ", ".join(f"{k} {(cpu_seconds(p, tree=tr) - before[k]) / max(n, 1) * 1e6:,.0f}"
                     for k, (p, tr) in _CPU.items())


def _cpu() -> dict[str, float]:
    return {k: cpu_seconds(p, tree=tr) for k, (p, tr) in _CPU.items()}


async def _import(port: int, paths: list[tuple[str, Path]]) -> None:
    headers = {"Authorization": f"Bearer {mint('operator', subject='operator:bench')}"}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=3600, headers=headers) as client:
        for source, path in paths:
            with path.open("rb") as f:
                r = await client.post("/v1/imports", headers=_key(), data={"source": source},
                                      files={"file": (path.name, f, "text/csv")})
            r.raise_for_status()
            assert not r.json()["rejected"], r.text


async def _settle_one(port: int, stay_id: str) -> None:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
        r = await client.post(f"/v1/stays/{stay_id}/settlement", content=SETTLEMENT, headers={
            "Authorization": f"Bearer {_hospital_token()}", "Content-Type": "application/json", **_key()})
        assert r.status_code == 201, r.text


def run(ctx: Context) -> None:
    s = scale()
    short = max(s, 0.02)  # phases shrink with the scale, to a fiftieth at most
    seconds = LOAD_SECONDS * short
    tpcb = ctx.anchor("pgbench_tpcb_tps")
    paced_rate = max(TARGET_SHARE * tpcb, 20.0) if tpcb else 100.0
    n_saturated, n_paced = max(int(SETTLE_RATE * seconds), 20), max(int(paced_rate * seconds), 20)
    n_p50 = max(int(P50_STAYS * short), 10)
    n_fee_stays = max(int(40 * short), 2)  # each takes 4 batches of 500
    warm = max(int(100 * short), 10)
    # persons: 1 template, then A's warm-up, saturated, paced and p50 stays, B's warm-up and p50 stays, fee stays
    a_count = warm + n_saturated + n_paced + ROUNDS * n_p50
    b_count = warm + ROUNDS * n_p50
    persons = 1 + a_count + b_count + n_fee_stays
    big, small = int(STORED_BIG * s), max(int(STORED_SMALL * s) - a_count, 0)

    ports = {k: free_port() for k in ("rules", "identity", "a", "b")}
    urls = {k: f"http://127.0.0.1:{p}" for k, p in ports.items()}
    procs = []
    t0 = time.perf_counter()
    try:
        rules, _ = serve(ctx, "rules", ports["rules"])
        procs.append(rules)
        identity, _ = serve(ctx, "identity", ports["identity"], workers=WORKERS, ONESTOP_RULES_URL=urls["rules"])
        procs.append(identity)
        env = {"ONESTOP_IDENTITY_URL": urls["identity"], "ONESTOP_RULES_URL": urls["rules"]}
        ledger_a, db_a = serve(ctx, "ledger", ports["a"], workers=WORKERS, **env)
        procs.append(ledger_a)
        ledger_b, db_b = serve(ctx, "ledger", ports["b"], workers=WORKERS, **env)
        procs.append(ledger_b)
        _say(t0, "services up")
        asyncio.run(_import(ports["identity"], registers(ctx.base, persons)))
        _say(t0, f"{persons:,} persons imported into identity")

        [tmpl_stay] = asyncio.run(admit_many(ports["a"], range(0, 1)))
        asyncio.run(_settle_one(ports["a"], tmpl_stay))
        tmpl = asyncio.run(template(ctx, db_a, tmpl_stay))
        _say(t0, "template stay settled")
        stored_b = asyncio.run(store(ctx, db_b, tmpl, big))
        stored_a = asyncio.run(store(ctx, db_a, tmpl, small))
        _say(t0, f"stored {big:,} + {small:,} stays by COPY")

        t = time.perf_counter()
        a_ids = asyncio.run(admit_many(ports["a"], range(1, 1 + a_count)))
        b_ids = asyncio.run(admit_many(ports["b"], range(1 + a_count, 1 + a_count + b_count)))
        fee_ids = asyncio.run(admit_many(ports["a"], range(1 + a_count + b_count, persons), billed=False))
        prepared = time.perf_counter() - t
        _say(t0, "stays admitted and billed")
        settled_in = asyncio.run(idle(ctx, [db_a], 1 + a_count))
        asyncio.run(idle(ctx, [db_b], b_count))
        _say(t0, "cost alerts done")

        a_warm, a_sat, a_paced, a_p50 = (a_ids[:warm], a_ids[warm:warm + n_saturated],
                                         a_ids[warm + n_saturated:warm + n_saturated + n_paced],
                                         a_ids[warm + n_saturated + n_paced:])
        asyncio.run(load.once(ports["a"], settlement_requests(ports["a"], a_warm), CLIENTS, 60, ok=201))
        asyncio.run(load.once(ports["b"], settlement_requests(ports["b"], b_ids[:warm]), CLIENTS, 60, ok=201))

        before = _cpu()
        # until the prepared stays run out or the phase's time is up (never under 10 s: a latency is seconds on a
        # loaded machine, and each client finishes the request it is in)
        lat, errors, elapsed = load.run(load.once(ports["a"], settlement_requests(ports["a"], a_sat), CLIENTS,
                                                  max(seconds, 10.0), ok=201))
        cpu = _per(before, len(lat))
        rate = len(lat) / elapsed
        sat_p99 = load.percentile(lat, 0.99)
        ctx.add(Row("ledger", "settlement_per_s", rate, "settlements/s", anchor="pgbench_tpcb_tps",
                    target="≥ 10% of TPC-B", note=f"{len(lat):,} 50-line stays of distinct persons over HTTP, "
                    f"{CLIENTS} closed-loop clients, {elapsed:.1f} s, p50 {load.percentile(lat, 0.5):.1f} ms, "
                    f"p99 {sat_p99:.1f} ms there, {errors} errors; CPU µs a settlement: {cpu}; ledger, identity "
                    f"{WORKERS} workers each; {len(a_ids) + 1 + small:,} stays stored; {persons:,} persons admitted "
                    f"and billed in {prepared:.0f} s, then cost alerts estimated and CHECKPOINT in {settled_in:.0f} s"))

        paced, errors = load.run(load.paced(ports["a"], settlement_requests(ports["a"], a_paced), paced_rate,
                                            len(a_paced) / paced_rate, pool_size=CLIENTS, warm_up=0, ok=201))
        ctx.add(Row("ledger", "settlement_p99_ms", load.percentile(paced, 0.99), "ms", target="≤ 50 ms",
                    note=f"{len(paced):,} settlements paced at {paced_rate:.0f}/s (10% of TPC-B) over {CLIENTS} "
                    f"connections, latency from each request's scheduled time, p50 "
                    f"{load.percentile(paced, 0.5):.1f} ms, {errors} errors; saturated p99 {sat_p99:.1f} ms"))

        medians: dict[str, list[float]] = {"a": [], "b": []}
        b_rest = b_ids[warm:]
        for r in range(ROUNDS):
            for side, ids in (("a", a_p50), ("b", b_rest)):
                chunk = ids[r * n_p50:(r + 1) * n_p50]
                got, errors = load.run(load.paced(ports[side], settlement_requests(ports[side], chunk), P50_RATE,
                                                  len(chunk) / P50_RATE, pool_size=4, warm_up=0, ok=201))
                assert not errors, f"{errors} settlements failed on ledger {side}"
                medians[side].append(statistics.median(got) * 1000)
        p50_small, p50_big = min(medians["a"]), min(medians["b"])
        ctx.add(Row("ledger", "settlement_p50_1m_over_10k", p50_big / p50_small, "×", target="≤ 1.2×",
                    note=f"p50 {p50_big:.1f} ms with {big + len(b_ids):,} stays stored, {p50_small:.1f} ms with "
                    f"{small + len(a_ids) + 1:,}: min of {ROUNDS} interleaved rounds' medians "
                    f"(B {', '.join(f'{m:.1f}' for m in medians['b'])}; A "
                    f"{', '.join(f'{m:.1f}' for m in medians['a'])}), {n_p50} settlements a round paced at "
                    f"{P50_RATE:.0f}/s; stored stays by COPY (agreement, stay, settlement, funds, accumulators, "
                    f"{STORED_LINES} fee lines each): B {stored_b:.0f} s, A {stored_a:.0f} s with VACUUM ANALYZE"))

        batches = [lines(f"D{d}-", BATCH, 11 + d) for d in range(4)]
        posted = [(sid, b) for sid in fee_ids for b in batches]
        copy_rate = asyncio.run(copy_anchor(ctx, db_a, [b for _, b in posted], [sid for sid, _ in posted]))
        ctx.add(Row("anchor", "copy_fee_lines_rows_per_s", copy_rate, "rows/s",
                    note=f"COPY of the {len(posted) * BATCH:,} rows below into a table LIKE fee_line INCLUDING ALL"))
        token = _hospital_token()
        requests = [load.post_request(ports["a"], f"/v1/stays/{sid}/fee-lines", token,
                                      json.dumps({"lines": b}).encode(), _key()) for sid, b in posted]
        before = _cpu()
        lat, errors, elapsed = load.run(load.once(ports["a"], requests, 4, 600, ok=201))
        ctx.add(Row("ledger", "fee_lines_per_s", len(lat) * BATCH / elapsed, "lines/s",
                    anchor="copy_fee_lines_rows_per_s", target="≥ 10% of COPY",
                    note=f"{len(lat)} batches of {BATCH} new lines over HTTP (4 clients; {len(fee_ids)} stays, 4 "
                    f"batches each), {elapsed:.1f} s, batch p50 {load.percentile(lat, 0.5):.0f} ms, {errors} "
                    f"errors; CPU µs a line: {_per(before, len(lat) * BATCH)}"))
    finally:
        stop(*procs)
