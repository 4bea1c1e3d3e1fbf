"""Logs never carry an ID number or a name; regions nest (tokens: test_tokens.py)."""

import json
import logging

import pytest
import structlog

from onestop.common.auth import region_within
from onestop.common.logging import configure_logging

ID = "150222199001011234"
NAME, OTHER = "张三", "李四"


def test_redaction(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", "test")
    structlog.get_logger("t").info("looked up", id_number=ID, name="张三", note=f"person {ID} came", n=3)
    logging.getLogger("uvicorn").warning("GET /x?id=%s", ID)
    out = capsys.readouterr().out
    assert ID not in out and "张三" not in out
    lines = [json.loads(line) for line in out.strip().splitlines()]
    assert lines[0]["id_number"] == "[redacted]" and lines[0]["n"] == 3
    assert "[redacted]" in lines[1]["event"]


def test_uvicorn_tracebacks_and_access_lines_are_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    # uvicorn's default config: its loggers have their own plain-text handlers and do not propagate
    uvicorn_error = logging.getLogger("uvicorn.error")
    uvicorn_error.addHandler(logging.StreamHandler())
    uvicorn_error.propagate = False
    configure_logging("INFO", "test")
    try:
        try:
            int(NAME)  # the messages quote it; the source lines a traceback shows are code, not data
        except ValueError as exc:
            raise KeyError(f"no person {ID} {OTHER}") from exc
    except KeyError:
        uvicorn_error.exception("Exception in ASGI application")
    logging.getLogger("uvicorn.access").info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET",
                                             f"/v1/persons/{NAME}/{ID}?name=%E5%BC%A0%E4%B8%89&x=1", "1.1", 404)
    captured = capsys.readouterr()
    out = captured.out + captured.err
    assert ID not in out and NAME not in out and OTHER not in out and "%E5%BC%A0" not in out
    error, access = [json.loads(line) for line in captured.out.strip().splitlines()]
    assert "builtins.ValueError: [message not logged]" in error["exception"]
    assert error["exception"].index("ValueError") < error["exception"].index("direct cause") \
        < error["exception"].index("KeyError")
    assert access["path"] == "/v1/persons/[redacted]/[redacted]?name=[redacted]&x=[redacted]"
    assert access["status"] == 404 and access["event"] == "http_request"


def test_region_within() -> None:
    assert region_within("411203", "411200") and region_within("411203", "411203")
    assert not region_within("411202", "411203")


def test_a_problem_does_not_echo_an_id_number_or_a_name_from_the_url() -> None:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from onestop.common.errors import NotFound, install_problem_handlers

    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/v1/things/{key}")
    async def thing(key: str) -> None:
        raise NotFound("no such thing")

    with TestClient(app) as client:
        for path in (f"/v1/things/{ID}", f"/v1/things/{NAME}", f"/v1/nowhere/{ID}"):
            r = client.get(path, params={"q": ID})
            assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")
            assert ID not in r.text and NAME not in r.text and "%E5" not in r.text
            assert r.json()["instance"].startswith("/v1/")
