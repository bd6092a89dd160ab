"""Turn an uploaded Word (.docx) or Markdown file into Markdown, or refuse it with a reason."""

from __future__ import annotations

import io
import os
import re
import zipfile
from urllib.parse import urlsplit

import mammoth
from markdownify import MarkdownConverter

EMPTY = "empty"
TOO_LARGE = "too_large"
UNSUPPORTED_TYPE = "unsupported_type"
NOT_UTF8 = "not_utf8"
DAMAGED = "damaged"
NO_TEXT = "no_text"
REASONS = frozenset({EMPTY, TOO_LARGE, UNSUPPORTED_TYPE, NOT_UTF8, DAMAGED, NO_TEXT})

DOCX_EXTENSIONS = frozenset({".docx"})
MARKDOWN_EXTENSIONS = frozenset({".md", ".markdown", ".txt"})
SUPPORTED_EXTENSIONS = DOCX_EXTENSIONS | MARKDOWN_EXTENSIONS

# Limits on what a .docx may expand to, whatever its size on the wire (zip bombs).
MAX_DOCX_UNCOMPRESSED_BYTES = 50 * 1024 * 1024
MAX_DOCX_ENTRIES = 2000
# mammoth builds a DOM of every XML part it reads and takes about a second per megabyte of
# XML; a real 100-page report carries a few megabytes. Most of the 50 MB above is images.
MAX_DOCX_XML_BYTES = 10 * 1024 * 1024

# Word's quotation styles become block quotes; consecutive quoted paragraphs share one.
_STYLE_MAP = """
p[style-name='Quote'] => blockquote > p:fresh
p[style-name='Intense Quote'] => blockquote > p:fresh
"""
_ZIP_MAGIC = b"PK\x03\x04"
# Signatures of binary formats people rename to .md or .txt by mistake.
_BINARY_MAGIC = (
    _ZIP_MAGIC,  # .docx, .odt, .zip
    b"%PDF-",
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",  # legacy .doc / .xls (OLE2)
    b"\x7fELF",
    b"{\\rtf",
)
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_UTF8_BOM = "\ufeff"
_BLANK_LINES = re.compile(r"\n{3,}")
_TRAILING_SPACES = re.compile(r"[ \t]+$", re.MULTILINE)
_IMG_TAG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
_LINK_SCHEMES = frozenset({"http", "https", "mailto"})
# Characters that would end or break a Markdown link destination.
_HREF_ESCAPES = str.maketrans({" ": "%20", "(": "%28", ")": "%29", "<": "%3C", ">": "%3E"})


class ImportRefused(Exception):
    """The upload cannot become a draft; `reason` says why, as one of `REASONS`."""

    def __init__(self, reason: str) -> None:
        if reason not in REASONS:
            raise ValueError(f"unknown import refusal reason: {reason!r}")
        super().__init__(reason)
        self.reason = reason


def import_document(filename: str, data: bytes, *, max_bytes: int) -> str:
    """Return the Markdown of an uploaded .docx, .md, .markdown or .txt file."""
    if not data:
        raise ImportRefused(EMPTY)
    if len(data) > max_bytes:
        raise ImportRefused(TOO_LARGE)
    extension = os.path.splitext(os.path.basename(filename.replace("\\", "/")))[1].lower()
    if extension in DOCX_EXTENSIONS:
        return docx_to_markdown(data)
    if extension in MARKDOWN_EXTENSIONS:
        return markdown_file_text(data)
    raise ImportRefused(UNSUPPORTED_TYPE)


def markdown_file_text(data: bytes) -> str:
    """Decode a Markdown or text file: UTF-8 (a BOM is dropped), no NUL bytes, not empty."""
    if not data:
        raise ImportRefused(EMPTY)
    if data.startswith(_BINARY_MAGIC):
        raise ImportRefused(UNSUPPORTED_TYPE)
    if data.startswith(_UTF16_BOMS):
        raise ImportRefused(NOT_UTF8)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ImportRefused(NOT_UTF8) from None
    text = text.removeprefix(_UTF8_BOM)
    if "\x00" in text:
        raise ImportRefused(DAMAGED)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise ImportRefused(NO_TEXT)
    return text


def docx_to_markdown(data: bytes) -> str:
    """Convert a Word document to Markdown; headings, lists, emphasis, links and quotes survive."""
    if not data:
        raise ImportRefused(EMPTY)
    _check_docx_archive(data)
    try:
        result = mammoth.convert_to_html(
            io.BytesIO(data), style_map=_STYLE_MAP, convert_image=_drop_image
        )
        # result.messages holds mammoth's warnings (unrecognised styles and the like): the
        # conversion is still usable, so they are ignored.
        html = _IMG_TAG.sub("", result.value)
        markdown = _MarkdownConverter(
            heading_style="ATX",
            bullets="-",
            strong_em_symbol="*",
            newline_style="backslash",
            strip=["img"],
        ).convert(html)
    except ImportRefused:
        raise
    except Exception:  # whatever a crafted file makes mammoth, zipfile or the parsers raise
        raise ImportRefused(DAMAGED) from None
    markdown = _tidy_markdown(markdown)
    if not markdown:
        raise ImportRefused(NO_TEXT)
    return markdown + "\n"


def _check_docx_archive(data: bytes) -> None:
    """Refuse what is not a Word archive, or what would expand too far, before mammoth reads it.

    The sizes checked are those the archive declares; zipfile stops reading an entry at its
    declared size, and a lie then fails the CRC check, so mammoth cannot be made to inflate more.
    """
    if not data.startswith(_ZIP_MAGIC):
        raise ImportRefused(UNSUPPORTED_TYPE)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
            if len(entries) > MAX_DOCX_ENTRIES:
                raise ImportRefused(TOO_LARGE)
            if sum(entry.file_size for entry in entries) > MAX_DOCX_UNCOMPRESSED_BYTES:
                raise ImportRefused(TOO_LARGE)
            xml_entries = [entry for entry in entries if _is_xml_part(entry.filename)]
            if sum(entry.file_size for entry in xml_entries) > MAX_DOCX_XML_BYTES:
                raise ImportRefused(TOO_LARGE)
            names = {entry.filename for entry in entries}
    except ImportRefused:
        raise
    except Exception:  # BadZipFile, but also ValueError/OSError/EOFError on crafted headers
        raise ImportRefused(DAMAGED) from None
    if "word/document.xml" not in names:
        raise ImportRefused(UNSUPPORTED_TYPE)


class _MarkdownConverter(MarkdownConverter):
    """markdownify, keeping only links the portal will render (and their text otherwise)."""

    def convert_a(self, el, text, parent_tags):
        href = (el.get("href") or "").strip()
        # Word's internal links (table of contents, bookmarks) point at anchors that will not
        # exist in the portal; scripts and file links must not travel at all.
        try:
            scheme = urlsplit(href).scheme.lower()
        except ValueError:  # e.g. an unbalanced "[" read as an IPv6 host
            return text
        if scheme not in _LINK_SCHEMES:
            return text
        el["href"] = href.translate(_HREF_ESCAPES)
        return super().convert_a(el, text, parent_tags)


def _is_xml_part(name: str) -> bool:
    return name.lower().endswith((".xml", ".rels"))


def _drop_image(image: object) -> list:
    """Leave images out, without reading them: photos go through their own reviewed feature."""
    return []


def _tidy_markdown(markdown: str) -> str:
    markdown = markdown.replace("\r\n", "\n")
    markdown = _TRAILING_SPACES.sub("", markdown)
    markdown = _BLANK_LINES.sub("\n\n", markdown)
    return markdown.strip()
