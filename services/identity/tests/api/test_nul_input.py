"""A NUL character, which PostgreSQL text cannot hold, is the caller's 422 naming the field, not a 500.

Found by the fuzz test (tests/test_api_fuzz.py): `GET /v1/access-audit?subject=a%00b` reached PostgreSQL,
whose refusal (SQLSTATE 22021) became a 500. A body's text field that is stored meets the same refusal.
"""

from __future__ import annotations

from identity_api_helpers import auth, csv_bytes, fresh_ids, idem, row, upload


async def test_a_nul_in_a_query_parameter_is_a_422_naming_it(identity) -> None:  # type: ignore[no-untyped-def]
    app, client = identity
    r = await client.get("/v1/access-audit", params={"subject": "a\x00b"}, headers=auth(app))
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json"), r.text
    assert r.json()["errors"] == [{"field": "subject", "reason": "contains a NUL character"}]


async def test_a_nul_in_a_body_field_stored_as_text_is_a_422(identity) -> None:  # type: ignore[no-untyped-def]
    app, client = identity
    (number,) = fresh_ids("320681", 1)
    r = await upload(client, app, csv_bytes([row(number, "参保人员", "320681", insurance="职工")]), source="insurance")
    assert r.status_code == 201, r.text
    r = await client.post("/v1/credit-cases", headers=idem(app),
                          json={"id_number": number, "region_code": "320681", "reason": "未还款\x00"})
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json"), r.text
    assert r.json()["errors"] == [{"field": "body", "reason": "contains a NUL character"}]
