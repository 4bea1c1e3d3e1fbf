"""Sample reads in the shapes the ledger answers (stays, agreements, the daily statement, a discharge notice, a
settlement) and a repayment plan in the shape DESIGN §9.1 pins, for the documents' unit tests."""

from __future__ import annotations

from datetime import date
from typing import Any

from onestop.ledger.documents.contexts import Frame, Patient

PRINTED = date(2026, 3, 20)

STAY: dict[str, Any] = {
    "stay_id": "5f0c1c39-7d53-4c1e-9a43-0d5c7c1e2a10", "agreement_id": "a1", "newborn": None,
    "admitted_at": "2026-03-10T09:30:00+08:00", "discharged_at": "2026-03-20T10:00:00+08:00",
    "eligibility": {"categories": ["registered_poor"]}, "region_code": "411203",
}


def frame(**patient: Any) -> Frame:
    p = {"name": "王秀英", "id_number_masked": "4112**********123X", **patient}
    return Frame(stay=STAY, patient=Patient(**p), hospital_name="三门峡市陕州区人民医院", printed_on=PRINTED)


AGREEMENT: dict[str, Any] = {
    "agreement_id": "0b9d6c1e-1a2b-4c3d-8e9f-000000000001", "scope": "hospital", "state": "active",
    "signer": {"relation": "spouse"}, "documents": ["insurance_card", "id_copy"],
    "signed_at": "2026-03-10T09:00:00+08:00",
}


def _payer(payer: str, name: str, code: str, amount: str, text: str) -> dict[str, Any]:
    return {"payer": payer, "name": name, "agency": "", "amount": amount,
            "trace": {"kind": "ratio", "base": amount, "amount": amount, "nhsa_code": code, "text_zh": text}}


PAYERS = [
    _payer("basic", "城乡居民基本医疗保险", "310100", "2240.00",
           "政策范围内费用3800.00元，扣除起付线300.00元后按80%报销，支付2240.00元。"),
    _payer("critical", "大病保险", "390200", "0.00", "政策范围内个人负担未达大病保险起付线，不支付。"),
    _payer("assistance", "医疗救助", "610100", "756.00", "政策范围内个人负担1260.00元按60%救助，支付756.00元。"),
]
FUNDS = [{"payer": p["payer"], "name": p["name"], "agency": "", "nhsa_code": p["trace"]["nhsa_code"],
          "amount": p["amount"]} for p in PAYERS]

STATEMENT: dict[str, Any] = {
    "stay_id": STAY["stay_id"], "date": "2026-03-11", "state": "open",
    "lines": [
        {"line_id": "L1", "code": "250101001", "name": "血常规", "class": "A", "amount": "3000.00",
         "occurred_on": "2026-03-11", "quantity": "1", "unit_price": "3000.00",
         "refunds": [{"line_id": "R1", "amount": "-200.00", "occurred_on": "2026-03-11"}], "net": "2800.00"},
        {"line_id": "L2", "code": "120400001", "name": "静脉输液", "class": "B", "amount": "800.00",
         "occurred_on": "2026-03-11", "quantity": "2", "unit_price": "400.00", "refunds": [], "net": "800.00"},
        {"line_id": "L3", "code": "X0001", "name": "一次性耗材（自费）", "class": "C", "amount": "150.00",
         "occurred_on": "2026-03-11", "quantity": None, "unit_price": None, "refunds": [], "net": "150.00"},
    ],
    "refunds_of_earlier_lines": [],
    "day_total": "3750.00",
    "to_date": {"by_class": {"A": "2800.00", "B": "800.00", "C": "150.00"}, "total": "3750.00"},
    "estimate": {"total": "3750.00", "self_pay": "754.00", "funds": FUNDS, "payers": PAYERS},
    "estimate_note": None,
    "cost_alerts": [{"threshold": "3000.00", "estimated_total": "3750.00", "estimated_self_pay": "754.00",
                     "through": "2026-03-11"}],
}

QUOTE: dict[str, Any] = {"insurance": "resident", "policy_scope": "3600.00", "out_of_scope": "150.00",
                         "effective_ratio": "0.7989", "payers": PAYERS}

NOTICE: dict[str, Any] = {
    "notice_id": "9e5b7a3c-0000-4000-8000-000000000003", "expected_discharge": "2026-03-20",
    "told_at": "2026-03-18T15:00:00+08:00", "told_to": "spouse", "total": "3750.00", "self_pay": "754.00",
    "funds": FUNDS, "quote": QUOTE,
}

SETTLEMENT: dict[str, Any] = {
    "settlement_id": "c3d4e5f6-0000-4000-8000-000000000004", "final": True, "part_index": 1,
    "starts_on": "2026-03-10", "through": "2026-03-20", "settled_at": "2026-03-20T10:05:00+08:00",
    "discharge_way": "normal", "total": "3750.00", "policy_scope": "3600.00", "out_of_scope": "150.00",
    "fund_pay": "2996.00", "self_pay": "754.00", "effective_ratio": "0.7989", "hosp_part_amt": "0.00",
    "payments_on_account": "200.00", "owed": "554.00", "refund_due": "0.00", "payers": PAYERS, "funds": FUNDS,
    "notice": {"told_at": "2026-03-18T15:00:00+08:00",
               "difference": {"total": "0.00", "self_pay": "0.00", "funds": {}}},
    "catalogue_notes": [],
}

PLAN: dict[str, Any] = {  # as GET /v1/stays/{id}/repayment-plan answers it
    "plan_id": "d4e5f6a7-0000-4000-8000-000000000005", "signed_at": "2026-03-20T11:00:00+08:00",
    "signer": {"relation": "self"}, "amount": "554.00", "paid": "300.00", "owed": "254.00", "as_of": "2026-04-21",
    "instalments": [{"number": 1, "due_date": "2026-04-20", "amount": "300.00", "paid": "300.00", "status": "paid"},
                    {"number": 2, "due_date": "2026-05-20", "amount": "254.00", "paid": "0.00", "status": "due"}],
}
