"""The national 2304 view of a settlement (domain/nhsa.py): field mapping, money conserved, a reversal negative."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from onestop.contracts.money import format_fen, parse_yuan
from onestop.ledger.domain.nhsa import fund_field, med_type, view

CODES = ["390100", "310100", "390200", "390300", "330200", "610100", "640100", "999997", None]
MONEY = ("medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt",
         "act_pay_dedc", "hifp_pay", "hifmi_pay", "hifob_pay", "maf_pay", "oth_pay", "fund_pay_sumamt",
         "hosp_part_amt", "psn_part_amt", "psn_cash_pay")


def settlement(amounts: list[int], self_pay: int, hosp_part: int, *, kind: str = "final",
               codes: list[str | None] | None = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    codes = codes or [CODES[i % len(CODES)] for i in range(len(amounts))]
    sign = -1 if kind == "reversal" else 1
    payers = [{"payer": f"p{i}", "amount": format_fen(sign * a),
               "trace": {"base": format_fen(a + 100), "deductible_borne": "300.00", "cap_left": "5000.00",
                         "text_zh": "按比例支付"}} for i, a in enumerate(amounts)]
    total = sum(amounts) + self_pay
    class_c = min(total, 5000)
    quote = {"total": format_fen(sign * total), "policy_scope": format_fen(sign * (total - class_c)),
             "class_c_amount": format_fen(sign * class_c), "over_limit_amount": "0.00", "copay_first_amount": "0.00",
             "payers": payers}
    row = {"settlement_id": "s1", "stay_id": "st1", "person_ref": "p", "kind": kind, "quote": quote,
           "insurance_region_code": "411203", "settled_at": datetime(2026, 3, 20, 2, 0, tzinfo=UTC),
           "total_fen": sign * total, "self_pay_fen": sign * self_pay, "hosp_part_fen": sign * hosp_part,
           "fund_pay_fen": sign * sum(amounts)}
    funds = [{"payer": f"p{i}", "name": f"fund {i}", "nhsa_code": c, "amount_fen": sign * a}
             for i, (a, c) in enumerate(zip(amounts, codes, strict=True))]
    return row, funds


def test_fund_codes_go_into_their_national_fields() -> None:
    assert [fund_field(c) for c in ["390100", "310100", "390200", "390300", "330200", "610100", "640100", None]] \
        == ["hifp_pay", "hifp_pay", "hifmi_pay", "hifmi_pay", "hifob_pay", "maf_pay", "oth_pay", "oth_pay"]
    assert (med_type("inpatient", False), med_type("outpatient", True), med_type("outpatient", False)) \
        == ("21", "14", "11")


def test_a_settlement_in_2304_names() -> None:
    row, funds = settlement([60000, 20000, 5000], 15000, 1000, codes=["390100", "390200", "610100"])
    out = view(row, funds, stay_kind="inpatient", chronic=False, insurance="resident")
    info = out["setlinfo"]
    assert info["medfee_sumamt"] == "1010.00" and info["hifp_pay"] == "600.00" and info["hifmi_pay"] == "200.00"
    assert info["maf_pay"] == "50.00" and info["oth_pay"] == "0.00" and info["fund_pay_sumamt"] == "850.00"
    assert info["psn_part_amt"] == info["psn_cash_pay"] == "150.00" and info["hosp_part_amt"] == "10.00"
    assert info["act_pay_dedc"] == "300.00" and info["fulamt_ownpay_amt"] == "50.00"
    assert info["setl_time"] == "2026-03-20 10:00:00" and info["insutype"] == "390" and info["med_type"] == "21"
    assert info["mdtrt_id"] == "st1" and info["setl_id"] == "s1" and info["psn_no"] == "p"
    assert [d["fund_pay_type"] for d in out["setldetail"]] == ["390100", "390200", "610100"]
    assert [d["fund_payamt"] for d in out["setldetail"]] == ["600.00", "200.00", "50.00"]


def test_a_fund_without_a_code_is_other() -> None:
    row, funds = settlement([100, 200], 0, 0, codes=[None, "640100"])
    out = view(row, funds, stay_kind="outpatient", chronic=True, insurance="employee")
    assert out["setlinfo"]["oth_pay"] == "3.00" and out["setlinfo"]["oth_pay_detail"] == {"p0": "1.00", "p1": "2.00"}
    assert out["setldetail"][0]["fund_pay_type"] == "999997" and out["setlinfo"]["insutype"] == "310"


@given(st.lists(st.integers(0, 10**8), min_size=0, max_size=8), st.integers(0, 10**8), st.integers(0, 10**6),
       st.booleans())
def test_money_conserved_and_a_reversal_negative(amounts: list[int], self_pay: int, hosp_part: int,
                                                  reversal: bool) -> None:
    row, funds = settlement(amounts, self_pay, hosp_part, kind="reversal" if reversal else "final")
    out = view(row, funds, stay_kind="inpatient", chronic=False, insurance="resident")
    info = {k: parse_yuan(out["setlinfo"][k].lstrip("-")) * (-1 if out["setlinfo"][k].startswith("-") else 1)
            for k in MONEY}
    assert info["fund_pay_sumamt"] + info["psn_part_amt"] + info["hosp_part_amt"] == info["medfee_sumamt"]
    assert sum(info[k] for k in ("hifp_pay", "hifmi_pay", "hifob_pay", "maf_pay", "oth_pay")) \
        == info["fund_pay_sumamt"]
    details = [d["fund_payamt"] for d in out["setldetail"]] + [d["inscp_scp_amt"] for d in out["setldetail"]]
    if reversal:
        assert all(v <= 0 for v in info.values()), info
        assert all(d == "0.00" or d.startswith("-") for d in details)
        assert all(d["crt_payb_lmt_amt"] is None for d in out["setldetail"])
    else:
        assert all(v >= 0 for v in info.values()), info
