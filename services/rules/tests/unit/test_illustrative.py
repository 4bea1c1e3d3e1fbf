"""Issue 11 point 7: a quote lists, machine-readably, the policy values it used that no seed states."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from onestop.rules.domain import PolicyRegistry, compute_quote

A = "250101001"
POLICIES = Path(__file__).resolve().parents[2] / "policies"


def listed(registry, req, explain: bool = True) -> dict[str, str]:
    q = compute_quote(registry.resolve(req.region_code, req.date), req, explain=explain)
    return {i.path: i.value for i in q.illustrative}


def test_quote_lists_the_illustrative_values_it_used(registry, mk):
    # 150222 county inpatient, registered poor: basic's county row (300.00, 75%) and its cap, the CI
    # threshold and tiers, commercial's and assistance's parameters are illustrative; the 95% target,
    # the tilts (50%, +5) and the outpatient 70% name seed 003 and are not listed
    req = mk(categories=["registered_poor"], lines=[(A, "A", "1000.00"), ("LOCAL1", "B", "10.00")])
    got = listed(registry, req)
    assert got["payers.basic.params.inpatient.county.deductible"] == "300.00"
    assert got["payers.basic.params.inpatient.county.ratio"] == "0.75"
    assert got["payers.basic.params.annual_cap"] == "150000.00"
    assert got["payers.critical_illness.params.threshold"] == "13000.00"
    assert got["payers.assistance.params.ratio"] == "0.60"
    assert got["catalogue_defaults.copay_first"] == "0.10"  # LOCAL1 is class B and not in the catalogue
    assert not any(p.startswith(("payers.gap_fill", "tilts")) for p in got)
    assert "payers.basic.params.inpatient.township.deductible" not in got  # another level's row: not used
    assert "payers.basic.params.outpatient.county.ratio" not in got
    assert listed(registry, req, explain=False) == got  # machine-readable: the same without sentences
    # the package price (illustrative, 003 二(一)3: 自治区 sets it) when the package applies
    pkg = listed(registry, mk(categories=["registered_poor"], level="city", disease_code="C16.9",
                              lines=[(A, "A", "100.00")]))
    assert pkg["payers.package.params.packages.C16.price"] == "42000.00"
    assert "catalogue_defaults.copay_first" not in pkg  # the bill is the package price, not its lines


def test_insurance_rows_and_inherited_values_are_listed_where_they_are(registry, mk):
    # 和田 by_insurance: the resident row of the person's scheme
    got = listed(registry, mk("653200", lines=[(A, "A", "100.00")]))
    assert got["payers.basic.by_insurance.resident.inpatient.county.ratio"] == "0.85"
    assert not any(".employee." in p for p in got)
    # 陕州 inherits 河南's illustrative values …
    assert listed(registry, mk("411203", lines=[(A, "A", "100.00")]))[
        "payers.basic.params.inpatient.county.deductible"] == "300.00"


def test_a_child_stating_a_value_with_a_seed_takes_it_off_the_list(tmp_path, mk):
    for code in ("410000", "411203"):
        (tmp_path / code).mkdir()
        (tmp_path / code / "policy.v1.yaml").write_text((POLICIES / code / "policy.v1.yaml").read_text("utf-8"))
    child = (tmp_path / "411203" / "policy.v1.yaml")
    child.write_text(child.read_text("utf-8") + """
payers:
  - id: basic
    params:
      inpatient:
        county: {deductible: {value: "400.00", seed: "test 一"}}
""", encoding="utf-8")
    reg = PolicyRegistry.load(tmp_path)
    req = mk("411203", lines=[(A, "A", "1000.00")])
    q = compute_quote(reg.resolve("411203", date(2024, 3, 10)), req)
    assert q.payers[0].trace.deductible == 40000
    got = {i.path: i.value for i in q.illustrative}
    assert "payers.basic.params.inpatient.county.deductible" not in got  # the child's seed states it
    assert got["payers.basic.params.inpatient.county.ratio"] == "0.80"  # still the parent's illustrative one
