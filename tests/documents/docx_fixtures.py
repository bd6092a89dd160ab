"""Build Word documents and archives for the import tests at test time (no binary fixtures)."""

from __future__ import annotations

import base64
import io
import zipfile

import docx
from docx.enum.style import WD_STYLE_TYPE
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.text.paragraph import Paragraph

# A 1x1 transparent PNG.
TINY_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


def add_hyperlink(paragraph: Paragraph, text: str, url: str) -> None:
    """Append an external hyperlink run (python-docx has no public API for it)."""
    relationship_id = paragraph.part.relate_to(url, RELATIONSHIP_TYPE.HYPERLINK, is_external=True)
    hyperlink = OxmlElement("w:hyperlink")
    hyperlink.set(qn("r:id"), relationship_id)
    run = OxmlElement("w:r")
    run_text = OxmlElement("w:t")
    run_text.text = text
    run.append(run_text)
    hyperlink.append(run)
    paragraph._p.append(hyperlink)


def quote_style(document: docx.Document) -> str:
    """Return the name of the "Quote" paragraph style, adding it if the template lacks it."""
    if "Quote" not in [style.name for style in document.styles]:
        document.styles.add_style("Quote", WD_STYLE_TYPE.PARAGRAPH)
    return "Quote"


def document_bytes(document: docx.Document) -> bytes:
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def rich_docx(*, with_image: bool = False) -> bytes:
    """A report draft using every construct the importer must keep."""
    document = docx.Document()
    document.add_heading("Findings", level=1)
    document.add_heading("Recruitment", level=2)
    paragraph = document.add_paragraph("Survivors described ")
    paragraph.add_run("debt bondage").bold = True
    paragraph.add_run(" and ")
    paragraph.add_run("confiscated papers").italic = True
    paragraph.add_run(".")
    linked = document.add_paragraph("See the ")
    add_hyperlink(linked, "national strategy", "https://example.org/strategy")
    linked.add_run(" for context.")
    document.add_paragraph("Housing support", style="List Bullet")
    document.add_paragraph("Legal aid", style="List Bullet")
    document.add_paragraph("First contact", style="List Number")
    document.add_paragraph("Safe referral", style="List Number")
    document.add_paragraph("Nobody asked us what we needed.", style=quote_style(document))
    if with_image:
        document.add_picture(io.BytesIO(TINY_PNG))
    document.add_paragraph("Closing remarks à l'égard des personnes concernées.")
    return document_bytes(document)


def zip_bytes(entries: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


WORD_NAMESPACE = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def document_xml(body_xml: str) -> bytes:
    """A word/document.xml part with this body."""
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<w:document xmlns:w="{WORD_NAMESPACE}"><w:body>{body_xml}</w:body></w:document>'
    ).encode()


def minimal_docx(body_xml: str) -> bytes:
    """A bare archive holding only word/document.xml: mammoth reads it in milliseconds.

    python-docx's template carries large styles and numbering parts that take mammoth over
    0.1 s to parse, so tests that do not need them use this instead.
    """
    return zip_bytes({"word/document.xml": document_xml(body_xml)})
