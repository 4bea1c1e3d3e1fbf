"""Each document's content from the ledger's reads (pure: the reads, the patient's name and masked ID number as
identity answers them, the hospital's name and the printing date come in; a `model.Document` goes out).

The wording follows the seeds: the agreement 000 §2.2–2.3 and 001 三(一) (协议书一式两份，医患双方各持一份; the
cards the hospital keeps), the daily statement 000 §2.4 (一日清单), the notice before discharge 000 §2.4 and §3.1
(出院前2天内书面告知: 医保类型、报销金额、自付金额，患者承诺及时结账), the settlement 000 §2.5 and 001 三(二)
(扣除基本医保、大病保险、医疗救助等金额后个人应承担的费用), the repayment plan 000 §2.5 (延期还款协议书).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from onestop.contracts.money import parse_yuan
from onestop.ledger.documents.model import (
    Block,
    Column,
    Document,
    Fields,
    Paragraph,
    Signatures,
    Table,
    yuan,
    zh_date,
    zh_time,
)

RELATION = {"self": "本人", "spouse": "配偶", "parent": "父母", "child": "子女", "guardian": "监护人",
            "other": "其他签订协议人"}
# what the hospital keeps at the treat-first window (000 §2.2 专柜妥善收存; 001 三(一) 只收存社会保障卡（参保证）
# 和有效身份证明复印件)
CUSTODY = {"insurance_card": "社会保障卡（医保卡、参保证）", "id_copy": "有效居民身份证复印件",
           "poverty_card": "健康扶贫卡（贫困证明）"}
CATEGORY = {"registered_poor": "建档立卡贫困人口", "extreme_poverty": "特困供养人员",
            "subsistence_allowance": "低保对象", "child_in_distress": "困境儿童", "poor_disabled": "贫困残疾人",
            "monitored": "防返贫监测对象", "urban_special": "城镇特困人员"}
INSURANCE = {"resident": "城乡居民基本医疗保险", "employee": "城镇职工基本医疗保险"}
FEE_CLASS = {"A": "甲类", "B": "乙类", "C": "丙类"}
STATUS = {"due": "待还", "paid": "已还", "overdue": "逾期"}
DISCHARGE_WAY = {"normal": "医嘱离院", "against_advice": "自动离院", "transfer": "转院", "death": "死亡",
                 "absconded": "未办手续离院"}


@dataclass(frozen=True)
class Patient:
    """Who the document is about, as identity answers it when the document is rendered (never stored)."""

    name: str | None
    id_number_masked: str | None


@dataclass(frozen=True)
class Frame:
    """What every document of a stay shares: the stay's read (stays.service._shape), the patient, the hospital."""

    stay: Mapping[str, Any]
    patient: Patient
    hospital_name: str
    printed_on: date


def header(f: Frame, *extra: tuple[str, str]) -> Fields:
    stay = f.stay
    name = f.patient.name or "（身份系统无姓名）"
    if stay.get("newborn"):
        name = f"{name}之新生儿（{stay['newborn']}）"
    items = [("患者姓名", name), ("身份证号", f.patient.id_number_masked or ""),
             ("入院日期", zh_date(stay["admitted_at"])), ("出院日期", zh_date(stay.get("discharged_at")))]
    categories = stay.get("eligibility", {}).get("categories") or []
    if categories:
        items.append(("人员类别", "、".join(CATEGORY.get(c, c) for c in categories)))
    return Fields(tuple(items) + extra)


def _doc(f: Frame, kind: str, title: str, blocks: Sequence[Block], *, number: str, seed: str,
         extra: Sequence[tuple[str, str]] = (), copies: tuple[str, ...] = ("",),
         notes: tuple[str, ...] = ()) -> Document:
    return Document(kind=kind, title=title, hospital_name=f.hospital_name, header=header(f, *extra),
                    blocks=tuple(blocks), printed_on=f.printed_on, number=number, copies=copies, seed=seed,
                    notes=notes)


def agreement(f: Frame, a: Mapping[str, Any]) -> Document:
    """《"先诊疗、后付费"协议书》一式两份 (000 §2.3), with the cards kept (000 §2.2, 001 三(一))."""
    custody = Table((Column("收存的证件资料", 4), Column("份数", 1, "C"), Column("归还", 3, "C")),
                    tuple((CUSTODY.get(k, k), "1", returned) for k, returned in _custody(a)),
                    caption="医院收存的患者证件资料（专柜妥善收存）", empty="（未收存证件资料）")
    clauses = (
        "一、患者符合县域内住院“先诊疗、后付费”条件，患者及家属或签订协议人无需交纳住院押金，直接办理住院手续。",
        "二、医院在“先诊疗、后付费”窗口核对患者身份与证件，收存下列证件资料，设专柜妥善保管，不作他用。",
        "三、医院告知患者治疗所需大体费用，执行住院费用“一日清单”制度，每天向患者出示费用清单。",
        "四、患者出院前2日内，医院将住院医疗费用清单及基本医疗保险报销金额、自付费用金额书面告知患者及家属或"
        "签订协议人。",
        "五、出院结算时，扣除基本医保、大病保险、医疗救助等支付的金额后，个人应承担的费用由患者及家属或签订协议"
        "人现场结清；结清后医院即时归还收存的证件资料，办理出院手续。",
        "六、患者确因家庭困难，出院结算时难以一次性结清的，可与医院签订延期（分期）还款协议书后办理出院手续，"
        "并按约定按时还款。",
        "七、患者承诺出院时结清个人应承担的费用，或按还款协议及时还款；恶意拖欠的，依规纳入失信名单。",
    )
    blocks: list[Block] = [Paragraph(c) for c in clauses[:2]]
    blocks.append(custody)
    blocks += [Paragraph(c) for c in clauses[2:]]
    blocks.append(Paragraph("本协议一式两份，医患双方各持一份，自签订之日起生效。"))
    relation = RELATION.get(a["signer"]["relation"], a["signer"]["relation"])
    blocks.append(Signatures((f"患者或签订协议人签字（与患者关系：{relation}）", "医院经办人签字（医院盖章）")))
    scope = "本院" if a["scope"] == "hospital" else "协议范围内定点医疗机构"
    return _doc(f, "agreement", "“先诊疗、后付费”协议书", blocks, number=a["agreement_id"],
                seed="000 §2.2–2.3, 001 三(一)", extra=[("签订日期", zh_date(a["signed_at"])), ("适用范围", scope)],
                copies=("第一联　患者留存", "第二联　医院留存"))


def _custody(a: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Each card kept at signing, and when it went back (the custody history), or when it will."""
    history = a.get("custody")
    if history is None:  # a read without the history: what is held now
        return [(k, "结清费用后归还") for k in a.get("documents") or []]
    out: dict[str, str] = {}
    for h in history:
        if h["action"] == "kept":
            out[h["kind"]] = "结清费用后归还"
        elif h["kind"] in out:
            out[h["kind"]] = f"已于{zh_date(h['at'])}归还"
    return list(out.items())


def _lines_table(statement: Mapping[str, Any]) -> Table:
    rows: list[tuple[str, ...]] = []
    for x in statement["lines"]:
        rows.append((x["code"], x["name"], FEE_CLASS.get(x["class"], x["class"]), x.get("quantity") or "",
                     yuan(x["unit_price"]) if x.get("unit_price") else "", yuan(x["amount"])))
        for r in x["refunds"]:
            rows.append(("", f"　退费（{zh_date(r['occurred_on'])}）", "", "", "", yuan(r["amount"])))
    for late in statement["refunds_of_earlier_lines"]:
        of = late["refunds_line"]
        rows.append((of["code"], f"{of['name']}　退费（{zh_date(of['occurred_on'])}收费）",
                     FEE_CLASS.get(of["class"], of["class"]), "", "", yuan(late["amount"])))
    return Table((Column("项目编码", 3), Column("项目名称", 6), Column("类别", 2, "C"), Column("数量", 2, "R"),
                  Column("单价（元）", 3, "R"), Column("金额（元）", 3, "R")), tuple(rows),
                 foot=(("", "当日合计", "", "", "", yuan(statement["day_total"])),),
                 caption="当日费用明细", empty="（当日无费用）")


def _funds_table(funds: Sequence[Mapping[str, Any]], payers: Sequence[Mapping[str, Any]], self_pay: str,
                 total: str, *, caption: str) -> Table:
    """Each fund with its national code, the sentence saying how its amount came about, and the amount."""
    said = {p["payer"]: p.get("trace", {}).get("text_zh", "") for p in payers}
    rows = tuple((f["name"], f.get("nhsa_code") or "", said.get(f["payer"], ""), yuan(f["amount"])) for f in funds)
    columns = (Column("支付项目", 4), Column("基金编码", 2, "C"), Column("计算说明", 10), Column("金额（元）", 3, "R"))
    return Table(columns, rows, foot=(("医疗费用总额", "", "", yuan(total)), ("个人自付", "", "", yuan(self_pay))),
                 caption=caption, empty="（无基金支付）")


def daily_statement(f: Frame, s: Mapping[str, Any]) -> Document:
    """一日清单 (000 §2.4): the day's lines, the totals so far by class, the running estimate."""
    by_class = s["to_date"]["by_class"]
    blocks: list[Block] = [_lines_table(s), Table(
        tuple(Column(f"{FEE_CLASS[c]}（元）", 1, "R") for c in ("A", "B", "C")) + (Column("累计合计（元）", 1, "R"),),
        ((*(yuan(by_class.get(c, "0.00")) for c in ("A", "B", "C")), yuan(s["to_date"]["total"])),),
        caption=f"截至{zh_date(s['date'])}累计费用")]
    est = s.get("estimate")
    if est:
        blocks.append(_funds_table(est["funds"], est["payers"], est["self_pay"], est["total"],
                                   caption="按当前费用预估的医保支付与个人自付（出院结算时以实际结算为准）"))
    elif s.get("estimate_note"):
        blocks.append(Paragraph("本日未作预估：" + _NOTE.get(s["estimate_note"].split(":")[0], s["estimate_note"])))
    for a in s.get("cost_alerts") or []:
        blocks.append(Paragraph(f"费用提醒：截至{zh_date(a['through'])}预估总费用{yuan(a['estimated_total'])}元，"
                                f"已超过{yuan(a['threshold'])}元，预估个人自付{yuan(a['estimated_self_pay'])}元。",
                                emphasis=True))
    blocks.append(Paragraph("如对清单有疑问，请向病区护士站或“先诊疗、后付费”窗口咨询。"))
    blocks.append(Signatures(("患者或家属签字",)))
    return _doc(f, "daily-statement", "住院费用一日清单", blocks, number=s["stay_id"], seed="000 §2.4",
                extra=[("清单日期", zh_date(s["date"]))])


_NOTE = {"the admission was cancelled": "入院已撤销",
         "no unsettled fee line up to this date": "截至本日无未结算费用",
         "this date is inside a settled part": "本日费用已中途结算",
         "the stay crosses 31 December": "住院跨年度，请先中途结算至12月31日"}


def discharge_notice(f: Frame, n: Mapping[str, Any]) -> Document:
    """出院前告知书 (000 §2.4, §3.1): the estimate for the expected discharge, told in writing."""
    quote = n["quote"]
    insurance = INSURANCE.get(quote.get("insurance") or "", "基本医疗保险")
    blocks: list[Block] = [
        Paragraph(f"根据“先诊疗、后付费”协议，现将患者本次住院截至预计出院日{zh_date(n['expected_discharge'])}"
                  "发生的医疗费用及医保报销金额、个人自付金额书面告知如下："),
        Fields((("医保类型", insurance), ("医疗费用总额", f"{yuan(n['total'])}元"),
                ("政策范围内费用", f"{yuan(quote['policy_scope'])}元"),
                ("政策范围外费用", f"{yuan(quote['out_of_scope'])}元"),
                ("实际报销比例", _percent(quote["effective_ratio"])),
                ("预计个人自付", f"{yuan(n['self_pay'])}元"))),
        _funds_table(n["funds"], quote["payers"], n["self_pay"], n["total"], caption="各项基金预计支付"),
        Paragraph("以上金额为预估，出院结算时以实际结算金额为准。患者出院时结清个人自付部分；确因家庭困难难以"
                  "一次性结清的，可签订延期（分期）还款协议。", emphasis=True),
        Paragraph("本人已知晓上述费用及报销情况，承诺出院时及时结账。"),
        Signatures((f"患者或签订协议人签字（{RELATION.get(n.get('told_to') or '', '与患者关系：　　')}）",
                    "告知人签字")),
    ]
    return _doc(f, "discharge-notice", "出院前费用告知书", blocks, number=n["notice_id"], seed="000 §2.4, §3.1",
                extra=[("告知时间", zh_time(n["told_at"])), ("预计出院日期", zh_date(n["expected_discharge"]))])


def _percent(ratio: str) -> str:
    """'0.8523' -> '85.23%' on the decimal string (no float)."""
    whole, _, frac = ratio.partition(".")
    frac = (frac + "0000")[:4]
    value = int(whole) * 10000 + int(frac)
    return f"{value // 100}.{value % 100:02d}%"


def settlement(f: Frame, s: Mapping[str, Any]) -> Document:
    """结算单 (000 §2.5, 001 三(二)): each fund with its national code, trace sentence and amount; what is left."""
    title = "住院费用结算单" if s["final"] else f"住院费用中途结算单（第{s['part_index']}段）"
    amounts: list[tuple[str, str]] = [
        ("医疗费用总额", f"{yuan(s['total'])}元"), ("政策范围内费用", f"{yuan(s['policy_scope'])}元"),
        ("政策范围外费用", f"{yuan(s['out_of_scope'])}元"), ("基金支付合计", f"{yuan(s['fund_pay'])}元"),
        ("个人自付", f"{yuan(s['self_pay'])}元"), ("实际报销比例", _percent(s["effective_ratio"]))]
    if s.get("hosp_part_amt") and s["hosp_part_amt"] != "0.00":
        amounts.append(("医院承担（超定额）", f"{yuan(s['hosp_part_amt'])}元"))
    blocks: list[Block] = [
        Fields(tuple(amounts), caption="费用汇总"),
        _funds_table(s["funds"], s["payers"], s["self_pay"], s["total"], caption="各项基金支付"),
        Table((Column("个人自付（元）", 1, "R"), Column("已预交（元）", 1, "R"), Column("应补交（元）", 1, "R"),
               Column("应退还（元）", 1, "R")),
              ((yuan(s["self_pay"]), yuan(s["payments_on_account"]), yuan(s["owed"]), yuan(s["refund_due"])),),
              caption="个人应承担费用"),
    ]
    notice = s.get("notice")
    if notice:
        blocks.append(Paragraph(f"与{zh_date(notice['told_at'])}出具的出院前告知相比：总费用相差"
                                f"{yuan(notice['difference']['total'])}元，个人自付相差"
                                f"{yuan(notice['difference']['self_pay'])}元。"))
    blocks.append(Paragraph("请患者及家属或签订协议人在“一站式”结算窗口结清个人应承担的费用，结清后医院即时归还"
                            "收存的证件资料。确因家庭困难难以一次性结清的，可签订延期（分期）还款协议。",
                            emphasis=True))
    blocks.append(Signatures(("患者或签订协议人签字", "结算经办人签字")))
    extra = [("结算日期", zh_date(s["settled_at"])),
             ("结算期间", f"{zh_date(s['starts_on'])}至{zh_date(s['through'])}")]
    if s.get("discharge_way"):
        extra.append(("离院方式", DISCHARGE_WAY.get(s["discharge_way"], s["discharge_way"])))
    return _doc(f, "settlement", title, blocks, number=s["settlement_id"], seed="000 §2.5, 001 三(二)", extra=extra,
                notes=tuple(n["text_zh"] for n in s.get("catalogue_notes") or []))


def repayment_plan(f: Frame, p: Mapping[str, Any]) -> Document:
    """延期（分期）还款协议书 (000 §2.5) from the plan as `GET /v1/stays/{id}/repayment-plan` answers it (DESIGN
    §9.1): the amount agreed, instalments with due dates, amounts, what each has had paid and its status."""
    instalments = p["instalments"]
    rows = tuple((str(x.get("number") or i), zh_date(x["due_date"]), yuan(x["amount"]),
                  yuan(x["paid"]) if x.get("paid") is not None else "", STATUS.get(x.get("status") or "", ""))
                 for i, x in enumerate(instalments, 1))
    amount = yuan(p.get("amount") or sum(parse_yuan(x["amount"]) for x in instalments))
    paid = p.get("paid")
    relation = RELATION.get(p["signer"]["relation"], p["signer"]["relation"])
    blocks: list[Block] = [
        Paragraph(f"患者本次住院经结算后，个人应承担费用尚欠{amount}元。患者确因家庭困难，出院结算时难以一次性"
                  "结清，经双方协商，签订本延期（分期）还款协议，约定按下列期限还款："),
        Table((Column("期次", 1, "C"), Column("还款日期", 3, "C"), Column("应还金额（元）", 3, "R"),
               Column("已还金额（元）", 3, "R"), Column("状态", 2, "C")), rows,
              foot=(("合计", "", amount, yuan(paid) if paid is not None else "", ""),), caption="还款计划"),
    ]
    if p.get("owed") is not None:
        blocks.append(Paragraph(f"截至{zh_date(p.get('as_of') or f.printed_on)}尚欠{yuan(p['owed'])}元。",
                                emphasis=True))
    blocks += [
        Paragraph("患者按期到医院“先诊疗、后付费”窗口或以约定方式还款；逾期未还的，由乡镇（街道）入户走访核实；"
                  "经核实恶意拖欠的，依规纳入失信名单。"),
        Paragraph("本协议一式两份，医患双方各持一份，自签订之日起生效。"),
        Signatures((f"患者或签订协议人签字（与患者关系：{relation}）", "医院经办人签字（医院盖章）")),
    ]
    return _doc(f, "repayment-plan", "延期（分期）还款协议书", blocks, number=p["plan_id"], seed="000 §2.5, §3.3",
                extra=[("签订日期", zh_date(p.get("signed_at")))], copies=("第一联　患者留存", "第二联　医院留存"))
