"""A document as an A4 PDF (fpdf2) that any viewer renders: Noto Sans CJK SC is embedded, subset to the glyphs
used (the `noto-cjk-sans-otc` package: OFL-1.1, a static CFF collection; face 2 is SC). Tables have lines; amounts
are right-aligned; CJK text wraps by character.

fpdf2 is synchronous and takes about a second per document (most of it parsing the 19 MB font): the route runs
it in a worker thread, never on the event loop.
"""

from __future__ import annotations

from fpdf import FPDF, FontFace
from fpdf.enums import Align, TableCellFillMode, WrapMode, XPos, YPos
from noto_cjk_sans_otc import FONT_PATH

from onestop.ledger.documents.model import Block, Document, Fields, Heading, Paragraph, Signatures, Table, zh_date

FONT = "noto-sc"
SC_FACE = 2  # NotoSansCJK-Regular.ttc: 0 JP, 1 KR, 2 SC, 3 TC, 4 HK
BODY, SMALL, TITLE = 10.5, 8.5, 17
LINE = 5.5  # mm per table line at BODY
_ALIGN = {"L": Align.L, "C": Align.C, "R": Align.R}
_GREY = (235, 235, 235)


def _pdf(doc: Document) -> FPDF:
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_margins(15, 14, 15)
    pdf.set_auto_page_break(True, margin=16)
    # one face only (Regular; each face parsed costs a second): bold is drawn as fill + stroke of the same glyphs
    pdf.add_font(FONT, "", str(FONT_PATH), collection_font_number=SC_FACE)
    pdf.set_title(doc.title)
    pdf.set_creator("onestop ledger")
    pdf.set_lang("zh-CN")
    return pdf


def render_pdf(doc: Document) -> bytes:
    """The document's PDF: each copy (一式两份) from a new page."""
    pdf = _pdf(doc)
    for copy in doc.copies:
        pdf.add_page()
        _page(pdf, doc, copy)
    return bytes(pdf.output())


def _page(pdf: FPDF, doc: Document, copy: str) -> None:
    if copy:
        pdf.set_font(FONT, size=SMALL)
        pdf.cell(0, 4, copy, align=Align.R, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, size=12)
    pdf.cell(0, 7, doc.hospital_name, align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    _bold(pdf, TITLE, doc.title, 10, Align.C)
    pdf.ln(1)
    _fields(pdf, doc.header)
    for block in doc.blocks:
        _block(pdf, block)
    pdf.set_font(FONT, size=SMALL)
    for note in doc.notes:
        pdf.multi_cell(0, 4.5, "注：" + note, wrapmode=WrapMode.CHAR, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
    pdf.cell(0, 4.5, f"打印日期：{zh_date(doc.printed_on)}　　编号：{doc.number}", new_x=XPos.LMARGIN,
             new_y=YPos.NEXT)
    _plain(pdf)


def _plain(pdf: FPDF) -> None:
    pdf.set_font(FONT, size=BODY)


def _bold(pdf: FPDF, size: float, text: str, h: float, align: Align = Align.L) -> None:
    """A line in bold: one Regular face, so the glyphs are filled and stroked (in a local graphics state, which
    keeps the text mode from leaking into what follows)."""
    pdf.set_font(FONT, size=size)
    with pdf.local_context(text_mode="FILL_STROKE", line_width=0.3 if size > BODY else 0.18):
        pdf.multi_cell(0, h, text, align=align, wrapmode=WrapMode.CHAR, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    _plain(pdf)


def _block(pdf: FPDF, block: Block) -> None:
    if isinstance(block, Table):
        _table(pdf, block)
    elif isinstance(block, Fields):
        _fields(pdf, block)
    elif isinstance(block, Heading):
        _caption(pdf, block.text)
    elif isinstance(block, Paragraph):
        if block.emphasis:
            _bold(pdf, BODY, block.text, LINE)
        else:
            pdf.multi_cell(0, LINE, block.text, wrapmode=WrapMode.CHAR, align=Align.L, new_x=XPos.LMARGIN,
                           new_y=YPos.NEXT)
        pdf.ln(1)
    elif isinstance(block, Signatures):
        _signatures(pdf, block)


def _caption(pdf: FPDF, text: str) -> None:
    pdf.ln(1)
    _bold(pdf, BODY, text, LINE)


def _heads() -> FontFace:
    return FontFace(family=FONT, emphasis="", fill_color=_GREY)


def _table(pdf: FPDF, t: Table) -> None:
    if t.caption:
        _caption(pdf, t.caption)
    pdf.set_draw_color(0)
    pdf.set_line_width(0.2)
    with pdf.table(col_widths=[c.width for c in t.columns], text_align=[_ALIGN[c.align] for c in t.columns],
                   headings_style=_heads(), line_height=LINE, wrapmode=WrapMode.CHAR, padding=(0.8, 1.5),
                   v_align="MIDDLE", repeat_headings=1) as table:
        head = table.row()
        for c in t.columns:
            head.cell(c.label, align=_ALIGN[c.align] if c.align == "R" else Align.C)
        if not t.rows:
            table.row().cell(t.empty, colspan=len(t.columns), align=Align.C)
        for r in t.rows:
            row = table.row()
            for cell in r:
                row.cell(cell)
        for r in t.foot:
            row = table.row()
            for cell in r:
                row.cell(cell, style=FontFace(family=FONT, emphasis="", fill_color=(248, 248, 248)))
    pdf.ln(1.5)


def _fields(pdf: FPDF, f: Fields) -> None:
    """Two label–value pairs to a line, labels shaded."""
    if f.caption:
        _caption(pdf, f.caption)
    pdf.set_line_width(0.2)
    label = FontFace(family=FONT, emphasis="", fill_color=(245, 245, 245))
    with pdf.table(col_widths=(2.5, 4.5, 2.5, 4.5), first_row_as_headings=False, line_height=LINE,
                   wrapmode=WrapMode.CHAR, padding=(0.8, 1.5), text_align="LEFT",
                   cell_fill_mode=TableCellFillMode.NONE) as table:
        items = list(f.items)
        for i in range(0, len(items), 2):
            row = table.row()
            for name, value in items[i:i + 2]:
                row.cell(name, style=label)
                row.cell(value)
            if len(items[i:i + 2]) == 1:
                row.cell("", colspan=2)
    pdf.ln(1.5)


def _signatures(pdf: FPDF, s: Signatures) -> None:
    """Side by side: a label, a line to sign on, a date line."""
    if pdf.will_page_break(30):
        pdf.add_page()
    pdf.ln(4)
    width = (pdf.epw - 8) / max(len(s.lines), 2)
    top, left = pdf.get_y(), pdf.l_margin
    for i, label in enumerate(s.lines):
        x = left + i * (width + 8)
        pdf.set_xy(x, top)
        pdf.multi_cell(width, LINE, label + "：", wrapmode=WrapMode.CHAR, align=Align.L)
        y = top + 2 * LINE + 4
        pdf.line(x, y, x + width, y)
        pdf.set_xy(x, y + 2)
        pdf.cell(width, LINE, "日期：　　　　年　　月　　日")
    pdf.set_xy(left, top + 2 * LINE + 4 + 2 + LINE + 2)
