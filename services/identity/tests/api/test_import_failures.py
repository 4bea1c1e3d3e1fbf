"""Imports that meet bad ID numbers, an oversized upload, or a database failure midway (issue 10 point 6)."""

from __future__ import annotations

from identity_api_helpers import auth, csv_bytes, drained, fresh_ids, idem, row, upload
from sqlalchemy import text

GUYANG = "150222"


def full_width(number: str) -> str:
    """The number typed with a Chinese IME in full-width mode: '１５０２…'."""
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in number)


async def test_full_width_and_foreign_digits_are_row_level_and_the_import_completes(identity) -> None:  # type: ignore[no-untyped-def]
    # A full-width number is the same number; Arabic-Indic digits are refused as a row error. On the old code
    # the latter raised ValueError in the check digit, aborted the import with a 500 and left it `running`.
    app, client = identity
    ids = fresh_ids(GUYANG, 3)
    rows = [row(full_width(ids[0]), "建档立卡贫困人口", GUYANG),
            row("\u0660" * 18, "建档立卡贫困人口", GUYANG),
            row(ids[1][:6] + " " + ids[1][6:], "低保对象", GUYANG),
            row(ids[2], "低保对象", GUYANG)]
    r = await upload(client, app, csv_bytes(rows))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["state"] == "completed" and body["accepted"] == 3
    assert [(e["row"], e["field"]) for e in body["rejected"]] == [(3, "id_number")]
    got = await client.get(f"/v1/imports/{body['import_id']}", headers=auth(app))
    assert got.json()["state"] == "completed" and got.json()["failure_reason"] is None
    await drained(app)


async def test_an_import_that_fails_midway_is_marked_failed_with_its_reason(identity) -> None:  # type: ignore[no-untyped-def]
    # Batches of 100 rows (conftest): the first batch (statuses) commits, the second (enrolments) meets a
    # real PostgreSQL error — its table is away. The run must say failed and why, not stay `running`.
    app, client = identity
    ids = fresh_ids(GUYANG, 200)
    rows = [row(i, "建档立卡贫困人口", GUYANG) for i in ids[:100]]
    rows += [row(i, "参保人员", GUYANG, insurance="城乡居民") for i in ids[100:]]
    db = app.state.runtime.db
    async with db.transaction() as s:
        await s.execute(text("ALTER TABLE insurance_enrolment RENAME TO insurance_enrolment_away"))
    try:
        r = await upload(client, app, csv_bytes(rows))
    finally:
        async with db.transaction() as s:
            await s.execute(text("ALTER TABLE insurance_enrolment_away RENAME TO insurance_enrolment"))
    assert r.status_code == 503, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    import_id = r.json()["import_id"]
    for i in ids:
        assert i not in r.text
    got = await client.get(f"/v1/imports/{import_id}", headers=auth(app))
    assert got.status_code == 200, got.text
    run = got.json()
    assert run["state"] == "failed" and run["accepted"] == 100 and run["completed_at"] is not None
    assert run["failure_reason"] == "the import stopped after 100 rows were committed: UndefinedTableError"
    await drained(app)  # the committed batch's events go out; later tests count what is published



async def test_an_upload_above_the_size_limit_is_413(identity, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    app, client = identity
    monkeypatch.setattr(app.state.runtime.settings, "import_max_bytes", 2048)
    content = csv_bytes([row(i, "建档立卡贫困人口", GUYANG) for i in fresh_ids(GUYANG, 60)])
    assert len(content) > 2048
    r = await upload(client, app, content)
    assert r.status_code == 413, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["errors"] == [{"field": "file", "reason": "larger than 2048 bytes"}]
    small = await upload(client, app, csv_bytes([row(fresh_ids(GUYANG, 1)[0], "低保对象", GUYANG)]))
    assert small.status_code == 201, small.text
    await drained(app)


async def test_eligibility_with_full_width_digits_is_answered_and_foreign_digits_are_422(identity) -> None:  # type: ignore[no-untyped-def]
    app, client = identity
    (number,) = fresh_ids(GUYANG, 1)
    r = await upload(client, app, csv_bytes([row(number, "特困供养人员", GUYANG),
                                             row(number, "参保人员", GUYANG, insurance="城乡居民")]))
    assert r.status_code == 201, r.text
    body = {"region_code": GUYANG, "hospital_code": "H150222001", "date": "2026-03-10"}
    r = await client.post("/v1/eligibility", headers=auth(app), json={**body, "id_number": full_width(number)})
    assert r.status_code == 200 and r.json()["eligible"] is True, r.text
    for foreign in ("\u0660" * 18, "\u0966" * 17 + "X"):
        r = await client.post("/v1/eligibility", headers=auth(app), json={**body, "id_number": foreign})
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["field"] == "id_number" and foreign not in r.text
    await drained(app)


async def test_an_upload_far_above_the_limit_is_refused_before_its_body_is_read(identity, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    app, client = identity
    monkeypatch.setattr(app.state.runtime.settings, "import_max_bytes", 2048)
    read: list[int] = []

    async def body():  # type: ignore[no-untyped-def]
        for _ in range(100):  # 100 chunks of 1 KiB, counted as the server pulls them
            read.append(1)
            yield b"x" * 1024

    r = await client.post("/v1/imports", content=body(),
                          headers={**idem(app), "content-type": "multipart/form-data; boundary=b",
                                   "content-length": str(100 * 1024)})
    assert r.status_code == 413, r.text
    assert r.json()["errors"] == [{"field": "file", "reason": "larger than 2048 bytes"}]
    assert len(read) < 100  # answered from the Content-Length, not after reading it all
