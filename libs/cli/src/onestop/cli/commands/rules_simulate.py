"""`onestop simulate REQUESTS.jsonl`: replay quote inputs under two policy versions (POST /v1/simulations).

All stays go in one request: the server's deciles and most-changed list are exact only over the whole
set (deciles of chunks do not merge), so the progress bars follow reading the file and uploading it,
not chunks of the computation. The server takes at most 200,000 stays per simulation.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

MAX_STAYS = 200_000
UPLOAD_CHUNK = 64 * 1024


def read_requests(path: Path, progress: Progress) -> list[dict[str, Any]]:
    """Every non-blank line as a JSON object (the server validates each as a quote request)."""
    size = path.stat().st_size
    task = progress.add_task("reading", total=size)
    out: list[dict[str, Any]] = []
    with path.open("rb") as f:
        for n, raw in enumerate(f, start=1):
            progress.advance(task, len(raw))
            if not raw.strip():
                continue
            try:
                item = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path.name}, line {n}: not JSON ({exc.msg})") from None
            if not isinstance(item, dict):
                raise ValueError(f"{path.name}, line {n}: a quote request is a JSON object")
            out.append(item)
    return out


def _chunks(data: bytes, progress: Progress) -> Iterator[bytes]:
    task = progress.add_task("uploading", total=len(data))
    for i in range(0, len(data), UPLOAD_CHUNK):
        part = data[i:i + UPLOAD_CHUNK]
        yield part
        progress.advance(task, len(part))


def build_body(region: str, a_version: int, b_version: int | None, b_file: Path | None,
               requests: list[dict[str, Any]], top: int) -> dict[str, Any]:
    if b_file is not None:
        b: dict[str, Any] = {"filename": f"{region}/{b_file.name}", "yaml": b_file.read_text(encoding="utf-8")}
    else:
        b = {"policy_id": region, "version": b_version}
    return {"a": {"policy_id": region, "version": a_version}, "b": b, "requests": requests, "top": top}


def render(result: dict[str, Any], console: Console) -> None:
    """Per-payer totals a vs b, effective-ratio deciles, the stays whose self-pay changed most."""
    pa, pb = result["policy_a"], result["policy_b"]
    console.print(f"[bold]{result['stays']}[/] stays, total {result['total']} 元: "
                  f"policy {pa['id']} v{pa['version']} (a) vs v{pb['version']} (b)")
    t = Table(title="per payer (元)")
    for col in ("payer", "a", "b", "change"):
        t.add_column(col, justify="left" if col == "payer" else "right")
    for p in result["payers"]:
        t.add_row(p["payer"], p["a"], p["b"], p["change"])
    change = _fen(result["self_pay_b"]) - _fen(result["self_pay_a"])
    t.add_row("[bold]self-pay[/]", result["self_pay_a"], result["self_pay_b"], _yuan(change))
    console.print(t)
    d = Table(title="effective ratio (share of the total paid by funds)")
    d.add_column("")
    for k in range(1, 10):
        d.add_column(f"p{k * 10}", justify="right")
    d.add_column("mean", justify="right")
    for name in ("a", "b"):
        dist = result[f"ratio_{name}"]
        d.add_row(name, *dist["deciles"], dist["mean"])
    console.print(d)
    m = Table(title="stays whose self-pay changed most (元)")
    for col in ("#", "region", "total", "self-pay a", "self-pay b", "change"):
        m.add_column(col, justify="right")
    for c in result["most_changed"]:
        m.add_row(str(c["index"] + 1), c["region_code"], c["total"], c["self_pay_a"], c["self_pay_b"], c["change"])
    if not result["most_changed"]:
        m.add_row("", "", "", "", "", "no stay changed")
    console.print(m)


def _fen(s: str) -> int:
    neg = s.startswith("-")
    whole, _, frac = s.lstrip("-").partition(".")
    v = int(whole) * 100 + int((frac + "00")[:2])
    return -v if neg else v


def _yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    q, r = divmod(abs(fen), 100)
    return f"{sign}{q}.{r:02d}"


def _problem(response: Any) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    lines = [str(body.get("detail") or body.get("title") or f"HTTP {response.status_code}")]
    for e in body.get("errors") or []:
        where = " ".join(str(e[k]) for k in ("file", "path", "field") if e.get(k))
        lines.append(f"  {where}: {e.get('reason', '')}")
    return "\n".join(lines)


def register(app: typer.Typer) -> None:
    @app.command()
    def simulate(
        requests_file: Annotated[Path, typer.Argument(metavar="REQUESTS.jsonl", exists=True, dir_okay=False,
                                                      help="one quote request (DESIGN §9.1) per line")],
        region: Annotated[str, typer.Option("--region", help="the policy's region code, e.g. 150222")],
        a_version: Annotated[int, typer.Option("--a-version", help="baseline version")],
        b_version: Annotated[int | None, typer.Option("--b-version", help="a published version to compare")] = None,
        b_file: Annotated[Path | None, typer.Option("--b-file", exists=True, dir_okay=False,
                                                    help="a candidate policy file (not yet published)")] = None,
        out: Annotated[Path | None, typer.Option("--out", help="also write the full result as JSON")] = None,
        top: Annotated[int, typer.Option(help="how many most-changed stays to list")] = 20,
    ) -> None:
        """Replay last year's stays under two policy versions: per-payer totals, ratio deciles, who changes most."""
        from onestop.cli import client as cli_client

        console = Console(stderr=True)
        if (b_version is None) == (b_file is None):
            console.print("[bold red]error:[/] give exactly one of --b-version and --b-file")
            raise typer.Exit(2)
        columns = (TextColumn("{task.description:>10}"), BarColumn(), DownloadColumn(), TimeRemainingColumn())
        with Progress(*columns, console=console, transient=True) as progress:
            try:
                requests = read_requests(requests_file, progress)
            except ValueError as exc:
                console.print(f"[bold red]error:[/] {exc}")
                raise typer.Exit(1) from None
            if not requests:
                console.print(f"[bold red]error:[/] {requests_file.name} holds no quote requests")
                raise typer.Exit(1)
            if len(requests) > MAX_STAYS:
                console.print(f"[bold red]error:[/] {len(requests)} stays; a simulation takes at most {MAX_STAYS}")
                raise typer.Exit(1)
            data = json.dumps(build_body(region, a_version, b_version, b_file, requests, top),
                              ensure_ascii=False).encode()
            with cli_client.client("rules", timeout=600.0) as http:
                response = http.post("/v1/simulations", content=_chunks(data, progress),
                                     headers={"Content-Type": "application/json"})
        if response.status_code != 200:
            console.print(f"[bold red]error:[/] {_problem(response)}")
            raise typer.Exit(1)
        result = response.json()
        if out is not None:
            out.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
            console.print(f"result written to {out}")
        render(result, Console())
