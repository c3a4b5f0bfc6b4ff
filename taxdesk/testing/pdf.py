"""The text of the PDFs TaxDesk prints (ReportLab, core/pdf.py), for tests that must read them
without a PDF tool on the machine.

ReportLab writes each page as a stream compressed with Flate and encoded in ASCII85, its text
as literal strings shown with ``Tj``: single bytes in the Latin fonts, UCS-2 (big-endian) in
the Chinese CID font ``STSong-Light``. This reads exactly that, nothing more.
"""

from __future__ import annotations

import base64
import re
import zlib

_STREAM = re.compile(rb"<<(?P<head>(?:(?!>>).)*?)>>\s*stream\r?\n(?P<body>.*?)endstream", re.S)
_CID_FONT = re.compile(rb"/Encoding /UniGB-UCS2-H /Name /(F\d+)")
_TOKEN = re.compile(rb"/(F\d+) [\d.]+ Tf|\(((?:\\.|[^\\)])*)\) Tj", re.S)
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def _literal(raw: bytes) -> bytes:
    """A PDF literal string's bytes, its backslash escapes undone."""
    out, i = bytearray(), 0
    while i < len(raw):
        byte = raw[i : i + 1]
        if byte != b"\\":
            out += byte
            i += 1
            continue
        following = raw[i + 1 : i + 2]
        octal = re.match(rb"[0-7]{1,3}", raw[i + 1 : i + 4])
        if octal:
            out.append(int(octal.group(), 8) & 0xFF)
            i += 1 + len(octal.group())
        else:
            out += _ESCAPES.get(following, following)
            i += 2
    return bytes(out)


def _streams(pdf: bytes):
    for match in _STREAM.finditer(pdf):
        head, body = match.group("head"), match.group("body").strip()
        if b"/ASCII85Decode" in head:
            body = base64.a85decode(body.replace(b"\n", b"").removesuffix(b"~>"))
        if b"/FlateDecode" in head:
            body = zlib.decompress(body)
        yield body


def pdf_text(pdf: bytes) -> str:
    """Every string the PDF's pages show, one per line."""
    cid_fonts = set(_CID_FONT.findall(pdf))
    lines, font = [], None
    for stream in _streams(pdf):
        for match in _TOKEN.finditer(stream):
            if match.group(1) is not None:
                font = match.group(1)
                continue
            raw = _literal(match.group(2))
            lines.append(raw.decode("utf-16-be") if font in cid_fonts else raw.decode("latin-1"))
    return "\n".join(lines)
