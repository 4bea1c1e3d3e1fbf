"""Run every benchmark, write bench/results/<time>.json and latest.json, print a table."""

from __future__ import annotations

import importlib
import json
import os
import platform
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench.core import Context

# anchors first: every later figure is a ratio to one of them, measured in the same run
SUITES = ["bench.anchors", "bench.platform", "bench.rules", "bench.identity", "bench.ledger", "bench.receivables"]


def main() -> int:
    only = set(sys.argv[1:])
    ctx = Context()
    try:
        for name in SUITES:
            if only and name.split(".")[-1] not in only and name != "bench.anchors":
                continue
            try:
                module = importlib.import_module(name)
            except ModuleNotFoundError:
                continue
            Console(stderr=True).print(f"[bold]{name}[/] …")
            module.run(ctx)
    finally:
        ctx.close()
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    doc = {
        "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "rows": [r.as_dict() for r in ctx.rows],
    }
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for path in (out / f"bench-{stamp}.json", out / "latest.json"):
        path.write_text(json.dumps(doc, indent=2, ensure_ascii=False))
    table = Table(title=f"onestop bench ({out / 'latest.json'})")
    for col in ("group", "name", "value", "unit", "ratio to anchor", "target", "note"):
        table.add_column(col)
    for r in ctx.rows:
        ratio = f"{r.ratio:.4g} × {r.anchor}" if r.ratio is not None else ""
        table.add_row(r.group, r.name, f"{r.value:,.1f}" if r.value >= 10 else f"{r.value:.4g}", r.unit, ratio,
                      r.target or "", r.note)
    Console(width=200).print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
