"""Logs never carry an ID number or a name; regions nest (tokens: test_tokens.py)."""

import json
import logging

import pytest
import structlog

from onestop.common.auth import region_within
from onestop.common.logging import configure_logging

ID = "150222199001011234"


def test_redaction(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", "test")
    structlog.get_logger("t").info("looked up", id_number=ID, name="张三", note=f"person {ID} came", n=3)
    logging.getLogger("uvicorn").warning("GET /x?id=%s", ID)
    out = capsys.readouterr().out
    assert ID not in out and "张三" not in out
    lines = [json.loads(line) for line in out.strip().splitlines()]
    assert lines[0]["id_number"] == "[redacted]" and lines[0]["n"] == 3
    assert "[redacted]" in lines[1]["event"]


def test_region_within() -> None:
    assert region_within("411203", "411200") and region_within("411203", "411203")
    assert not region_within("411202", "411203")
