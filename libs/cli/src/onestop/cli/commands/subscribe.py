"""`onestop subscribe`: read a bureau's (or a fund's) events as it would, with its generated credential."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from contextlib import aclosing
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from onestop.cli.nats_auth import Bureau, CreditFeed, Fund, SubscribersError, load_subscribers
from onestop.cli.nats_credentials import password
from onestop.cli.subscription import Start, connect_as, default_stream, events, filter_subject, parse_since
from onestop.common.nats import redact_url

DEFAULT_SUBSCRIBERS = Path("deploy/subscribers.toml")
console = Console(stderr=True)


def _fail(message: str) -> None:
    console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(1)


def subscribers_path(given: Path | None) -> Path:
    """The subscribers configuration: the option, else ONESTOP_SUBSCRIBERS, else deploy/subscribers.toml."""
    return given or Path(os.environ.get("ONESTOP_SUBSCRIBERS") or DEFAULT_SUBSCRIBERS)


def _server_url(given: str | None, data_dir: Path) -> str:
    if given:
        return given
    written = data_dir / "nats.url"  # the local run's server, on a free port
    if not written.exists():
        _fail(f"no NATS server: start one with `onestop up` (it writes {written}) or pass --nats-url")
    return written.read_text().strip()


def register(app: typer.Typer) -> None:
    @app.command("nats-users")
    def nats_users(
        subscribers: Annotated[Path | None, typer.Option(help="default: ONESTOP_SUBSCRIBERS or "
                                                              "deploy/subscribers.toml")] = None,
        data_dir: Annotated[Path, typer.Option(help="the local run's data")] = Path(".data"),
        reload: Annotated[bool, typer.Option("--reload/--no-reload", help="signal the running server")] = True,
    ) -> None:
        """Regenerate the local run's NATS users and permissions from the subscribers configuration and have
        its nats-server reread them (`nats-server --signal reload`): no restart, connections stay."""
        from onestop.cli.embedded import nats_server_bin
        from onestop.cli.nats_credentials import write_server_config

        try:
            config = load_subscribers(subscribers_path(subscribers))
        except (SubscribersError, OSError) as exc:
            _fail(str(exc))
            return
        out = write_server_config(config, data_dir / "keys", data_dir / "nats-auth.conf")
        console.print(f"{len(config.users())} subscriber(s) written to {out}")
        pid_file = data_dir / "nats.pid"
        if reload and pid_file.exists():
            done = subprocess.run([str(nats_server_bin()), "--signal", f"reload={pid_file}"], capture_output=True,
                                  text=True, timeout=30)
            if done.returncode != 0:
                _fail(f"nats-server did not take the reload: {done.stderr.strip()[-300:]}")
            console.print("nats-server reloaded its users")

    @app.command()
    def subscribe(
        region: Annotated[str | None, typer.Option(help="the bureau's region code (150222); with --payer, "
                                                        "narrows a fund of all regions to it")] = None,
        payer: Annotated[str | None, typer.Option(help="connect as that fund: basic | critical_illness | "
                                                       "assistance | gap_fill")] = None,
        credit_feed: Annotated[bool, typer.Option("--credit-feed", help="connect as the credit feed")] = False,
        since: Annotated[str | None, typer.Option(help="start at a date (Beijing midnight) or an ISO instant")] = None,
        seq: Annotated[int | None, typer.Option(help="start at this stream sequence (an event's `streamseq`)")] = None,
        max_events: Annotated[int | None, typer.Option("--max", min=1, help="stop after N events")] = None,
        stream: Annotated[str | None, typer.Option(help="ledger | clearing | identity | rules (default: a "
                                                        "bureau's ledger, a fund's clearing)")] = None,
        durable: Annotated[str | None, typer.Option(help="read through the standing durable <user>_<slot> "
                                                         "(acknowledged, resumes) instead of a replay")] = None,
        subscribers: Annotated[Path | None, typer.Option(help="default: ONESTOP_SUBSCRIBERS or "
                                                              "deploy/subscribers.toml")] = None,
        data_dir: Annotated[Path, typer.Option(help="the local run's data (keys/nats/<user>.password)")] = Path(
            ".data"),
        nats_url: Annotated[str | None, typer.Option(envvar="NATS_URL", help="default: the local run's")] = None,
        follow: Annotated[bool | None, typer.Option("--follow/--no-follow", help="wait for new events (default "
                                                    "with --durable) or end when caught up (a replay's)")] = None,
        idle: Annotated[float, typer.Option(help="caught up: this many seconds without a new event")] = 2.0,
    ) -> None:
        """Print a subscriber's events as JSON lines (CloudEvents envelopes, plus `streamseq`), from the oldest
        retained, a time (--since) or a sequence (--seq); stop after --max or, for a replay, when caught up."""
        try:
            start = Start(since=parse_since(since) if since else None, seq=seq)
            config = load_subscribers(subscribers_path(subscribers))
        except (ValueError, SubscribersError) as exc:
            _fail(str(exc))
            return
        user: Bureau | Fund | CreditFeed | None
        if credit_feed:
            user = next(iter(config.credit_feed), None)
        else:
            user = config.find(region, payer)
        if user is None:
            _fail(f"no subscriber for region {region!r}{f' and payer {payer!r}' if payer else ''} in the "
                  "subscribers configuration")
            return
        pw = password(data_dir / "keys", user.name)
        if pw is None:
            _fail(f"no credential for {user.name} under {data_dir}/keys/nats (has `onestop up` run here?)")
            return
        owner = stream or default_stream(user)
        try:
            subject_filter = filter_subject(user, owner, region)
        except ValueError as exc:
            _fail(str(exc))
            return
        url = _server_url(nats_url, data_dir)
        asyncio.run(_print(url, user.name, pw, owner, subject_filter, start, durable, max_events, idle, follow))

    async def _print(url: str, user: str, pw: str, owner: str, subject_filter: str, start: Start,
                     durable: str | None, max_events: int | None, idle: float, follow: bool | None) -> None:
        problems: list[str] = []

        async def _error(exc: Exception) -> None:  # a permissions violation arrives here, asynchronously
            problems.append(str(exc))
            console.print(f"[bold red]nats:[/] {exc}")

        try:
            nc = await connect_as(url, user, pw, _error)
        except Exception as exc:
            _fail(f"cannot connect to {redact_url(url)} as {user} ({type(exc).__name__})")
            return
        count = 0
        try:
            reading = events(nc, user, owner, subject_filter, start, durable_slot=durable, idle_s=idle,
                             follow=follow)
            async with aclosing(reading):  # its `finally` deletes the replay consumer at once
                async for received in reading:
                    print(json.dumps(received.envelope, ensure_ascii=False, separators=(",", ":")), flush=True)
                    await received.ack()  # printed: a standing durable moves past it
                    count += 1
                    if max_events is not None and count >= max_events:
                        break
        except Exception as exc:
            why = problems[-1] if problems else f"{type(exc).__name__}: {exc}"
            _fail(f"reading {owner} as {user} failed: {why}")
        finally:
            await nc.close()
        console.print(f"{count} event(s) as {user} on {subject_filter}")
