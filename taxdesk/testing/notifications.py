"""Messages in the cast's world (taxdesk/testing/cast.py), for the tests of the messages and
of the apps that send them, with the answer key of what each member of the cast sees.

    unit A: a_sms (SMS to pa1's contact, sent), a_mail (e-mail, failed: the address bounced)
    unit B: b_sms (SMS, sent)
    unit C: c_sms (SMS, waiting to retry)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from taxdesk.notifications.actions import deliver, send_message
from taxdesk.notifications.backends import Outcome

MESSAGE_KEYS = ("a_sms", "a_mail", "b_sms", "c_sms")
UNIT_A_STAFF = ("admin_a", "dispatcher_a", "technician_a", "trainer_a", "sales_a", "repair_a")

# Who may open the message log (the list page and the API list), and the rows it shows.
EXPECTED_LOG = {
    "root": set(MESSAGE_KEYS),
    "admin_a": {"a_sms", "a_mail"},
    "dispatcher_a": {"a_sms", "a_mail"},
    "admin_b": {"b_sms"},
    "supervisor_x": {"a_sms", "a_mail", "b_sms"},
    "supervisor_y": {"c_sms"},
}
# Every message a member of the cast may open (a record's page links its messages).
EXPECTED_VIEW = {
    "root": set(MESSAGE_KEYS),
    **{name: {"a_sms", "a_mail"} for name in UNIT_A_STAFF},
    "admin_b": {"b_sms"},
    "technician_b": {"b_sms"},
    "supervisor_x": {"a_sms", "a_mail", "b_sms"},
    "supervisor_y": {"c_sms"},
    "tax_a": set(),
    "taxpayer_pa1": set(),
}
# Who may send free text and resend a failed message, by unit.
SENDERS = {"root": {"a", "b", "c"}, "admin_a": {"a"}, "dispatcher_a": {"a"}, "admin_b": {"b"}}
# Who rewrites a unit's templates.
TEMPLATE_EDITORS = {"root": {"a", "b", "c"}, "admin_a": {"a"}, "admin_b": {"b"}}
CAST = sorted(EXPECTED_VIEW)


class Bounced:
    name = "django"

    def send(self, message):
        return Outcome(ok=False, retryable=False, error="refused: 550 No such user")


class Busy:
    name = "http"

    def send(self, message):
        return Outcome(ok=False, retryable=True, status_code=503, response="busy", error="HTTP 503")


@dataclass
class MessageWorld:
    cast: object
    messages: dict = field(default_factory=dict)

    def __getattr__(self, name):
        messages = self.__dict__.get("messages", {})
        if name in messages:
            return messages[name]
        raise AttributeError(name)

    def key_of(self, pk) -> str:
        return next((k for k, m in self.messages.items() if m.pk == pk), f"?{pk}")


def build_messages(cast) -> MessageWorld:
    world = MessageWorld(cast)

    def sms(unit, taxpayer, by, to, backend=None):
        message = send_message(
            service_unit=unit,
            channel="sms",
            to=to,
            by=by,
            body=f"{taxpayer.name}您好，明天上午上门服务。",
            taxpayer=taxpayer,
            recipient_name="张三",
            related=taxpayer,
        )
        deliver(message.pk, backend=backend)
        message.refresh_from_db()
        return message

    world.messages["a_sms"] = sms(cast.unit_a, cast.pa1, cast.dispatcher_a, "13812345678")
    mail = send_message(
        service_unit=cast.unit_a,
        channel="email",
        to="boss@pa2.example",
        by=cast.admin_a,
        subject="合同续签提醒",
        body="请于月底前续签技术服务合同。",
        taxpayer=cast.pa2,
    )
    deliver(mail.pk, backend=Bounced())
    mail.refresh_from_db()
    world.messages["a_mail"] = mail
    world.messages["b_sms"] = sms(cast.unit_b, cast.pb1, cast.technician_b, "13900000001")
    world.messages["c_sms"] = sms(cast.unit_c, cast.pc1, cast.root, "13700000002", Busy())
    return world
