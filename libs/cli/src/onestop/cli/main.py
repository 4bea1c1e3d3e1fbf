"""`onestop`: the operator's command line (Typer + Rich)."""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from onestop.cli.commands import register_all
from onestop.cli.embedded import RuntimeProblem
from onestop.common.errors import Unavailable
from onestop.common.keys import KeySet
from onestop.common.settings import ConnectionSettings, TokenSettings
from onestop.common.tokens import ClientTokenIssuer

app = typer.Typer(help="onestop: treat-first, pay-later and one-stop settlement.", no_args_is_help=True)
console = Console(stderr=True)


def _fail(message: str) -> None:
    console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(1)


@app.command()
def up(
    data_dir: Annotated[Path, typer.Option(help="where the embedded PostgreSQL and NATS keep data")] = Path(".data"),
    subscribers: Annotated[Path | None, typer.Option(help="who may subscribe to what (default: "
                                                          "ONESTOP_SUBSCRIBERS or deploy/subscribers.toml)")] = None,
) -> None:
    """Start PostgreSQL and NATS (unless DATABASE_URL / NATS_URL are set), migrate, run the four services.

    The local run's keys are generated into DATA_DIR/keys on first start (mode 0600) and reused. The embedded
    nats-server gets users and permissions generated from the subscribers configuration (their passwords in
    DATA_DIR/keys/nats); without that file only the services and the operator have users."""
    from onestop.cli.commands.subscribe import subscribers_path
    from onestop.cli.stack import Stack, migrate_all

    keys = KeySet.load_or_create(data_dir / "keys")
    config = subscribers_path(subscribers)
    if subscribers is not None and not config.exists():
        _fail(f"no subscribers configuration at {config}")
    stack = Stack(data_dir=data_dir, keys=keys, subscribers=config if config.exists() else None)
    stopping = {"flag": False}

    def _stop(*_: object) -> None:
        stopping["flag"] = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)  # also when started in the background, where SIGINT is ignored
    try:
        console.print("starting PostgreSQL and NATS …")
        stack.start_infra()
        console.print("migrating the four databases …")
        migrate_all(stack.database_url)
        urls = stack.start_services()
        table = Table(title="onestop is up")
        table.add_column("service")
        table.add_column("docs")
        for name, url in urls.items():
            table.add_row(name, f"{url}/docs")
        Console().print(table)
        Console().print(f"NATS: {stack.nats_url}   PostgreSQL: {stack.database_url}")
        if stack.nats_auth:
            Console().print(f"NATS users from {stack.subscribers or 'no subscribers configuration'}; passwords in "
                            f"{data_dir}/keys/nats; try `onestop subscribe --region 150222 --max 5`")
        token = ClientTokenIssuer(keys.issuer_key, TokenSettings().token_max_ttl_s).mint(
            "operator", subject="operator:demo")
        Console().print(f"demo operator token (Authorize in /docs; more with `onestop token`, whose key is "
                        f"{data_dir}/keys/issuer.key):")
        print(token, flush=True)
        Console().print("Ctrl-C stops everything.")
        while not stopping["flag"]:  # Ctrl-C or SIGTERM sets the flag; `finally` stops everything
            for name, proc in stack.procs.items():
                if proc.poll() is not None:
                    raise RuntimeProblem(f"the {name} service stopped (see {data_dir}/logs/{name}.log)")
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    except (RuntimeProblem, Unavailable) as exc:
        stack.stop()
        _fail(str(exc))
    finally:
        console.print("stopping …")
        stack.stop()


@app.command()
def migrate() -> None:
    """Create each service's database if missing and run its migrations (uses DATABASE_URL)."""
    from onestop.cli.stack import migrate_all

    settings = ConnectionSettings()
    try:
        migrate_all(settings.database_url)
    except Exception as exc:  # a one-line answer, not a traceback
        _fail(f"migration failed ({type(exc).__name__}): is PostgreSQL reachable at DATABASE_URL? {exc}")
    console.print("migrated: identity, ledger, rules, clearing")


register_all(app)


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
