"""`onestop import FILE --source …`: send a register (CSV or XLSX) to identity, with a progress bar."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import IO, Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from onestop.cli.client import client

SOURCES = ("poverty_office", "civil_affairs", "disabled_federation", "insurance")


class _Reading:
    """A file object that moves a progress bar as httpx streams it (the file is never held whole)."""

    def __init__(self, raw: IO[bytes], advance: Any) -> None:
        self.raw, self.advance = raw, advance

    def read(self, size: int = -1) -> bytes:
        chunk = self.raw.read(size if size and size > 0 else 1 << 20)
        self.advance(len(chunk))
        return chunk

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)


def register(app: typer.Typer) -> None:
    @app.command("import")
    def import_register(
        file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV (UTF-8 or GB18030) or XLSX")],
        source: Annotated[str, typer.Option(help=" | ".join(SOURCES))],
        region_code: Annotated[str | None, typer.Option(help="rows outside this region are rejected")] = None,
        report: Annotated[Path | None, typer.Option(help="write the row-level report CSV here")] = None,
        idempotency_key: Annotated[str | None, typer.Option(help="retry an interrupted upload with its key")] = None,
    ) -> None:
        """Import a register into identity; prints accepted/rejected counts and the first rejected rows."""
        console = Console(stderr=True)
        if source not in SOURCES:
            console.print(f"[bold red]error:[/] --source must be one of {', '.join(SOURCES)}")
            raise typer.Exit(2)
        key = idempotency_key or str(uuid.uuid4())
        media = ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
                 if file.suffix.lower() == ".xlsx" else "text/csv")
        data = {"source": source, **({"region_code": region_code} if region_code else {})}
        with client("identity", timeout=3600) as http, file.open("rb") as raw, Progress(
            TextColumn("[bold]uploading"), BarColumn(), DownloadColumn(), TimeRemainingColumn(), console=console,
        ) as progress:
            task = progress.add_task("upload", total=file.stat().st_size)
            reading = _Reading(raw, lambda n: progress.update(task, advance=n))
            try:
                response = http.post("/v1/imports", data=data, files={"file": (file.name, reading, media)},
                                     headers={"Idempotency-Key": key})
            except httpx.HTTPError as exc:
                console.print(f"[bold red]error:[/] identity is not reachable ({type(exc).__name__}); "
                              f"is it running (`make run`)? retry with --idempotency-key {key}")
                raise typer.Exit(1) from None
        body = response.json()
        if response.status_code >= 400:
            console.print(f"[bold red]error {response.status_code}:[/] {body.get('detail', body)}")
            for err in body.get("errors", [])[:10]:
                console.print(f"  {err.get('field')}: {err.get('reason')}")
            raise typer.Exit(1)
        table = Table(title=f"import {body['import_id']}")
        for col in ("accepted", "rejected", "changed persons"):
            table.add_column(col)
        table.add_row(str(body["accepted"]), str(body.get("rejected_count", len(body["rejected"]))),
                      str(body.get("changed_persons", "")))
        Console().print(table)
        for err in body["rejected"][:20]:
            Console().print(f"  row {err['row']}: {err['field']}: {err['reason']}")
        if report is not None:
            got = http_get_report(body["import_id"])
            report.write_bytes(got)
            console.print(f"report written to {report}")


def http_get_report(import_id: str) -> bytes:
    with client("identity") as http:
        r = http.get(f"/v1/imports/{import_id}/report.csv")
        r.raise_for_status()
        return r.content
