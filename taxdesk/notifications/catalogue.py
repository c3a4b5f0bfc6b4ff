"""The kinds of message the apps send, each with its variables and its default text.

A service unit may rewrite the text of each kind (``MessageTemplate``); the default here is
what it says until then, and again after "restore the default". The service apps send by
key: ``send_message(template="visit.no_show", context={...})``. An app above may add a kind
of its own with :func:`register_kind` from its ``AppConfig.ready()``.

Every kind knows the variables its text may use, with a label for the edit page and a
sample value for the preview; ``unit`` and ``hotline`` (the service unit's name and hotline)
are filled in by the gateway and open to every kind.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Variable:
    name: str
    label: str | Promise
    sample: str


# Filled in by the gateway from the service unit, usable by every kind.
COMMON_VARIABLES = (
    Variable("unit", _("Service unit"), "杭州示范税控服务有限公司"),
    Variable("hotline", _("Service hotline"), "400-000-0001"),
)


@dataclass(frozen=True)
class TemplateKind:
    key: str
    name: str | Promise
    # The rule the message serves, if any (shown on the template page).
    rule: str
    subject: str
    body: str
    variables: tuple[Variable, ...] = field(default_factory=tuple)

    @property
    def all_variables(self) -> tuple[Variable, ...]:
        return (*self.variables, *COMMON_VARIABLES)

    @property
    def variable_names(self) -> frozenset[str]:
        return frozenset(v.name for v in self.all_variables)

    def samples(self) -> dict[str, str]:
        return {v.name: v.sample for v in self.all_variables}


_KINDS: dict[str, TemplateKind] = {}


def register_kind(kind: TemplateKind) -> None:
    """Add a kind of message (an app's ``ready()``); a key is registered once."""
    existing = _KINDS.get(kind.key)
    if existing is not None and existing != kind:
        raise ValueError(f"message kind {kind.key!r} is registered already")
    _KINDS[kind.key] = kind


def kinds() -> list[TemplateKind]:
    return sorted(_KINDS.values(), key=lambda kind: kind.key)


def get_kind(key: str) -> TemplateKind | None:
    return _KINDS.get(key)


def kind_keys() -> list[str]:
    return sorted(_KINDS)


_TAXPAYER = Variable("taxpayer", _("Taxpayer"), "杭州测试科技有限公司")
_TECHNICIAN = Variable("technician", _("Technician"), "李工")
_ADDRESS = Variable("address", _("Address"), "杭州市西湖区文三路 1 号")

SHIPPED = (
    TemplateKind(
        key="dispatch.contact",
        name=_("Dispatch: the technician will call"),
        rule="MNT-04",
        subject="上门服务派工通知",
        body=(
            "{{ taxpayer }}您好，您的服务请求（单号{{ order }}）已派工，技术服务人员"
            "{{ technician }}（电话{{ technician_phone }}）将尽快与您联系约定上门时间。"
            "服务热线{{ hotline }}。"
        ),
        variables=(
            _TAXPAYER,
            Variable("order", _("Order number"), "PG001-20251009-0001"),
            _TECHNICIAN,
            Variable("technician_phone", _("Technician's phone"), "13800000000"),
        ),
    ),
    TemplateKind(
        key="visit.reminder",
        name=_("Visit reminder"),
        rule="MNT-06",
        subject="上门服务提醒",
        body=(
            "{{ taxpayer }}您好，技术服务人员{{ technician }}将于{{ time }}到{{ address }}"
            "上门服务。如需改约，请致电{{ hotline }}。"
        ),
        variables=(
            _TAXPAYER,
            _TECHNICIAN,
            Variable("time", _("Appointment time"), "2025-10-09 14:00"),
            _ADDRESS,
        ),
    ),
    TemplateKind(
        key="visit.no_show",
        name=_("Missed appointment: arrival and leaving times"),
        rule="MNT-07",
        subject="上门服务未遇通知",
        body=(
            "{{ taxpayer }}您好，技术服务人员{{ technician }}于{{ arrived_at }}按约到达"
            "{{ address }}，未能联系到您，已等候至{{ left_at }}离开。如需再次上门，请致电"
            "{{ hotline }}。"
        ),
        variables=(
            _TAXPAYER,
            _TECHNICIAN,
            Variable("arrived_at", _("Arrived at"), "2025-10-09 14:02"),
            Variable("left_at", _("Left at"), "2025-10-09 14:20"),
            _ADDRESS,
        ),
    ),
    TemplateKind(
        key="training.notice",
        name=_("Training notice: time and place"),
        rule="TRN-17",
        subject="税控系统培训通知",
        body=(
            "{{ trainee }}您好，{{ taxpayer }}报名的“{{ course }}”将于{{ time }}在{{ place }}"
            "举行，请准时参加并带好税控设备。咨询电话{{ hotline }}。"
        ),
        variables=(
            Variable("trainee", _("Trainee"), "王芳"),
            _TAXPAYER,
            Variable("course", _("Course"), "增值税发票税控开票软件操作"),
            Variable("time", _("Class time"), "2025-10-15 09:00"),
            Variable("place", _("Place"), "文三路 1 号三楼培训教室"),
        ),
    ),
    TemplateKind(
        key="revisit.notice",
        name=_("Revisit notice"),
        rule="REV-03",
        subject="上门回访通知",
        body=(
            "{{ taxpayer }}您好，为了解税控系统的使用情况，技术服务人员{{ technician }}将于"
            "{{ time }}上门回访，请予以配合。如需改约，请致电{{ hotline }}。"
        ),
        variables=(
            _TAXPAYER,
            _TECHNICIAN,
            Variable("time", _("Visit time"), "2025-11-03 10:00"),
        ),
    ),
    TemplateKind(
        key="clock.reminder",
        name=_("Deadline reminder (to staff)"),
        rule="",
        subject="时限提醒：{{ rule }} {{ record }}",
        body=("{{ staff }}您好，{{ rule }}时限（{{ record }}）将于{{ due }}到期，请及时处理。"),
        variables=(
            Variable("staff", _("Staff member"), "张敏"),
            Variable("rule", _("Rule"), "MNT-03"),
            Variable("record", _("Record"), "PG001-20251009-0001"),
            Variable("due", _("Due"), "2025-10-09 16:00"),
        ),
    ),
)

for _kind in SHIPPED:
    register_kind(_kind)
