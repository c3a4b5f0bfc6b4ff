"""What every printable form shares: the Chinese font, paragraphs of plain text, an A4 page.

ReportLab's CID font ``STSong-Light`` is one every PDF reader has, so no font file is shipped.
"""

from __future__ import annotations

from io import BytesIO
from xml.sax.saxutils import escape

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))


def paragraph(text, style) -> Paragraph:
    """A paragraph of ``text`` as written (ReportLab's markup characters escaped)."""
    return Paragraph(escape(str(text or "")), style)


def a4_pdf(story: list, *, side_mm: float, top_mm: float, title: str, author: str, subject=""):
    """The bytes of an A4 document of ``story`` with the given margins and metadata."""
    buffer = BytesIO()
    SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=side_mm * mm,
        rightMargin=side_mm * mm,
        topMargin=top_mm * mm,
        bottomMargin=top_mm * mm,
        title=title,
        author=author,
        subject=subject,
    ).build(story)
    return buffer.getvalue()
