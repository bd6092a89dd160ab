"""A Word document built at test time with python-docx (no binary fixture in the repository).

It holds what the importer must keep: headings, bold and italic, a bulleted list, an external
link and a paragraph in Word's "Quote" style. Used by the view tests and the browser journey.
"""

from __future__ import annotations

import io

import docx
from docx.enum.style import WD_STYLE_TYPE
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml import OxmlElement
from docx.oxml.ns import qn

LINK_URL = "https://example.org/national-strategy"


def _add_hyperlink(paragraph, text: str, url: str) -> None:
    """python-docx has no public call for an external hyperlink; build the run by hand."""
    relationship_id = paragraph.part.relate_to(url, RELATIONSHIP_TYPE.HYPERLINK, is_external=True)
    hyperlink = OxmlElement("w:hyperlink")
    hyperlink.set(qn("r:id"), relationship_id)
    run = OxmlElement("w:r")
    run_text = OxmlElement("w:t")
    run_text.text = text
    run.append(run_text)
    hyperlink.append(run)
    paragraph._p.append(hyperlink)


def report_draft_docx(heading: str = "Findings from the consultations") -> bytes:
    document = docx.Document()
    document.add_heading(heading, level=1)
    document.add_heading("What survivors told us", level=2)
    paragraph = document.add_paragraph("Consultants described ")
    paragraph.add_run("paid advisory roles").bold = True
    paragraph.add_run(" and ")
    paragraph.add_run("early involvement").italic = True
    paragraph.add_run(" as what mattered most.")
    document.add_paragraph("Fair pay for expertise", style="List Bullet")
    document.add_paragraph("Time to review drafts", style="List Bullet")
    linked = document.add_paragraph("Read the ")
    _add_hyperlink(linked, "national strategy", LINK_URL)
    linked.add_run(" for context.")
    if "Quote" not in [style.name for style in document.styles]:
        document.styles.add_style("Quote", WD_STYLE_TYPE.PARAGRAPH)
    document.add_paragraph("Nothing about us without us.", style="Quote")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


# What the import must produce from it, line by line (Markdown).
EXPECTED_MARKDOWN_LINES = [
    "# Findings from the consultations",
    "## What survivors told us",
    "Consultants described **paid advisory roles** and *early involvement* as what mattered most.",
    "- Fair pay for expertise",
    "- Time to review drafts",
    f"Read the [national strategy]({LINK_URL}) for context.",
    "> Nothing about us without us.",
]
