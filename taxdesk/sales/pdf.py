"""The 《发票税控系统用户使用申请表》 (user application form, INS-05) as an A4 PDF in Chinese."""

from __future__ import annotations

from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, Spacer, Table, TableStyle

from taxdesk.core.pdf import FONT, a4_pdf, paragraph

TITLE = ParagraphStyle("title", fontName=FONT, fontSize=16, leading=22, alignment=1)
BODY = ParagraphStyle("body", fontName=FONT, fontSize=10.5, leading=15)
SMALL = ParagraphStyle("small", fontName=FONT, fontSize=9, leading=13)


def _p(text, style=BODY) -> Paragraph:
    return paragraph(text, style)


def application_form_pdf(sale, application: dict | None = None) -> bytes:
    """Render the application form of a sale from the snapshot taken when it was made.

    ``application`` is that snapshot as the reader may see it (phone numbers masked for the
    roles without need, ``core.privacy.personal_for``); by default, the snapshot itself.
    """
    data = sale.application if application is None else application
    taxpayer = data.get("taxpayer", {})
    unit = data.get("service_unit", {})
    contacts = "；".join(
        f"{c['name']}（{c['role']}）{c.get('mobile') or ''} {c.get('landline') or ''}".strip()
        for c in taxpayer.get("contacts", [])
    )
    rows = [
        [
            _p("纳税人名称"),
            _p(taxpayer.get("name")),
            _p("纳税人识别号"),
            _p(taxpayer.get("number")),
        ],
        [_p("地址"), _p(taxpayer.get("address")), _p("所属区县"), _p(taxpayer.get("district"))],
        [
            _p("主管税务机关"),
            _p(taxpayer.get("tax_office")),
            _p("纳税人类型"),
            _p(taxpayer.get("taxpayer_type")),
        ],
        [_p("联系人及电话"), _p(contacts), "", ""],
        [_p("申请日期"), _p(data.get("date")), _p("申请单号"), _p(sale.number)],
    ]
    info = Table(rows, colWidths=[28 * mm, 58 * mm, 28 * mm, 60 * mm])
    info.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.6, colors.black),
                ("SPAN", (1, 3), (3, 3)),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("BACKGROUND", (0, 0), (0, -1), colors.whitesmoke),
                ("BACKGROUND", (2, 0), (2, -1), colors.whitesmoke),
            ]
        )
    )
    device_rows = [[_p("序号"), _p("设备类型"), _p("设备编号"), _p("单价（元）")]]
    prices = {line.device.serial: line for line in sale.lines.select_related("device")}
    for index, device in enumerate(data.get("devices", []), start=1):
        line = prices.get(device["serial"])
        price = ""
        if line is not None:
            price = f"{line.price}" + (f"（{line.price_note}）" if line.price_note else "")
        device_rows.append([_p(index), _p(device["type"]), _p(device["serial"]), _p(price)])
    devices = Table(device_rows, colWidths=[14 * mm, 50 * mm, 56 * mm, 54 * mm])
    devices.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.6, colors.black),
                ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
            ]
        )
    )

    def signature_block(title: str) -> list:
        return [_p(title), Spacer(1, 16 * mm), _p("经办人："), _p("日期：　　年　　月　　日")]

    signatures = Table(
        [
            [
                signature_block("申请单位（盖章）："),
                signature_block(f"服务单位（盖章）：{unit.get('name', '')}"),
            ]
        ],
        colWidths=[87 * mm, 87 * mm],
    )
    signatures.setStyle(
        TableStyle(
            [("GRID", (0, 0), (-1, -1), 0.6, colors.black), ("VALIGN", (0, 0), (-1, -1), "TOP")]
        )
    )
    story = [
        _p("发票税控系统用户使用申请表", TITLE),
        Spacer(1, 6 * mm),
        info,
        Spacer(1, 5 * mm),
        _p("申请使用的税控专用设备"),
        Spacer(1, 2 * mm),
        devices,
        Spacer(1, 5 * mm),
        _p(
            "本单位申请使用发票税控系统，承诺按规定使用税控专用设备、按时抄报税，"
            "并同意服务单位按经批准的收费标准提供技术服务。",
            SMALL,
        ),
        Spacer(1, 5 * mm),
        signatures,
        Spacer(1, 4 * mm),
        _p(
            f"服务单位：{unit.get('name', '')}　地址：{unit.get('address', '')}　"
            f"服务热线：{unit.get('hotline', '')}",
            SMALL,
        ),
    ]
    return a4_pdf(
        story,
        side_mm=18,
        top_mm=18,
        title="发票税控系统用户使用申请表",
        author=unit.get("name", ""),
    )
