"""Amounts in Chinese capital numerals (大写金额), as printed on contracts and invoices.

330 → 叁佰叁拾元整, 1005 → 壹仟零伍元整, 100100 → 壹拾万零壹佰元整, 330.05 → 叁佰叁拾元零伍分.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

DIGITS = "零壹贰叁肆伍陆柒捌玖"
PLACES = ("", "拾", "佰", "仟")  # within a group of four digits
GROUPS = ("", "万", "亿", "万亿")  # each group of four digits


def _group(value: int) -> str:
    """0 < value < 10000, with single 零 for inner zeros and none at the end."""
    text = ""
    zero = False
    for place in range(3, -1, -1):
        digit = value // 10**place % 10
        if digit == 0:
            zero = bool(text)
            continue
        if zero:
            text += DIGITS[0]
            zero = False
        text += DIGITS[digit] + PLACES[place]
    return text


def _integer(value: int) -> str:
    groups = []
    while value:
        groups.append(value % 10000)
        value //= 10000
    if len(groups) > len(GROUPS):
        raise ValueError("amount too large")
    text = ""
    zero = False
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if group == 0:
            zero = bool(text)
            continue
        if text and (zero or group < 1000):
            text += DIGITS[0]
        text += _group(group) + GROUPS[index]
        zero = False
    return text


def rmb_capitals(amount) -> str:
    """The amount in yuan written in capitals, to the fen (分)."""
    cents = int((Decimal(amount) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    sign = "负" if cents < 0 else ""
    cents = abs(cents)
    yuan, jiao, fen = cents // 100, cents // 10 % 10, cents % 10
    if cents == 0:
        return "零元整"
    text = _integer(yuan)
    if yuan:
        text += "元"
    if not jiao and not fen:
        return sign + text + "整"
    if jiao:
        text += DIGITS[jiao] + "角"
    elif yuan:
        text += DIGITS[0]  # 壹元零伍分: the empty 角 is said
    if fen:
        text += DIGITS[fen] + "分"
    return sign + text
