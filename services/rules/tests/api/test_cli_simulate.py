"""`onestop simulate` end to end: the real command against the rules app (TestClient as its HTTP client)."""

from __future__ import annotations

import json
from contextlib import nullcontext
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from rules_api_helpers import pinned_body
from test_simulations import candidate
from typer.testing import CliRunner

from onestop.common.testing import mint


@pytest.fixture
def rules_http(settings_for, monkeypatch):  # type: ignore[no-untyped-def]
    from onestop.cli import client as cli_client
    from onestop.rules.app import create_app

    app = create_app(settings_for("rules"))
    with TestClient(app) as http:
        token = mint("operator", subject="operator:cli-test")
        http.headers["Authorization"] = f"Bearer {token}"
        # the command closes its client when done: hand it one whose `with` leaves the app running
        monkeypatch.setattr(cli_client, "client", lambda service, token=None, timeout=60.0: nullcontext(http))
        yield http


def test_simulate_from_jsonl(rules_http, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from onestop.cli.main import app

    stays = [pinned_body(person={"categories": [], "insurance": "resident"}) for _ in range(4)]
    requests = tmp_path / "stays.jsonl"
    requests.write_text("\n".join(json.dumps(s, ensure_ascii=False) for s in stays) + "\n\n", encoding="utf-8")
    cand = tmp_path / "policy.v2.yaml"
    cand.write_text(candidate(), encoding="utf-8")
    out = tmp_path / "result.json"
    r = CliRunner().invoke(app, ["simulate", str(requests), "--region", "150222", "--a-version", "1",
                                 "--b-file", str(cand), "--out", str(out), "--top", "3"])
    assert r.exit_code == 0, r.output
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["stays"] == 4 and len(result["most_changed"]) == 3
    assert "basic" in r.stdout and "p50" in r.stdout and "2025.00" in r.stdout

    # a published version compared with itself changes nothing; a bad request names the problem
    r = CliRunner().invoke(app, ["simulate", str(requests), "--region", "150222", "--a-version", "1",
                                 "--b-version", "1"])
    assert r.exit_code == 0, r.output
    assert "no stay changed" in r.stdout
    r = CliRunner().invoke(app, ["simulate", str(requests), "--region", "150222", "--a-version", "1",
                                 "--b-version", "9"])
    assert r.exit_code == 1 and "no version 9" in r.output


def test_simulate_refuses_a_bad_file(rules_http, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from onestop.cli.main import app

    requests = tmp_path / "stays.jsonl"
    requests.write_text('{"region_code": "150222"}\nnot json\n', encoding="utf-8")
    r = CliRunner().invoke(app, ["simulate", str(requests), "--region", "150222", "--a-version", "1",
                                 "--b-version", "1"])
    assert r.exit_code == 1 and "line 2" in r.output
