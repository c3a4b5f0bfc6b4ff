"""The text of a message: Django's ``{{ variable }}`` syntax, plain variables only.

A template is checked when it is saved (an unknown variable, a tag, a filter or a stray brace
is refused then, never at send time) and rendered by substitution: no tags, no filters, no
attribute lookups, no escaping — an SMS and a plain-text e-mail are not HTML. Values are
written as people read them: an aware time in Asia/Shanghai as ``2025-10-09 14:00``, a date
as ``2025-10-09``.
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Iterable, Mapping

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

_VARIABLE = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

TEXT, VAR = "text", "var"
Parts = list[tuple[str, str]]


def parse(text: str) -> Parts:
    """The text as literal parts and variable names; ValidationError if it is not plain."""
    if "{%" in text or "%}" in text or "{#" in text or "#}" in text:
        raise ValidationError(
            _("Only variables like {{ taxpayer }} may be used; tags {% … %} and comments are not."),
            code="template_tag",
        )
    parts: Parts = []
    position = 0
    for match in _VARIABLE.finditer(text):
        parts.append((TEXT, text[position : match.start()]))
        name = match.group(1).strip()
        if not _NAME.fullmatch(name):
            raise ValidationError(
                _("“%(text)s” is not a variable: write a name alone, like {{ taxpayer }}.")
                % {"text": match.group(0)},
                code="bad_variable",
            )
        parts.append((VAR, name))
        position = match.end()
    parts.append((TEXT, text[position:]))
    for kind, value in parts:
        if kind == TEXT and ("{{" in value or "}}" in value):
            raise ValidationError(
                _("A variable is not closed: every {{ needs its }}."), code="unbalanced"
            )
    return [(kind, value) for kind, value in parts if kind == VAR or value]


def variables_in(parts: Parts) -> list[str]:
    """The variable names of parsed text, each once, in order."""
    return list(dict.fromkeys(value for kind, value in parts if kind == VAR))


def check(text: str, allowed: Iterable[str]) -> Parts:
    """Parse ``text`` and refuse any variable not in ``allowed``."""
    parts = parse(text)
    allowed = set(allowed)
    unknown = [name for name in variables_in(parts) if name not in allowed]
    if unknown:
        raise ValidationError(
            _("Unknown variables: %(unknown)s. This message may use: %(allowed)s.")
            % {
                "unknown": "、".join(unknown),
                "allowed": "、".join(sorted(allowed)) or _("no variable"),
            },
            code="unknown_variable",
        )
    return parts


def display(value) -> str:
    """A value as a message shows it."""
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def render(parts: Parts, context: Mapping[str, object]) -> str:
    """Substitute the variables; one missing from ``context`` is an error (a caller's bug)."""
    missing = [name for name in variables_in(parts) if name not in context]
    if missing:
        raise ValidationError(
            _("Values missing for: %(names)s.") % {"names": "、".join(missing)},
            code="missing_variable",
        )
    return "".join(value if kind == TEXT else display(context[value]) for kind, value in parts)


def render_text(text: str, context: Mapping[str, object]) -> str:
    return render(parse(text), context)


def sms_parts(text: str) -> int:
    """How many SMS a text takes (UCS-2: 70 characters alone, 67 per part when split)."""
    if not text:
        return 0
    return 1 if len(text) <= 70 else math.ceil(len(text) / 67)
