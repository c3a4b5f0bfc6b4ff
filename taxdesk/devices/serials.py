"""Device serial numbers as people type, paste and scan them: the one reading of a serial.

Every path where a serial comes in reads it through :func:`normalise_serial` (the stock
receipt, the sale, the device import, the device filters and look-ups, the pairing form, the
taxpayer search by serial), and every box that takes several serials splits them with
:func:`split_serials`. Stored serials are always in the normalised form.

- ``normalise_serial("６６１２ ３４５６－７８９０")`` → ``"661234567890"``: full-width
  characters folded (NFKC), whitespace, dashes and invisible format characters removed,
  letters in capitals (UKey serials have letters);
- ``split_serials("661234567890\\n8812 3456 7890，a1b2c3d4e5f6")`` → three serials: one
  serial per line, or several on a line separated by commas or semicolons (ASCII or
  full-width) or 、. Spaces never separate serials: "1234 5678 9012" is one serial.
"""

from __future__ import annotations

import re
import unicodedata

# Between serials on one line, after NFKC (which folds "，" "；" "﹐" "﹔" to "," ";").
_SEPARATORS = re.compile(r"[,;、]")

# Characters that may be typed or pasted inside one serial and are never part of it (beyond
# whitespace): U+2212 minus sign, and the Unicode categories below.
_EXTRA_NOISE = frozenset("\u2212")
_NOISE_CATEGORIES = frozenset(
    {
        "Pd",  # dashes: - ‐ ‑ ‒ – — ― ﹣ － …
        "Cf",  # invisible format characters: zero-width space, BOM, soft hyphen …
    }
)


def _is_noise(char: str) -> bool:
    return char.isspace() or char in _EXTRA_NOISE or unicodedata.category(char) in _NOISE_CATEGORIES


def normalise_serial(raw) -> str:
    """A serial as typed, pasted or scanned, in the form the register stores.

    Full-width characters are folded (NFKC); whitespace, dashes of every kind (ASCII "-",
    full-width "－", "—", "–" …) and invisible format characters are removed; letters are
    put in capitals. ``None`` gives ``""``; a number (a spreadsheet cell) gives its digits.
    The result is not checked against a type's format (``models.validate_serial`` does that).
    """
    text = unicodedata.normalize("NFKC", str(raw or ""))
    if not (text.isascii() and text.isalnum()):
        text = "".join(char for char in text if not _is_noise(char))
    return text.upper()


def split_serials(text) -> list[str]:
    """The serials of a pasted or typed block, normalised, in their order.

    One serial per line; a line may hold several separated by commas or semicolons (ASCII
    or full-width) or 、, but never by spaces or dashes, which belong to the serial. A blank
    line stays in the list as ``""`` so that, in a block of one serial per line, an entry's
    position is its line number (the actions skip blank entries and keep counting, "Line 4:
    …"); empty pieces between separators on a line are left out.
    """
    serials: list[str] = []
    for line in unicodedata.normalize("NFKC", str(text or "")).splitlines():
        pieces = [normalise_serial(piece) for piece in _SEPARATORS.split(line)]
        pieces = [piece for piece in pieces if piece]
        serials.extend(pieces or [""])
    return serials
