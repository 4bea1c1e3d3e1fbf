"""Replay from a time and from a stream sequence, a standing durable that resumes, `onestop subscribe` as a
bureau and as a fund, and a reload that adds a user — against a real nats-server with the generated users
(issue 15 points 2, 4, 5)."""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
from collections.abc import Iterator
from contextlib import aclosing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import nats
import pytest
from click.testing import Result
from nats.js.errors import NotFoundError
from typer.testing import CliRunner

from onestop.cli.main import app
from onestop.cli.nats_auth import load_subscribers
from onestop.cli.nats_credentials import write_server_config
from onestop.cli.subscription import Start, events

sys.path.insert(0, str(Path(__file__).parent))  # permissioned_nats.py, under --import-mode=importlib
from permissioned_nats import (  # noqa: E402
    GUYANG,
    OWN,
    SHANZHOU,
    SUBSCRIBERS,
    Permissioned,
    as_service,
    connect,
    envelope,
    publish_samples,
    start_permissioned,
)


@pytest.fixture(scope="module")
def permissioned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Permissioned]:
    yield from start_permissioned(tmp_path_factory)


@pytest.fixture(scope="module")
async def published(permissioned: Permissioned) -> Permissioned:
    return await publish_samples(permissioned)


async def publish_guyang(p: Permissioned, n: int) -> list[str]:
    """`n` more ledger events of 固阳; their payloads' markers, in order."""
    nc = await as_service(p, "ledger")
    js = nc.jetstream()
    markers = []
    for _ in range(n):
        body = envelope("ledger", "ledger.settlement.finalized.v1", GUYANG)
        await js.publish(f"onestop.ledger.settlement.finalized.{GUYANG}", body)
        markers.append(json.loads(body)["data"]["marker"])
    await nc.close()
    return markers


async def read(p: Permissioned, user: str, start: Start, *, slot: str | None = None, limit: int = 100,
               subject_filter: str = OWN) -> list[dict[str, Any]]:
    nc, watch = await connect(p, user)
    got = []
    reading = events(nc, user, "ledger", subject_filter, start, durable_slot=slot, idle_s=1.0, follow=False)
    async with aclosing(reading):
        async for received in reading:
            got.append(received.envelope)
            await received.ack()
            if len(got) >= limit:
                break
    await nc.close()
    assert watch.errors == []
    return got


async def test_replay_from_a_time_and_from_a_sequence(published: Permissioned) -> None:
    before = await read(published, "guyang", Start())
    assert [e["data"]["region_code"] for e in before] == [GUYANG] * len(before) and before
    t0 = datetime.now(UTC)
    await asyncio.sleep(0.05)  # stored timestamps are the server's: leave a gap either side of t0
    markers = await publish_guyang(published, 3)

    since = await read(published, "guyang", Start(since=t0))
    assert [e["data"]["marker"] for e in since] == markers  # exactly what came after, in order
    seqs = [e["streamseq"] for e in since]
    assert seqs == sorted(seqs)

    from_seq = await read(published, "guyang", Start(seq=seqs[1]))
    assert [e["data"]["marker"] for e in from_seq] == markers[1:]
    assert [e["data"]["marker"] for e in await read(published, "guyang", Start())][-3:] == markers
    # the ad-hoc replay's consumer went with it
    nc = await as_service(published, "ledger")
    with pytest.raises(NotFoundError):
        await nc.jetstream().consumer_info("ONESTOP_LEDGER", "guyang_replay", timeout=2)
    await nc.close()
    assert await read(published, "guyang", Start(since=datetime.now(UTC) + timedelta(hours=1))) == []


async def test_a_standing_durable_resumes_after_what_it_acknowledged(published: Permissioned) -> None:
    markers = await publish_guyang(published, 3)
    t0 = datetime.now(UTC) - timedelta(seconds=30)
    henan = await read(published, "shanzhou", Start(since=t0), slot="1",
                       subject_filter=f"onestop.ledger.*.*.{SHANZHOU}")
    assert {e["data"]["region_code"] for e in henan} == {SHANZHOU}  # its durable sees only its own region
    head = await read(published, "guyang", Start(seq=1), slot="2", limit=2)
    rest = await read(published, "guyang", Start(since=datetime.now(UTC)), slot="2")  # its start no longer counts
    assert [e["streamseq"] for e in head + rest] == sorted({e["streamseq"] for e in head + rest})
    assert [e["data"]["marker"] for e in rest][-3:] == markers
    assert await read(published, "guyang", Start(), slot="2") == []  # all acknowledged


def _subscribe(p: Permissioned, *args: str) -> Result:
    """The command in this process (Typer's runner: the machine is shared, an interpreter start is dear)."""
    return CliRunner().invoke(app, ["subscribe", *args, "--data-dir", str(p.data_dir), "--nats-url", p.server.url,
                                    "--subscribers", str(SUBSCRIBERS), "--idle", "1"], env={"COLUMNS": "200"})


def _lines(out: Result) -> list[dict[str, Any]]:
    assert out.exit_code == 0, out.stderr
    return [json.loads(line) for line in out.stdout.splitlines()]


def test_onestop_subscribe_prints_a_bureaus_and_a_funds_events_as_json_lines(published: Permissioned) -> None:
    two = _lines(_subscribe(published, "--region", "150222", "--max", "2"))
    assert len(two) == 2 and all(e["data"]["region_code"] == GUYANG for e in two)
    assert all(e["specversion"] == "1.0" and isinstance(e["streamseq"], int) for e in two)
    henan = _lines(_subscribe(published, "--region", "411203", "--seq", "1"))
    assert [e["data"]["region_code"] for e in henan] == [SHANZHOU]
    later = _lines(_subscribe(published, "--region", "150222", "--seq", str(two[1]["streamseq"]), "--max", "1"))
    assert later == [two[1]]
    # a fund of all regions, narrowed to 固阳: its payer's claims there only
    basic = _lines(_subscribe(published, "--region", "150222", "--payer", "basic"))
    assert [(e["type"], e["data"]["region_code"]) for e in basic] == [("clearing.claim.submitted.basic.v1", GUYANG)]
    feed = _lines(_subscribe(published, "--credit-feed", "--since", "2020-01-01"))
    assert sorted(e["data"]["region_code"] for e in feed) == sorted([GUYANG, SHANZHOU])


@pytest.mark.parametrize(("args", "says"), [
    (["--region", "999999"], "no subscriber for region '999999'"),
    (["--region", "150222", "--since", "2026-13-01"], "month must be in 1..12"),
    (["--region", "150222", "--since", "2026-01-01", "--seq", "3"], "a time or a sequence, not both"),
    (["--region", "150222", "--payer", "basic", "--stream", "ledger"], "fund_basic may not read the ledger stream"),
])
def test_onestop_subscribe_refuses_bad_input_in_one_line(published: Permissioned, args: list[str],
                                                         says: str) -> None:
    out = _subscribe(published, *args)
    assert out.exit_code == 1 and says in " ".join(out.stderr.split()), out.stderr
    assert out.exception is None or isinstance(out.exception, SystemExit)
    assert out.stdout == ""


async def test_a_reload_adds_a_subscriber_without_a_restart(published: Permissioned, tmp_path: Path) -> None:
    config = tmp_path / "subscribers.toml"
    shutil.copy(SUBSCRIBERS, config)
    with config.open("a") as f:
        f.write('\n[[bureau]]\nname = "baiyun"\nregion_code = "150223"\n')
    conf = published.server.config
    assert conf is not None
    with pytest.raises(Exception, match="(?i)authorization"):
        await nats.connect(published.server.url, user="baiyun", password="x", allow_reconnect=False,
                           max_reconnect_attempts=0, connect_timeout=2)
    regenerated = CliRunner().invoke(app, ["nats-users", "--subscribers", str(config), "--data-dir",
                                           str(published.data_dir)])
    assert regenerated.exit_code == 0 and "reloaded" in regenerated.stderr, regenerated.stderr
    await asyncio.sleep(1.0)
    nc, watch = await connect(published, "baiyun")
    assert await read(published, "baiyun", Start(), subject_filter="onestop.ledger.*.*.150000.150200.150223") == []
    assert watch.errors == []
    await nc.close()
    write_server_config(load_subscribers(SUBSCRIBERS), published.keys, conf, rounds=4)  # as it was
    published.server.reload()
