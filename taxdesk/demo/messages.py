"""A few messages in each demo unit's log (taxdesk.notifications): SMS reminders and notices
sent, and one e-mail the mail server refused. Nothing leaves the machine: they are delivered
through the stored backend (and a refusing stand-in), whatever the settings say."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from taxdesk.core.choices import Role
from taxdesk.notifications.actions import deliver, send_message
from taxdesk.notifications.backends import Outcome, StoredBackend


class _Refused:
    """The demo's mail server refusing an address."""

    name = "django"

    def send(self, message) -> Outcome:
        return Outcome(
            ok=False, retryable=False, error="refused: 550 5.1.1 mailbox unavailable (演示)"
        )


def add_messages(units, showcase: dict) -> int:
    """Four messages per unit, about its showcase taxpayer; returns how many."""
    made = 0
    tomorrow = timezone.localtime().replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
    for unit in units:
        staff = {user.role: user for user in unit.staff.all()}
        taxpayer = showcase[unit.code]
        contact = taxpayer.contacts.exclude(mobile="").order_by("pk").first()
        if contact is None:
            continue
        common = dict(
            service_unit=unit,
            channel="sms",
            to=contact.mobile,
            taxpayer=taxpayer,
            recipient_name=contact.name,
            related=taxpayer,
        )
        technician = staff[Role.TECHNICIAN]
        sent = [
            send_message(
                **common,
                by=staff[Role.DISPATCHER],
                template="dispatch.contact",
                context={
                    "taxpayer": taxpayer.name,
                    "order": f"{unit.code}-演示-0001",
                    "technician": technician.full_name,
                    "technician_phone": "13800000000",
                },
            ),
            send_message(
                **common,
                by=staff[Role.DISPATCHER],
                template="visit.reminder",
                context={
                    "taxpayer": taxpayer.name,
                    "technician": technician.full_name,
                    "time": tomorrow.replace(hour=10),
                    "address": taxpayer.address,
                },
            ),
            send_message(
                **common,
                by=staff[Role.TRAINER],
                template="training.notice",
                context={
                    "trainee": contact.name,
                    "taxpayer": taxpayer.name,
                    "course": "增值税发票税控开票软件操作",
                    "time": tomorrow.replace(hour=9) + timedelta(days=6),
                    "place": f"{unit.address}培训教室",
                },
            ),
        ]
        for message in sent:
            deliver(message.pk, backend=StoredBackend())
        bounced = send_message(
            service_unit=unit,
            channel="email",
            to=f"caiwu{taxpayer.pk}@demo.example",
            by=staff[Role.UNIT_ADMIN],
            subject="技术服务合同续签提醒",
            body=f"{taxpayer.name}：贵单位的技术服务合同即将到期，请及时续签。",
            taxpayer=taxpayer,
            recipient_name="财务负责人",
        )
        deliver(bounced.pk, backend=_Refused())
        made += len(sent) + 1
    return made
