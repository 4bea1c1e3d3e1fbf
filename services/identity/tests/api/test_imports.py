"""POST /v1/imports through HTTP: encodings, XLSX, bad rows, idempotent re-import and its events."""

from __future__ import annotations

import asyncio
import io
import json
from typing import Any

import nats
import openpyxl
from identity_api_helpers import EN, ZH, auth, csv_bytes, fresh_ids, idem, make_id, row, unique_seq, upload
from sqlalchemy import func, select

GUYANG = "150222"


class Events:
    """A plain NATS subscription on identity's subjects, counting what the relay publishes."""

    def __init__(self) -> None:
        self.got: list[dict[str, Any]] = []

    async def __aenter__(self) -> Events:
        return self

    async def start(self, url: str) -> None:
        self.nc = await nats.connect(url)

        async def cb(msg: Any) -> None:
            self.got.append(json.loads(msg.data))

        await self.nc.subscribe("onestop.identity.>", cb=cb)

    async def __aexit__(self, *exc: object) -> None:
        await self.nc.close()

    async def completion(self, import_id: str) -> None:
        for _ in range(150):
            if any(e["type"] == "identity.import.completed.v1" and e["data"]["import_id"] == import_id
                   for e in self.got):
                await asyncio.sleep(0.3)
                return
            await asyncio.sleep(0.1)
        raise AssertionError("import.completed never arrived")

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.got if e["type"] == kind]

    async def at_least(self, kind: str, n: int) -> list[dict[str, Any]]:
        """The events of `kind` once n have arrived: events of other aggregates (the import's own
        completion) are ordered only within their aggregate, so a person's may come after it."""
        for _ in range(100):
            if len(self.of(kind)) >= n:
                await asyncio.sleep(0.3)  # and no more than n follow
                break
            await asyncio.sleep(0.1)
        return self.of(kind)


async def drained(app: Any) -> None:
    """Wait until the relay has published what earlier tests of the session left in the outbox."""
    t = app.state.runtime.metadata.tables["outbox"]
    for _ in range(300):
        async with app.state.runtime.db.transaction() as s:
            left = (await s.execute(select(func.count()).select_from(t)
                                    .where(t.c.published_at.is_(None), t.c.parked_at.is_(None)))).scalar_one()
        if not left:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{left} outbox rows still unpublished")


async def count(app: Any, table: str) -> int:
    t = app.state.runtime.metadata.tables[table]
    async with app.state.runtime.db.transaction() as s:
        return int((await s.execute(select(func.count()).select_from(t))).scalar_one())


def assert_no_pii(text: str, ids: list[str], names: list[str]) -> None:
    for i in ids:
        assert i not in text
    for n in names:
        assert n not in text


async def test_import_csv_with_bad_rows_then_reimport_publishes_only_completion(identity, nats_url) -> None:  # type: ignore[no-untyped-def]
    app, client = identity
    seq = unique_seq()
    ids = [make_id(GUYANG, seq + i) for i in range(3)]
    rows = [
        row(ids[0], "建档立卡贫困人口", GUYANG, household="农村", name="李建国"),
        row(ids[1], "低保对象", GUYANG, name="张桂兰", guardian="刘志强"),
        row(ids[2], "参保人员", GUYANG, insurance="城乡居民", name="张桂兰"),
        row(ids[0][:-1] + ("0" if ids[0][-1] != "0" else "1"), "建档立卡贫困人口", GUYANG),  # bad checksum
        row(ids[1], "某类别", GUYANG),  # unknown category
        row(ids[2], "低保对象", "999999"),  # impossible region
    ]
    content = csv_bytes(rows)
    await drained(app)
    async with Events() as ev:
        await ev.start(nats_url)
        r = await upload(client, app, content)
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["accepted"] == 3
        assert body["rejected_rows"] == 3
        assert {(e["row"], e["field"]) for e in body["rejected"]} == {(5, "id_number"), (6, "category"),
                                                                    (7, "region_code")}
        assert body["changed_persons"] == 3
        assert body["region_code"] == GUYANG
        assert_no_pii(r.text, ids, ["李建国", "张桂兰", "刘志强"])
        await ev.completion(body["import_id"])
        assert len(await ev.at_least("identity.person.status.changed.v1", 3)) == 3
        assert len(ev.of("identity.import.completed.v1")) == 1

    # The run and its downloadable report
    got = await client.get(f"/v1/imports/{body['import_id']}", headers=auth(app))
    assert got.status_code == 200 and got.json()["accepted"] == 3
    report = await client.get(f"/v1/imports/{body['import_id']}/report.csv", headers=auth(app))
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/csv")
    lines = report.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "row,field,reason" and len(lines) == 4
    assert_no_pii(report.text, ids, ["李建国", "张桂兰"])

    # Re-import of the same file: nothing changes, only the completion is published.
    async with Events() as ev:
        await ev.start(nats_url)
        before = await count(app, "person_status")
        r2 = await upload(client, app, content)
        assert r2.status_code == 201, r2.text
        assert r2.json()["changed_persons"] == 0 and r2.json()["accepted"] == 3
        await ev.completion(r2.json()["import_id"])
        assert ev.of("identity.person.status.changed.v1") == []
        assert len(ev.of("identity.import.completed.v1")) == 1
        assert await count(app, "person_status") == before

    # An exit (valid_to set) supersedes the status, keeps the history and is announced as ended.
    async with Events() as ev:
        await ev.start(nats_url)
        exit_row = row(ids[0], "建档立卡贫困人口", GUYANG, valid_to="2025-12-31", household="农村", name="李建国")
        r3 = await upload(client, app, csv_bytes([exit_row]))
        assert r3.json()["changed_persons"] == 1
        await ev.completion(r3.json()["import_id"])
        changed = await ev.at_least("identity.person.status.changed.v1", 1)
        assert [c["data"]["changes"][0]["change"] for c in changed] == ["ended"]
        person_id = changed[0]["data"]["person_id"]
    view = await client.get(f"/v1/persons/{person_id}", headers=auth(app))
    assert view.status_code == 200
    statuses = view.json()["statuses"]
    assert len(statuses) == 2 and statuses[0]["superseded_at"] is not None and statuses[1]["valid_to"] == "2025-12-31"
    assert_no_pii(view.text, ids, ["李建国"])


async def test_bom_gb18030_and_xlsx_with_chinese_headers(identity) -> None:  # type: ignore[no-untyped-def]
    app, client = identity
    seq = unique_seq()
    for i, (encoding, header) in enumerate((("utf-8-sig", ZH), ("gb18030", ZH), ("utf-8", EN))):
        content = csv_bytes([row(make_id("653201", seq + i), "城镇特困人员", "653201", subgroup="三无")],
                            header=header, encoding=encoding)
        r = await upload(client, app, content, source="civil_affairs")
        assert r.status_code == 201, r.text
        assert r.json()["accepted"] == 1 and r.json()["rejected"] == [], r.json()
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(ZH)
    ws.append(row(make_id("653201", seq + 5), "参保人员", "653201", insurance="职工", civil_servant="否"))
    ws.append(row("12345", "参保人员", "653201", insurance="职工"))
    buf = io.BytesIO()
    wb.save(buf)
    r = await upload(client, app, buf.getvalue(), filename="参保.xlsx", source="insurance")
    assert r.status_code == 201, r.text
    assert r.json()["accepted"] == 1 and r.json()["rejected"][0]["field"] == "id_number"
    assert r.json()["file_kind"] == "xlsx"


async def test_missing_column_and_unknown_encoding_import_nothing(identity) -> None:  # type: ignore[no-untyped-def]
    app, client = identity
    persons, runs = await count(app, "person"), await count(app, "import_run")
    no_region = csv_bytes([[make_id(GUYANG, 1), "王秀英", "低保对象", "2024-01-01"]],
                          header=["身份证号码", "姓名", "人员类别", "起始日期"])
    r = await upload(client, app, no_region)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "region_code"
    assert "region_code" in r.json()["detail"]
    garbage = b"\xff\xfe\xfa" * 100 + "身份证号码".encode()
    r = await upload(client, app, b"\x81\x30" + garbage)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "file"
    assert await count(app, "person") == persons and await count(app, "import_run") == runs


async def test_import_needs_token_key_and_role(identity) -> None:  # type: ignore[no-untyped-def]
    app, client = identity
    content = csv_bytes([row(make_id(GUYANG, 7), "低保对象", GUYANG)])
    r = await client.post("/v1/imports", files={"file": ("a.csv", content)}, data={"source": "poverty_office"})
    assert r.status_code == 401
    r = await upload(client, app, content, headers=auth(app))
    assert r.status_code == 428
    r = await upload(client, app, content, headers=idem(app, "hospital", hospital_code="H150222001"))
    assert r.status_code == 403
    r = await upload(client, app, content, headers=idem(app, "bureau", region_code="410000"), region_code=GUYANG)
    assert r.status_code == 403
    r = await upload(client, app, content, source="police")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "source"
    # A bureau imports for its own region; rows outside it are rejected, not imported.
    other = csv_bytes([row(make_id(GUYANG, 8), "低保对象", GUYANG), row(make_id("411203", 8), "低保对象", "411203")])
    r = await upload(client, app, other, headers=idem(app, "bureau", region_code="150200"))
    assert r.status_code == 201, r.text
    assert r.json()["accepted"] == 1 and r.json()["rejected"][0]["field"] == "region_code"
    assert r.json()["region_code"] == "150200"


async def test_a_person_in_two_consecutive_batches_is_read_after_the_first_commits(identity, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # Batches of 100 rows (conftest): batch 2 repeats batch 1's persons, so it must read them only once batch 1
    # has committed (stored persons are otherwise read while the batch ahead is still being written); batch 3
    # is all new persons and goes the pipelined way. A stale read would insert the persons twice.
    from onestop.identity.store import registers

    write_batch = registers.write_batch

    async def slow_write_batch(*args: Any) -> None:  # the batch ahead is still being written when the next one plans
        await asyncio.sleep(0.3)
        await write_batch(*args)

    monkeypatch.setattr(registers, "write_batch", slow_write_batch)
    app, client = identity
    fresh = fresh_ids(GUYANG, 150)
    first, later = fresh[:100], fresh[100:]
    rows = ([row(i, "建档立卡贫困人口", GUYANG, household="农村") for i in first]
            + [row(i, "参保人员", GUYANG, insurance="城乡居民") for i in first]
            + [row(i, "低保对象", GUYANG) for i in later])
    before = {t: await count(app, t) for t in ("person", "person_status", "insurance_enrolment")}
    r = await upload(client, app, csv_bytes(rows))
    assert r.status_code == 201, r.text
    assert r.json()["accepted"] == 250 and r.json()["rejected_count"] == 0
    after = {t: await count(app, t) for t in before}
    assert after["person"] - before["person"] == 150
    assert after["person_status"] - before["person_status"] == 150
    assert after["insurance_enrolment"] - before["insurance_enrolment"] == 100


async def test_two_imports_at_once_both_land_one_after_the_other(identity) -> None:  # type: ignore[no-untyped-def]
    app, client = identity
    ids = fresh_ids(GUYANG, 150)
    poor = csv_bytes([row(i, "建档立卡贫困人口", GUYANG) for i in ids])
    insured = csv_bytes([row(i, "参保人员", GUYANG, insurance="城乡居民") for i in ids])
    before = await count(app, "person")
    a, b = await asyncio.gather(upload(client, app, poor), upload(client, app, insured))
    assert (a.status_code, b.status_code) == (201, 201), (a.text, b.text)
    assert await count(app, "person") - before == 150
