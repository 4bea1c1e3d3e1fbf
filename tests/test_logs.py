"""`onestop serve identity` never writes an ID number or a name, whatever a caller puts where.

The service runs as operators run it (a subprocess, uvicorn, the access log on); bad requests carry an ID
number and a name in every field they have — JSON body, form and file, query, path, headers, the
request line itself — and the process's whole stdout and stderr, read after it stopped, hold neither,
and are JSON lines only (uvicorn's own records, tracebacks included, went through the redacting pipeline).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import httpx

from onestop.cli.embedded import free_port
from onestop.common.testing import key_env, mint

ONESTOP = str(Path(sys.executable).parent / "onestop")
ID = "150222199001011236"  # a valid 18-character ID number (check digit 6)
ID_WIDE = "".join(chr(ord(c) + 0xFEE0) for c in ID)  # the same digits, full width (１５０２…)
NAME = "张三丰"
SECRETS = (ID, ID_WIDE, NAME, quote(NAME), ID[:6] + " " + ID[6:])


def _bad_requests(client: httpx.Client, token: str) -> int:
    """Send them all; returns how many went over HTTP."""
    auth = {"Authorization": f"Bearer {token}"}
    sent = 0

    def send(method: str, url: str, **kw: object) -> None:
        nonlocal sent
        client.request(method, url, **kw)  # type: ignore[arg-type]
        sent += 1

    for body in ({"id_number": ID, "name": NAME, "region_code": NAME, "hospital_code": NAME, "date": NAME},
                 {"id_number": ID_WIDE, "region_code": "150222", "hospital_code": "H150222001"},
                 {"id_number": f"{ID} {NAME}", "region_code": "150222", "hospital_code": NAME},
                 {"id_number": ID, "region_code": "150222", "hospital_code": "H150222001", NAME: ID}):
        send("POST", "/v1/eligibility", json=body, headers=auth)
    send("POST", "/v1/eligibility", content=f'{{"id_number": "{ID}", "name": "{NAME}"'.encode(),
         headers={**auth, "Content-Type": "application/json"})
    send("GET", f"/v1/persons/{ID}", params={"name": NAME, "id_number": ID}, headers=auth)
    send("GET", f"/v1/persons/{quote(NAME)}", headers=auth)
    send("GET", "/v1/access-audit", params={"subject": NAME, "since": ID, "person_id": NAME}, headers=auth)
    send("GET", f"/v1/imports/{ID}/report.csv", headers=auth)
    send("POST", "/v1/credit-cases", json={"id_number": ID, "region_code": "150222", "reason": NAME},
         headers={**auth, "Idempotency-Key": ID})
    send("POST", f"/v1/credit-cases/{ID}/decision", json={"decision": NAME, "reason": NAME}, headers=auth)
    register = f"身份证号码,姓名,人员类别,行政区划代码,起始日期\n{ID},{NAME},低保对象,150222,2024-01-01\n" \
               f"{ID_WIDE},{NAME},{NAME},{ID},{NAME}\n"
    send("POST", "/v1/imports", files={"file": (f"{NAME}.csv", register.encode(), "text/csv")},
         data={"source": NAME, "region_code": ID}, headers={**auth, "Idempotency-Key": NAME.encode().hex()})
    send("POST", "/v1/imports", files={"file": (f"{ID}.csv", register.encode(), "text/csv")},
         data={"source": "civil_affairs"}, headers={**auth, "Idempotency-Key": ID})
    # headers: a token that is an ID number, a name in raw UTF-8 bytes
    send("GET", "/v1/persons/x", headers={"Authorization": f"Bearer {ID}", "X-Person": NAME.encode()})
    send("POST", "/v1/eligibility", json={"id_number": ID}, headers={"Authorization": NAME.encode()})
    return sent


def _raw(port: int, request: bytes) -> None:
    """A request httpx would not send: a request line uvicorn's parser refuses."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(request)
        try:
            s.recv(4096)
        except OSError:
            pass


def test_no_id_number_or_name_in_the_whole_output(pg_server: str, nats_url: str, make_database,  # type: ignore[no-untyped-def]
                                                  tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": pg_server, "NATS_URL": nats_url, "ONESTOP_LOG_LEVEL": "INFO",
           "ONESTOP_DATABASE_NAME": make_database("identity"),
           # no rules: its 503 path is taken too
           "ONESTOP_RULES_URL": f"http://127.0.0.1:{free_port()}", **key_env("identity")}
    out, err = (tmp_path / "stdout").open("wb"), (tmp_path / "stderr").open("wb")
    proc = subprocess.Popen([ONESTOP, "serve", "identity", "--port", str(port), "--access-log"], env=env,
                            stdout=out, stderr=err)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        token = mint("operator", subject="operator:logs")
        # a connection per request: after a 500 uvicorn closes the connection the next one would reuse
        with httpx.Client(base_url=url, timeout=30, limits=httpx.Limits(max_keepalive_connections=0)) as client:
            sent = _bad_requests(client, token)
            hospital = mint("hospital", hospital_code="H150222001")
            sent += _bad_requests(client, hospital)
        _raw(port, f"GET /v1/persons/{ID}?name={NAME} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        _raw(port, f"{NAME} /{ID} HTTP/1.1\r\nX-Name: {NAME}\r\n\r\n".encode())
        _raw(port, f"POST /v1/eligibility HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n{ID}: {NAME}\r\n\r\n".encode())
    finally:
        proc.terminate()
        proc.wait(20)
        out.close()
        err.close()
    output = (tmp_path / "stdout").read_text("utf-8", errors="replace") + \
        (tmp_path / "stderr").read_text("utf-8", errors="replace")
    for secret in SECRETS:
        assert secret not in output, f"{secret!r} in the output:\n{output[-3000:]}"
    lines = [line for line in output.splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # not one plain-text line: all went through the pipeline
    assert sum(1 for r in records if r.get("event") == "http_request") >= sent, "the access log was not on"
    assert any(r.get("event") == "service_started" for r in records)
