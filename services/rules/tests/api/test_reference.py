"""Reference data in the policy: hospitals, catalogue, treat-first; operators add to them (a new version)."""

from __future__ import annotations

from rules_api_helpers import bearer, idem, latest_version, pinned_body

from onestop.common.testing import all_items


async def test_hospitals_include_inherited_ones(rules) -> None:  # type: ignore[no-untyped-def]
    app, client = rules
    r = await client.get("/v1/hospitals", params={"region_code": "411203"}, headers=bearer(app))
    assert r.status_code == 200, r.text
    own = {h["hospital_code"] for h in r.json()}
    assert "H411203001" in own
    # 河南 (the parent) gets a provincial hospital: 陕州 (the child) lists it too
    h = {"hospital_code": "H410000001", "name": "河南省人民医院", "level": "province", "public": True,
         "region_code": "410000"}
    r = await client.post("/v1/hospitals", json={"region_code": "410000", "hospitals": [h]},
                          headers={**bearer(app), **idem()})
    assert r.status_code == 201, r.text
    assert r.json()["parts"] == ["hospitals"]
    r = await client.get("/v1/hospitals", params={"region_code": "411203"}, headers=bearer(app))
    got = {x["hospital_code"]: x for x in r.json()}
    assert got["H410000001"] == h and "H411203001" in got


async def test_operator_adds_a_hospital(rules) -> None:  # type: ignore[no-untyped-def]
    app, client = rules
    before = await latest_version(client, app, "140224")
    h = {"hospital_code": "H140224999", "name": "灵丘县新建乡镇卫生院", "level": "township", "public": True,
         "region_code": "140224"}
    body = {"region_code": "140224", "hospitals": [h]}
    r = await client.post("/v1/hospitals", json=body, headers={**bearer(app, "bureau", region_code="140224"), **idem()})
    assert r.status_code == 403
    r = await client.post("/v1/hospitals", json=body, headers={**bearer(app), **idem()})
    assert r.status_code == 201, r.text
    assert r.json()["version"] == before + 1
    codes = {x["hospital_code"] for x in (await client.get("/v1/hospitals", params={"region_code": "140224"},
                                                            headers=bearer(app))).json()}
    assert "H140224999" in codes


async def test_catalogue_and_operator_adds_items(rules) -> None:  # type: ignore[no-untyped-def]
    app, client = rules
    items = {e["code"]: e for e in await all_items(client, "/v1/catalogue/150222", headers=bearer(app))}
    assert items["XB01ABA001"]["class"] == "B" and items["XB01ABA001"]["copay_first"] == "0.10"
    assert items["120100001"]["price_limit"] == "30.00"

    item = {"code": "NEW0000001", "name": "新增检查", "class": "C"}
    r = await client.post("/v1/catalogue/150222/items", json={"items": [item]}, headers={**bearer(app), **idem()})
    assert r.status_code == 201, r.text
    assert r.json()["parts"] == ["catalogue"]
    items = {e["code"]: e for e in await all_items(client, "/v1/catalogue/150222", headers=bearer(app))}
    assert items["NEW0000001"]["class"] == "C"
    # the catalogue wins over the HIS: the item sent as class A is out of scope now, and the quote says which version
    body = pinned_body("150222", lines=[{"line_id": "L1", "code": "NEW0000001", "name": "x", "class": "A",
                                         "amount": "100.00"}])
    q = (await client.post("/v1/quotes", json=body, headers=bearer(app))).json()
    assert q["class_c_amount"] == "100.00" and q["policy"]["version"] == r.json()["version"]


async def test_treat_first_rule(rules) -> None:  # type: ignore[no-untyped-def]
    app, client = rules
    r = await client.get("/v1/treat-first/320681", headers=bearer(app))
    assert r.status_code == 200, r.text
    rule = r.json()
    assert rule["region_code"] == "320681"
    assert rule["blacklist_blocks_direct_settlement"] is True
    r = await client.get("/v1/treat-first/999999", headers=bearer(app))
    assert r.status_code == 422


async def test_hospitals_stay_an_array_and_page_with_next_cursor_headers(rules) -> None:  # type: ignore[no-untyped-def]
    app, client = rules
    whole = await client.get("/v1/hospitals", params={"region_code": "150222"}, headers=bearer(app))
    assert isinstance(whole.json(), list) and len(whole.json()) > 2 and "Next-Cursor" not in whole.headers
    codes = [h["hospital_code"] for h in whole.json()]
    assert codes == sorted(codes)
    paged, params = [], {"region_code": "150222", "limit": 2}
    while True:
        r = await client.get("/v1/hospitals", params=params, headers=bearer(app))
        assert r.status_code == 200 and isinstance(r.json(), list) and len(r.json()) <= 2
        paged += r.json()
        if "Next-Cursor" not in r.headers:
            break
        assert r.headers["Link"].endswith('; rel="next"') and "cursor=" in r.headers["Link"]
        params = {**params, "cursor": r.headers["Next-Cursor"]}
    assert paged == whole.json()
    r = await client.get("/v1/hospitals", params={"region_code": "150222", "cursor": "bad"}, headers=bearer(app))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "cursor"


async def test_policies_page_with_a_cursor(rules) -> None:  # type: ignore[no-untyped-def]
    app, client = rules
    everything = (await client.get("/v1/policies", params={"limit": 500}, headers=bearer(app))).json()
    assert everything["next_cursor"] is None and len(everything["items"]) > 3
    paged = await all_items(client, "/v1/policies", headers=bearer(app), params={"limit": 2})
    assert paged == everything["items"]
    assert [(v["policy_id"], v["version"]) for v in paged] == sorted((v["policy_id"], v["version"]) for v in paged)
    r = await client.get("/v1/policies", params={"limit": 0}, headers=bearer(app))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "limit"


async def test_qidong_hospitals_show_their_own_start_dates(rules) -> None:  # type: ignore[no-untyped-def]
    # 004 一(三): 人民医院 from the second quarter of 2020, 中医院 from the third (first day, illustrative)
    app, client = rules
    r = await client.get("/v1/hospitals", params={"region_code": "320681"}, headers=bearer(app))
    assert r.status_code == 200, r.text
    got = {h["hospital_code"]: (h.get("valid_from"), h.get("illustrative")) for h in r.json()}
    assert got == {"H320681001": ("2020-04-01", True), "H320681002": ("2020-07-01", True)}
    r = await client.get("/v1/hospitals", params={"region_code": "320681", "date": "2020-05-15"}, headers=bearer(app))
    assert [h["hospital_code"] for h in r.json()] == ["H320681001"]


async def test_an_added_hospital_starts_on_its_own_date(rules) -> None:  # type: ignore[no-untyped-def]
    # an operator adds a hospital that starts later: before its day it is not designated, from it it is
    app, client = rules
    h = {"hospital_code": "H320681003", "name": "启东市第三人民医院", "level": "county", "public": True,
         "region_code": "320681", "valid_from": "2021-01-01"}
    r = await client.post("/v1/hospitals", json={"region_code": "320681", "hospitals": [h]},
                          headers={**bearer(app), **idem()})
    assert r.status_code == 201, r.text

    async def codes(on: str) -> set[str]:
        got = await client.get("/v1/hospitals", params={"region_code": "320681", "date": on}, headers=bearer(app))
        return {x["hospital_code"] for x in got.json()}

    assert "H320681003" not in await codes("2020-12-31")
    assert "H320681003" in await codes("2021-01-01")
