"""The columns of the import templates and the words a cell may use for a choice.

The templates are Chinese forms, like the named printable forms: their headers are the file
format that the importer reads back, so they are fixed Chinese text (not translated with the
page language). Row messages, which people read on the page, are translated.
"""

from __future__ import annotations

from dataclasses import dataclass

from taxdesk.customers.choices import ContactRole, InvoiceType, TaxpayerType
from taxdesk.devices.choices import DeviceType

from .choices import JobKind


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    required: bool = False
    width: int = 16
    # Words offered as a drop-down list in the template (data validation).
    choices: tuple[str, ...] = ()
    # A text column keeps leading zeros and long numbers as typed (Excel's "@" format).
    text: bool = False
    date: bool = False
    note: str = ""
    example: str = ""


TAXPAYER_TYPE_WORDS = {"一般纳税人": TaxpayerType.GENERAL, "小规模纳税人": TaxpayerType.SMALL}
INVOICE_TYPE_WORDS = {
    "增值税专用发票": InvoiceType.SPECIAL,
    "专用发票": InvoiceType.SPECIAL,
    "专票": InvoiceType.SPECIAL,
    "增值税普通发票": InvoiceType.ORDINARY,
    "普通发票": InvoiceType.ORDINARY,
    "普票": InvoiceType.ORDINARY,
    "电子发票": InvoiceType.ELECTRONIC,
    "增值税电子普通发票": InvoiceType.ELECTRONIC,
    "数电票": InvoiceType.DIGITAL,
    "数电发票": InvoiceType.DIGITAL,
    "全电发票": InvoiceType.DIGITAL,
}
CONTACT_ROLE_WORDS = {
    "法定代表人": ContactRole.LEGAL,
    "法人": ContactRole.LEGAL,
    "财务负责人": ContactRole.FINANCE,
    "办税员": ContactRole.CLERK,
    "其他": ContactRole.OTHER,
}
DEVICE_TYPE_WORDS = {
    "金税盘": DeviceType.GOLDEN_TAX_DISK,
    "税控盘": DeviceType.TAX_CONTROL_DISK,
    "报税盘": DeviceType.REPORTING_DISK,
    "税务UKey": DeviceType.UKEY,
    "税务ukey": DeviceType.UKEY,
    "UKey": DeviceType.UKEY,
}

# The canonical word of each value, to write back (exports, the template's example row).
TAXPAYER_TYPE_NAMES = {TaxpayerType.GENERAL: "一般纳税人", TaxpayerType.SMALL: "小规模纳税人"}
DEVICE_TYPE_NAMES = {
    DeviceType.GOLDEN_TAX_DISK: "金税盘",
    DeviceType.TAX_CONTROL_DISK: "税控盘",
    DeviceType.REPORTING_DISK: "报税盘",
    DeviceType.UKEY: "税务UKey",
}

TAXPAYER_COLUMNS: tuple[Column, ...] = (
    Column(
        "number",
        "纳税人识别号",
        required=True,
        width=24,
        text=True,
        note="统一社会信用代码（18位，含校验码）或旧纳税人识别号（15、17、20位）。"
        "已登记的识别号将更新原记录，不会重复登记。",
        example="91330106MA2CFX4Y8J",
    ),
    Column("name", "纳税人名称", required=True, width=30, example="杭州示例科技有限公司"),
    Column("address", "地址", width=36, example="杭州市西湖区文三路 100 号"),
    Column("district", "所属区县", width=12, example="西湖区"),
    Column(
        "tax_office",
        "主管税务机关",
        width=24,
        note="填写税务机关名称或代码，须为本服务单位服务的税务机关。",
        example="",
    ),
    Column(
        "taxpayer_type",
        "纳税人类型",
        width=14,
        choices=tuple(TAXPAYER_TYPE_NAMES.values()),
        example="一般纳税人",
    ),
    Column(
        "approved_on",
        "认定日期",
        width=12,
        date=True,
        note="日期，例如 2025-09-26。",
        example="2025-09-26",
    ),
    Column(
        "invoice_types",
        "发票种类",
        width=30,
        note="可填多个，用顿号（、）分隔：增值税专用发票、增值税普通发票、电子发票、数电票。",
        example="增值税专用发票、增值税普通发票",
    ),
    Column("office_hours", "办公时间", width=18, example="周一至周五 9:00-17:00"),
    Column("contact_name", "联系人", width=12, example="张三"),
    Column(
        "contact_role",
        "联系人类型",
        width=12,
        choices=("法定代表人", "财务负责人", "办税员", "其他"),
        note="留空为“办税员”。",
        example="办税员",
    ),
    Column(
        "contact_mobile",
        "联系人手机",
        width=14,
        text=True,
        note="11 位手机号码。",
        example="13800138000",
    ),
    Column(
        "contact_landline",
        "联系电话",
        width=16,
        text=True,
        note="固定电话，带区号，例如 0571-87654321。",
        example="0571-87654321",
    ),
)

DEVICE_COLUMNS: tuple[Column, ...] = (
    Column(
        "device_type",
        "设备类型",
        required=True,
        width=12,
        choices=tuple(DEVICE_TYPE_NAMES.values()),
        example="金税盘",
    ),
    Column(
        "serial",
        "设备编号",
        required=True,
        width=22,
        text=True,
        note="金税盘、税控盘、报税盘为 12 位数字；税务UKey 为 12 至 20 位数字或大写字母。"
        "已登记的编号将更新原记录，不会重复登记。",
        example="661234567890",
    ),
    Column(
        "delivery_note",
        "出库单号",
        required=True,
        width=18,
        text=True,
        note="供应商出库单的编号；同一出库单的设备入库日期和供应商须一致。",
        example="CK20250926001",
    ),
    Column(
        "received_on",
        "入库日期",
        required=True,
        width=12,
        date=True,
        note="日期，例如 2025-09-26。",
        example="2025-09-26",
    ),
    Column("supplier", "供应商", width=24, example="航天信息股份有限公司"),
)

COLUMNS: dict[str, tuple[Column, ...]] = {
    JobKind.TAXPAYERS: TAXPAYER_COLUMNS,
    JobKind.DEVICES: DEVICE_COLUMNS,
}
# The data sheet's name in the template (the importer reads it, or else the first sheet).
SHEET_NAMES = {JobKind.TAXPAYERS: "纳税人", JobKind.DEVICES: "设备"}
