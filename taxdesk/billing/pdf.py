"""The 《发票税控系统技术服务合同》 (technical service contract, INS-07) as an A4 PDF in Chinese.

The text is the contract itself, so it is written in Chinese here rather than translated; the
commitments are those of the service specification (MNT-03, MNT-04, REV-01, MNT-13, REP-04,
TRN-01, MNT-09).
"""

from __future__ import annotations

from datetime import date

from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    KeepTogether,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from taxdesk.core.pdf import FONT, a4_pdf, paragraph

from .capitals import rmb_capitals
from .choices import ContractState

TITLE = ParagraphStyle("title", fontName=FONT, fontSize=18, leading=24, alignment=1)
NUMBER = ParagraphStyle("number", fontName=FONT, fontSize=10, leading=14, alignment=2)
HEADING = ParagraphStyle(
    "heading", fontName=FONT, fontSize=11, leading=16, spaceBefore=4, spaceAfter=1
)
BODY = ParagraphStyle("body", fontName=FONT, fontSize=10, leading=15, wordWrap="CJK")
CLAUSE = ParagraphStyle("clause", parent=BODY, leftIndent=7 * mm, firstLineIndent=0)
NOTE = ParagraphStyle("note", parent=BODY, textColor=colors.darkred)

WARRANTY_YEARS = 3  # 财税〔2012〕15号


def _p(text, style=BODY) -> Paragraph:
    return paragraph(text, style)


def _day(value: date | None) -> str:
    if value is None:
        return "　　　　年　　月　　日"
    return f"{value.year}年{value.month}月{value.day}日"


def _yuan(amount) -> str:
    return f"{amount:,.2f}"


def commitments(unit) -> list[str]:
    """The service unit's commitments, drawn from the service specification."""
    hotline = unit.hotline or "＿＿＿＿＿＿"
    return [
        f"乙方设立服务热线 {hotline}，在工作时间受理甲方的咨询、报修和投诉，"
        "能通过电话指导解决的问题即时指导解决。",
        "需要上门服务的，乙方技术服务人员在接到派工单后 1 小时内与甲方联系，约定上门时间，"
        "并按约定时间准时到达。",
        "上门维护服务自派工起 1 个工作日内排除故障；当场不能解决的，向甲方说明原因，"
        "承诺修复时间并按时返回。",
        "乙方每年至少对甲方上门回访一次，了解系统使用情况，听取意见和建议。",
        f"税控专用设备自销售之日起 {WARRANTY_YEARS} 年内因质量问题出现故障的，乙方免费维修或更换；"
        "因人为因素造成损坏的，按批准的收费标准收费。",
        "保修期外的上门服务和维修，按经服务监督单位和税务机关批准的收费标准收费，"
        "收费前告知甲方，并开具正式发票。",
        "乙方为甲方新办税控系统的人员免费提供培训；服务中注意保护甲方数据，"
        "操作前说明可能的影响并协助甲方备份。",
    ]


def contract_pdf(contract) -> bytes:
    """Render a contract (draft, signed or refused) from its record."""
    unit = contract.service_unit
    taxpayer = contract.taxpayer
    story = [
        _p("发票税控系统技术服务合同", TITLE),
        Spacer(1, 2 * mm),
        _p(f"合同编号：{contract.number}", NUMBER),
        Spacer(1, 3 * mm),
    ]
    parties = [
        [_p("甲方（用户）"), _p(taxpayer.name), _p("纳税人识别号"), _p(taxpayer.number)],
        [_p("地址"), _p(taxpayer.address), "", ""],
        [_p("乙方（服务单位）"), _p(unit.name), _p("服务热线"), _p(unit.hotline)],
        [_p("地址"), _p(unit.address), "", ""],
    ]
    table = Table(parties, colWidths=[30 * mm, 70 * mm, 28 * mm, 42 * mm])
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.6, colors.black),
                ("SPAN", (1, 1), (3, 1)),
                ("SPAN", (1, 3), (3, 3)),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("BACKGROUND", (0, 0), (0, -1), colors.whitesmoke),
                ("BACKGROUND", (2, 0), (2, 0), colors.whitesmoke),
                ("BACKGROUND", (2, 2), (2, 2), colors.whitesmoke),
            ]
        )
    )
    story += [
        table,
        Spacer(1, 4 * mm),
        _p(
            "为保障甲方发票税控系统的正常使用，甲乙双方根据国家有关规定，"
            "经协商一致，订立本合同，共同遵守。"
        ),
        _p("一、服务期限", HEADING),
        _p(
            f"自 {_day(contract.starts_on)} 起至 {_day(contract.ends_on)} 止。期满前双方可续签。",
            CLAUSE,
        ),
        _p("二、技术服务费", HEADING),
        _p(
            f"技术维护费每年人民币 {_yuan(contract.annual_fee)} 元"
            f"（大写：{rmb_capitals(contract.annual_fee)}），"
            "按经服务监督单位和税务机关批准的收费标准收取，不超过标准。"
            "乙方收费后向甲方开具正式发票，该费用可按规定在增值税应纳税额中全额抵减。",
            CLAUSE,
        ),
        _p("三、乙方的服务承诺", HEADING),
    ]
    story += [
        _p(f"{index}. {text}", CLAUSE) for index, text in enumerate(commitments(unit), start=1)
    ]
    story += [
        _p("四、甲方的责任", HEADING),
        _p("1. 按本合同约定支付技术服务费。", CLAUSE),
        _p("2. 正确使用和妥善保管税控专用设备，发生故障及时通过服务热线报修。", CLAUSE),
        _p("3. 为乙方上门服务提供必要的工作条件，并对服务进行验收和评价。", CLAUSE),
        _p("五、其他", HEADING),
        _p(
            "甲方对乙方的服务不满意的，可以向服务监督单位或主管税务机关投诉。"
            "本合同一式两份，甲乙双方各执一份，自双方签字（盖章）之日起生效。",
            CLAUSE,
        ),
    ]
    if contract.state == ContractState.REFUSED:
        story += [
            Spacer(1, 3 * mm),
            _p(
                f"记录：甲方于 {_day(contract.refused_on)} 拒绝签订本合同"
                f"（{contract.refusal_note}）。",
                NOTE,
            ),
        ]
    signed_on = contract.signed_on if contract.state == ContractState.SIGNED else None
    signatures = Table(
        [
            [_p("甲方（盖章）："), _p("乙方（盖章）：")],
            [_p("代表签字："), _p("代表签字：")],
            [_p(f"日期：{_day(signed_on)}"), _p(f"日期：{_day(signed_on)}")],
        ],
        colWidths=[85 * mm, 85 * mm],
        rowHeights=[14 * mm, 10 * mm, 9 * mm],
    )
    signatures.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "BOTTOM")]))
    story += [Spacer(1, 4 * mm), KeepTogether([signatures])]
    return a4_pdf(
        story,
        side_mm=20,
        top_mm=15,
        title=f"发票税控系统技术服务合同 {contract.number}",
        author=unit.name,
        subject=taxpayer.name,
    )


def contract_filename(contract) -> str:
    return f"contract-{contract.number}.pdf"
