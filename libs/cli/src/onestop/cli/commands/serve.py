"""`onestop serve SERVICE`: check the database, NATS and the port, then run the service (uvicorn).

A problem at start is one line that says which and what to do, never a traceback.
"""

from __future__ import annotations

import asyncio
import importlib
from typing import Annotated

import typer
from rich.console import Console

from onestop.cli.embedded import port_in_use

SERVICES = ("identity", "ledger", "rules", "clearing")
DEFAULT_PORTS = {"identity": 8001, "ledger": 8002, "rules": 8003, "clearing": 8004}


async def preflight(service: str) -> str | None:
    """None when the service can start; otherwise the one-line reason."""
    from onestop.common.db import Database
    from onestop.common.errors import Unavailable
    from onestop.common.nats import connect

    settings = importlib.import_module(f"onestop.{service}.settings").Settings()
    db = Database(settings.service_database_url(), pool_size=1)
    try:
        if not await db.ping(timeout=5):
            database = settings.service_database_url().split("?")[0].rsplit("/", 1)[-1]
            return (f"PostgreSQL is not reachable for {service} (database {database}): "
                    "start it (`make run`) or fix DATABASE_URL, then run `onestop migrate`")
    finally:
        await db.dispose()
    try:
        nc = await connect(settings.nats_url, name=f"preflight-{service}", connect_timeout=3)
        await nc.close()
    except Unavailable as exc:
        return str(exc)
    return None


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        service: Annotated[str, typer.Argument(help="identity | ledger | rules | clearing")],
        host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
        port: Annotated[int | None, typer.Option(help="default: 8001–8004 by service")] = None,
        workers: Annotated[int, typer.Option(help="uvicorn worker processes")] = 1,
        proxy_headers: Annotated[bool, typer.Option(
            help="trust X-Forwarded-For/-Proto from FORWARDED_ALLOW_IPS (behind a reverse proxy)")] = False,
        access_log: Annotated[bool, typer.Option(
            help="a JSON line per request (query values and non-ASCII path segments redacted)")] = False,
        worker_healthcheck_s: Annotated[int, typer.Option(
            envvar="ONESTOP_WORKER_HEALTHCHECK_S",
            help="with --workers: how long a worker may take to answer the supervisor's ping before it is "
                 "killed and restarted (uvicorn's default, 5 s, killed workers still starting on a busy machine)")
        ] = 30,
    ) -> None:
        """Run one service after checking that its database, NATS and port are there."""
        console = Console(stderr=True)
        if service not in SERVICES:
            console.print(f"[bold red]error:[/] unknown service {service!r}; one of {', '.join(SERVICES)}")
            raise typer.Exit(2)
        port = port or DEFAULT_PORTS[service]
        if port_in_use(port, "127.0.0.1" if host in ("0.0.0.0", "::") else host):
            console.print(f"[bold red]error:[/] port {port} is already taken: stop what uses it or pass --port")
            raise typer.Exit(1)
        from onestop.common.logging import configure_logging, uvicorn_log_config

        configure_logging("WARNING", service)  # the preflight's own records (a NATS disconnect) as JSON too
        try:
            problem = asyncio.run(preflight(service))
        except Exception as exc:  # bad settings and the like: still one line
            from onestop.common.settings import describe_settings_error

            problem = describe_settings_error(exc)
        if problem:
            console.print(f"[bold red]error:[/] {problem}")
            raise typer.Exit(1)
        import uvicorn

        level = importlib.import_module(f"onestop.{service}.settings").Settings().log_level
        configure_logging(level, service)
        # uvicorn's own records (its errors and their tracebacks, the access log) in every worker go through
        # the same redacting JSON handler as the service's, not uvicorn's plain-text handlers on stderr.
        # Proxy headers off by default: nothing here reads the client's address, and checking it against
        # the trusted proxies parsed IP addresses on every request.
        uvicorn.run(f"onestop.{service}.app:create_app", factory=True, host=host, port=port, workers=workers,
                    access_log=access_log, log_config=uvicorn_log_config(level, service), log_level=None,
                    proxy_headers=proxy_headers, timeout_worker_healthcheck=worker_healthcheck_s)
