"""Device types, serial formats, the declared lifecycle and repair causes."""

import re

from django.db import models
from django.utils.translation import gettext_lazy as _


class DeviceType(models.TextChoices):
    GOLDEN_TAX_DISK = "golden_tax_disk", _("Golden tax disk")  # 金税盘 (Aisino)
    TAX_CONTROL_DISK = "tax_control_disk", _("Tax-control disk")  # 税控盘 (Baiwang)
    REPORTING_DISK = "reporting_disk", _("Reporting disk")  # 报税盘, paired with a main disk
    UKEY = "ukey", _("Tax UKey")  # 税务UKey, free since 2020


# Main disks a reporting disk pairs with.
MAIN_DISKS = frozenset({DeviceType.GOLDEN_TAX_DISK, DeviceType.TAX_CONTROL_DISK})

# Serial number formats per type, with a human description for the error message. Matched
# whole (``fullmatch``) and with ASCII classes: ``\d`` would take full-width and other
# Unicode digits, and ``$`` would let a trailing newline through.
SERIAL_FORMATS: dict[str, tuple[re.Pattern, str]] = {
    DeviceType.GOLDEN_TAX_DISK: (re.compile(r"[0-9]{12}"), _("12 digits")),
    DeviceType.TAX_CONTROL_DISK: (re.compile(r"[0-9]{12}"), _("12 digits")),
    DeviceType.REPORTING_DISK: (re.compile(r"[0-9]{12}"), _("12 digits")),
    DeviceType.UKEY: (re.compile(r"[0-9A-Z]{12,20}"), _("12 to 20 digits or capital letters")),
}


class DeviceStatus(models.TextChoices):
    IN_STOCK = "in_stock", _("In stock")
    SOLD = "sold", _("Sold")
    ISSUED = "issued", _("Issued at the tax office")  # 发行
    IN_USE = "in_use", _("In use")
    UNDER_REPAIR = "under_repair", _("Under repair")
    REPLACED = "replaced", _("Replaced")
    RETURNED = "returned", _("Returned")
    CANCELLED = "cancelled", _("Cancelled")  # 注销
    MIGRATED = "migrated", _("Migrated to UKey or 数电")


# The declared moves; an action refuses any other (django-oscar's pipeline in spirit).
TRANSITIONS: dict[str, frozenset[str]] = {
    DeviceStatus.IN_STOCK: frozenset({DeviceStatus.SOLD, DeviceStatus.RETURNED}),
    DeviceStatus.SOLD: frozenset(
        {DeviceStatus.ISSUED, DeviceStatus.RETURNED, DeviceStatus.CANCELLED}
    ),
    DeviceStatus.ISSUED: frozenset(
        {DeviceStatus.IN_USE, DeviceStatus.RETURNED, DeviceStatus.CANCELLED}
    ),
    DeviceStatus.IN_USE: frozenset(
        {
            DeviceStatus.UNDER_REPAIR,
            DeviceStatus.REPLACED,
            DeviceStatus.CANCELLED,
            DeviceStatus.MIGRATED,
        }
    ),
    DeviceStatus.UNDER_REPAIR: frozenset(
        {DeviceStatus.IN_USE, DeviceStatus.REPLACED, DeviceStatus.CANCELLED}
    ),
    DeviceStatus.REPLACED: frozenset(),
    DeviceStatus.RETURNED: frozenset(),
    DeviceStatus.CANCELLED: frozenset(),
    DeviceStatus.MIGRATED: frozenset(),
}

# States in which a device is with a taxpayer.
HELD_STATUSES = frozenset(
    {DeviceStatus.SOLD, DeviceStatus.ISSUED, DeviceStatus.IN_USE, DeviceStatus.UNDER_REPAIR}
)

# End states: no move leaves them. A device that reaches one keeps its taxpayer (the history
# says whose it was) but leaves any pairing, so the partner can pair again.
FINAL_STATUSES = frozenset(s for s, onward in TRANSITIONS.items() if not onward)

# Moves made only by another action, never by the plain move form or API: a device is sold
# through a sale (prices, the application form, the INS-06 clock).
MOVES_BY_OTHER_ACTIONS = frozenset({DeviceStatus.SOLD})


class RepairCause(models.TextChoices):
    QUALITY = "quality", _("Quality defect")
    HUMAN = "human", _("Damage caused by people")  # 人为因素
