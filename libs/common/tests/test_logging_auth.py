"""Logs never carry an ID number or a name; tokens verify across a key rotation."""

import json
import logging
import time

import pytest
import structlog

from onestop.common.auth import TokenIssuer, region_within
from onestop.common.errors import Unauthorized
from onestop.common.logging import configure_logging
from onestop.contracts.enums import Role

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


def test_key_rotation() -> None:
    old = TokenIssuer({"k1": "a" * 40}, "k1")
    token = old.mint("hospital", hospital_code="H1")
    rotated = TokenIssuer({"k1": "a" * 40, "k2": "b" * 40}, "k2")
    assert rotated.verify(token).hospital_code == "H1"
    assert rotated.verify(rotated.mint("operator")).role is Role.operator
    retired = TokenIssuer({"k2": "b" * 40}, "k2")
    with pytest.raises(Unauthorized):
        retired.verify(token)


def test_a_remembered_token_still_expires_and_a_tampered_one_is_checked_afresh() -> None:
    issuer = TokenIssuer({"k": "c" * 40}, "k")
    token = issuer.mint("hospital", hospital_code="H1", ttl_s=1)
    assert issuer.verify(token).hospital_code == "H1"
    assert issuer.verify(token).hospital_code == "H1"  # the second time from memory
    with pytest.raises(Unauthorized):
        issuer.verify(token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
    time.sleep(1.1)
    with pytest.raises(Unauthorized, match="expired"):
        issuer.verify(token)


def test_scope_requirements() -> None:
    issuer = TokenIssuer({"k": "c" * 40}, "k")
    with pytest.raises(ValueError):
        issuer.mint("payer", region_code="410000")
    p = issuer.verify(issuer.mint("bureau", region_code="410000"))
    assert p.can_see_region("411203") and not p.can_see_region("150222")


def test_region_within() -> None:
    assert region_within("411203", "411200") and region_within("411203", "411203")
    assert not region_within("411202", "411203")
