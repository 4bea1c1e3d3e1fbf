"""The documents' context builders and templates on sample reads (documents_samples.py): each kind's title,
patient, amounts and wording in the HTML (escaped) and in the PDF's extracted text; the repayment plan from the
plan shape DESIGN §9.1 pins (its endpoint comes later)."""

from __future__ import annotations

import io
import os
import re
import sys

import pytest
from pypdf import PdfReader

sys.path.insert(0, os.path.dirname(__file__))  # documents_samples.py under --import-mode=importlib

import documents_samples as S  # noqa: E402

from onestop.ledger.api.documents import negotiate  # noqa: E402
from onestop.ledger.documents import contexts as C  # noqa: E402
from onestop.ledger.documents.html import render_html  # noqa: E402
from onestop.ledger.documents.model import Document, Table, yuan, zh_date, zh_time  # noqa: E402
from onestop.ledger.documents.pdf import render_pdf  # noqa: E402
from onestop.ledger.problems import NotAcceptable  # noqa: E402


def pdf_text(data: bytes) -> str:
    """The PDF's text, whitespace removed. pypdf reads fpdf2's 2-byte CID codes with a NUL before each glyph's
    text (poppler's pdftotext does not): those NULs go too."""
    reader = PdfReader(io.BytesIO(data))
    return re.sub(r"[\s\x00]+", "", "".join(p.extract_text() or "" for p in reader.pages))


def docs() -> dict[str, Document]:
    f = S.frame()
    return {"agreement": C.agreement(f, S.AGREEMENT), "daily-statement": C.daily_statement(f, S.STATEMENT),
            "discharge-notice": C.discharge_notice(f, S.NOTICE), "settlement": C.settlement(f, S.SETTLEMENT),
            "repayment-plan": C.repayment_plan(f, S.PLAN)}


TITLES = {"agreement": "“先诊疗、后付费”协议书", "daily-statement": "住院费用一日清单",
          "discharge-notice": "出院前费用告知书", "settlement": "住院费用结算单",
          "repayment-plan": "延期（分期）还款协议书"}
AMOUNTS = {"agreement": [], "daily-statement": ["3000.00", "-200.00", "3750.00", "2800.00", "754.00"],
           "discharge-notice": ["3750.00", "2240.00", "756.00", "754.00", "79.89%"],
           "settlement": ["3750.00", "2240.00", "756.00", "754.00", "200.00", "554.00"],
           "repayment-plan": ["300.00", "254.00", "554.00", "2026年5月20日"]}


def test_formats_are_chinese_dates_and_two_place_yuan() -> None:
    assert zh_date("2026-03-05") == "2026年3月5日"
    assert zh_date("2026-03-04T17:30:00+00:00") == "2026年3月5日"  # 01:30 the next day in Asia/Shanghai
    assert zh_time("2026-03-18T07:00:00+00:00") == "2026年3月18日 15:00"
    assert zh_date(None) == ""
    assert yuan("12") == "12.00" and yuan("-0.5") == "-0.50" and yuan(123456) == "1234.56"
    assert C._percent("0.7989") == "79.89%" and C._percent("1") == "100.00%" and C._percent("0.05") == "5.00%"


def test_a_table_row_must_fill_its_columns() -> None:
    with pytest.raises(ValueError):
        Table((C.Column("a"), C.Column("b")), (("only one",),))


@pytest.mark.parametrize("kind", list(TITLES))
def test_each_html_has_its_title_patient_and_amounts(kind: str) -> None:
    html = render_html(docs()[kind])
    assert f"<h1>{TITLES[kind]}</h1>" in html
    assert "王秀英" in html and "4112**********123X" in html and "三门峡市陕州区人民医院" in html
    for amount in AMOUNTS[kind]:
        assert f">{amount}<" in html or f"{amount}元" in html or amount in html, amount
    assert "打印日期：2026年3月20日" in html


@pytest.mark.parametrize("kind", list(TITLES))
def test_each_pdf_embeds_the_font_and_its_text_has_the_title_and_amounts(kind: str) -> None:
    data = render_pdf(docs()[kind])
    assert data.startswith(b"%PDF-") and len(data) < 200_000  # subset, not the 19 MB font
    assert b"/FontFile3" in data or b"/FontFile2" in data  # embedded, so any viewer renders it
    text = pdf_text(data)
    assert TITLES[kind] in text and "王秀英" in text and "4112**********123X" in text
    for amount in AMOUNTS[kind]:
        assert amount in text, amount


def test_the_agreement_is_two_copies_with_the_custody_list_and_signature_lines() -> None:
    doc = docs()["agreement"]
    assert doc.copies == ("第一联　患者留存", "第二联　医院留存")
    html = render_html(doc)
    assert html.count("<h1>") == 2 and "社会保障卡（医保卡、参保证）" in html and "有效居民身份证复印件" in html
    assert "健康扶贫卡" not in html  # not kept at this signing
    assert "一式两份，医患双方各持一份" in html and "与患者关系：配偶" in html
    reader = PdfReader(io.BytesIO(render_pdf(doc)))
    assert len(reader.pages) == 2
    assert all("医院经办人签字" in re.sub(r"[\s\x00]+", "", p.extract_text()) for p in reader.pages)


def test_the_settlement_shows_each_fund_with_its_code_and_sentence() -> None:
    doc = docs()["settlement"]
    [funds] = [b for b in doc.blocks if isinstance(b, Table) and b.caption == "各项基金支付"]
    assert [(r[0], r[1], r[3]) for r in funds.rows] == [
        ("城乡居民基本医疗保险", "310100", "2240.00"), ("大病保险", "390200", "0.00"), ("医疗救助", "610100", "756.00")]
    assert funds.rows[0][2].startswith("政策范围内费用3800.00元")
    assert funds.foot == (("医疗费用总额", "", "", "3750.00"), ("个人自付", "", "", "754.00"))
    mid = C.settlement(S.frame(), {**S.SETTLEMENT, "final": False, "part_index": 2})
    assert mid.title == "住院费用中途结算单（第2段）"


def test_names_are_escaped_and_a_missing_name_is_said() -> None:
    html = render_html(C.settlement(S.frame(name="<b>王</b>"), S.SETTLEMENT))
    assert "<b>王</b>" not in html and "&lt;b&gt;王&lt;/b&gt;" in html
    assert "（身份系统无姓名）" in render_html(C.settlement(S.frame(name=None), S.SETTLEMENT))


def test_the_daily_statement_without_an_estimate_says_why_and_an_empty_day_says_so() -> None:
    s = {**S.STATEMENT, "lines": [], "day_total": "0.00", "estimate": None, "cost_alerts": [],
         "estimate_note": "no unsettled fee line up to this date"}
    html = render_html(C.daily_statement(S.frame(), s))
    assert "（当日无费用）" in html and "本日未作预估：截至本日无未结算费用" in html


def test_the_repayment_plan_lists_each_instalment_and_what_is_left() -> None:
    doc = C.repayment_plan(S.frame(), S.PLAN)
    [table] = [b for b in doc.blocks if isinstance(b, Table)]
    assert table.rows == (("1", "2026年4月20日", "300.00", "300.00", "已还"),
                          ("2", "2026年5月20日", "254.00", "0.00", "待还"))
    assert table.foot == (("合计", "", "554.00", "300.00", ""),)
    assert "截至2026年4月21日尚欠254.00元。" in render_html(doc)
    bare = C.repayment_plan(S.frame(), {**S.PLAN, "amount": None, "paid": None, "owed": None,
                                        "instalments": [{"due_date": "2026-04-20", "amount": "554.00"}]})
    [table] = [b for b in bare.blocks if isinstance(b, Table)]
    assert table.rows == (("1", "2026年4月20日", "554.00", "", ""),) and table.foot[0][2] == "554.00"


@pytest.mark.parametrize(("accept", "media"), [
    (None, "text/html"), ("", "text/html"), ("*/*", "text/html"), ("text/html", "text/html"),
    ("application/pdf", "application/pdf"), ("application/*", "application/pdf"),
    ("text/html;q=0.5, application/pdf", "application/pdf"), ("application/pdf;q=0.9, */*", "text/html"),
    ("TEXT/HTML; charset=utf-8", "text/html"), ("text/html, application/xhtml+xml, */*;q=0.8", "text/html"),
    ("application/pdf, text/html;q=NaN", "application/pdf"), ("*/*;q=0.1, application/pdf;q=0", "text/html")])
def test_accept_picks_html_or_pdf(accept: str | None, media: str) -> None:
    assert negotiate(accept) == media


@pytest.mark.parametrize("accept", ["application/json", "image/*", "text/html;q=0", "*/*;q=0",
                                    "text/html;q=NaN", "text/html;q=2", "text/html;q=-1", ";;;", "0"])
def test_accept_of_nothing_we_serve_is_a_406(accept: str) -> None:
    with pytest.raises(NotAcceptable):
        negotiate(accept)


def test_the_custody_list_says_when_each_card_went_back() -> None:
    history = [{"kind": "insurance_card", "action": "kept", "at": "2026-03-10T09:00:00+08:00"},
               {"kind": "id_copy", "action": "kept", "at": "2026-03-10T09:00:00+08:00"},
               {"kind": "insurance_card", "action": "returned", "at": "2026-03-20T11:00:00+08:00"}]
    doc = C.agreement(S.frame(), {**S.AGREEMENT, "custody": history, "documents": ["id_copy"]})
    [table] = [b for b in doc.blocks if isinstance(b, Table)]
    assert table.rows == (("社会保障卡（医保卡、参保证）", "1", "已于2026年3月20日归还"),
                          ("有效居民身份证复印件", "1", "结清费用后归还"))
