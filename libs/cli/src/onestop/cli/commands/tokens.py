"""`onestop token` (mint a client token with the issuer's key; `revoke` one or a subject's) and `onestop keys`.

The issuer's private key is the operator's, like `nsc`'s for NATS: `ONESTOP_ISSUER_KEY`, or the file
`--issuer-key-file` (the embedded run's `.data/keys/issuer.key`). No service holds it.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Annotated

import jwt
import typer
from rich.console import Console

from onestop.common.keys import KeyFormatError, KeySet
from onestop.common.settings import ConnectionSettings, TokenSettings
from onestop.common.tokens import ClientTokenIssuer

DEFAULT_DATA_DIR = Path(".data")
console = Console(stderr=True)


def _fail(message: str) -> None:
    console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(1)


def issuer_key(key_file: Path | None = None) -> str | None:
    """The issuer's private key: ONESTOP_ISSUER_KEY, else the key file (default `.data/keys/issuer.key`)."""
    if os.environ.get("ONESTOP_ISSUER_KEY"):
        return os.environ["ONESTOP_ISSUER_KEY"].strip().strip("'\"")
    path = key_file or DEFAULT_DATA_DIR / "keys" / "issuer.key"
    return path.read_text().strip() if path.exists() else None


def client_issuer(key_file: Path | None = None) -> ClientTokenIssuer | None:
    """The issuer built from `issuer_key`, or None when there is no key."""
    key = issuer_key(key_file)
    return None if key is None else ClientTokenIssuer(key, TokenSettings().token_max_ttl_s)


def _nats_url(given: str | None, data_dir: Path) -> str:
    if given:
        return given
    written = data_dir / "nats.url"  # the embedded run's server, on a free port
    if not written.exists():
        return ConnectionSettings().nats_url
    # the local run's server has users (issue 15): the revocation bucket is the operator's to write
    from onestop.cli.nats_auth import OPERATOR
    from onestop.cli.nats_credentials import password, with_user

    pw = password(data_dir / "keys", OPERATOR)
    url = written.read_text().strip()
    return with_user(url, OPERATOR, pw) if pw else url


token_app = typer.Typer(help="Mint a client token (the token alone on the last line), or revoke tokens.",
                        invoke_without_command=True)


@token_app.callback()
def token(
    ctx: typer.Context,
    role: Annotated[str | None, typer.Option(help="hospital | bureau | payer | operator | credit_feed")] = None,
    hospital_code: Annotated[str | None, typer.Option(help="for role hospital")] = None,
    region_code: Annotated[str | None, typer.Option(help="for bureau and payer")] = None,
    payer: Annotated[str | None, typer.Option(help="for role payer, e.g. basic")] = None,
    subject: Annotated[str | None, typer.Option(help="the token's subject (defaults from the scope)")] = None,
    ttl: Annotated[int | None, typer.Option(help="seconds until it expires (default and limit: the role's "
                                                 "maximum, ONESTOP_TOKEN_MAX_TTL_S)")] = None,
    issuer_key_file: Annotated[Path | None, typer.Option(help="the issuer's private key (default "
                                                             ".data/keys/issuer.key; ONESTOP_ISSUER_KEY wins)")] = None,
) -> None:
    """Mint a client token signed with the issuer's key."""
    if ctx.invoked_subcommand:
        return
    if role is None:
        _fail("pass --role (hospital, bureau, payer, operator or credit_feed), or `revoke`")
    try:
        issuer = client_issuer(issuer_key_file)
        if issuer is None:
            _fail("no issuer key: set ONESTOP_ISSUER_KEY or pass --issuer-key-file "
                  "(`onestop up` keeps the local run's in .data/keys/issuer.key)")
            return
        tok = issuer.mint(role or "", subject=subject, hospital_code=hospital_code, region_code=region_code,
                          payer=payer, ttl_s=ttl)
    except (ValueError, KeyFormatError) as exc:
        _fail(str(exc))
        return
    claims = jwt.decode(tok, options={"verify_signature": False})
    expires = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(claims["exp"]))
    console.print(f"jti {claims['jti']}, subject {claims['sub']}, expires {expires}")
    print(tok)


@token_app.command()
def revoke(
    jti: Annotated[str | None, typer.Argument(help="the token's id (its `jti` claim)")] = None,
    subject: Annotated[str | None, typer.Option(help="revoke every token of this subject issued until now")] = None,
    nats_url: Annotated[str | None, typer.Option(envvar="NATS_URL", help="default: the local run's")] = None,
    data_dir: Annotated[Path, typer.Option(help="the local run's data directory")] = DEFAULT_DATA_DIR,
) -> None:
    """Put a token (or a subject's tokens) on the revocation list every service watches."""
    from onestop.common.logging import configure_logging
    from onestop.common.nats import connect
    from onestop.common.revocation import revoke as put_revocation

    if (jti is None) == (subject is None):
        _fail("name a token id (JTI) or --subject, not both")

    configure_logging("ERROR", "cli")  # the client's own "disconnected" on close is not news to an operator

    async def work() -> str:
        nc = await connect(_nats_url(nats_url, data_dir), name="onestop-token-revoke")
        try:
            return await put_revocation(nc.jetstream(), jti=jti, subject=subject,
                                        replicas=ConnectionSettings().stream_replicas)
        finally:
            await nc.close()

    try:
        key = asyncio.run(work())
    except Exception as exc:  # NATS down, a bad id: one line
        _fail(str(exc) or type(exc).__name__)
        return
    console.print(f"revoked ({key}); every service refuses it within seconds")


keys_app = typer.Typer(help="Key material: no key is in the repository.", no_args_is_help=True)


@keys_app.command()
def generate() -> None:
    """Print a fresh set of keys as env-file lines (issuer, each service, identity's PII keys)."""
    print(KeySet.generate().env_lines(), end="")


def register(app: typer.Typer) -> None:
    app.add_typer(token_app, name="token")
    app.add_typer(keys_app, name="keys")
