import io
import struct
import zipfile

import docx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.documents.importing import (
    MAX_DOCX_ENTRIES,
    MAX_DOCX_UNCOMPRESSED_BYTES,
    MAX_DOCX_XML_BYTES,
    ImportRefused,
    docx_to_markdown,
    import_document,
    markdown_file_text,
)
from portal.documents.rendering import render_markdown
from tests.documents.docx_fixtures import (
    TINY_PNG,
    add_hyperlink,
    document_bytes,
    document_xml,
    minimal_docx,
    quote_style,
    rich_docx,
    zip_bytes,
)

LIMIT = 5 * 1024 * 1024
SMALL_BODY = (
    '<w:p><w:pPr><w:pStyle w:val="Heading1"/></w:pPr><w:r><w:t>Title</w:t></w:r></w:p>'
    "<w:p><w:r><w:rPr><w:b/></w:rPr><w:t>Bold</w:t></w:r>"
    '<w:r><w:t xml:space="preserve"> and plain.</w:t></w:r></w:p>'
)
SMALL_DOCX = minimal_docx(SMALL_BODY)
MINIMAL_DOCUMENT_XML = document_xml(SMALL_BODY)


def refusal(filename: str, data: bytes, *, max_bytes: int = LIMIT) -> str:
    with pytest.raises(ImportRefused) as caught:
        import_document(filename, data, max_bytes=max_bytes)
    return caught.value.reason


@pytest.fixture(scope="module")
def rich_markdown() -> str:
    return import_document("draft.docx", rich_docx(), max_bytes=LIMIT)


# --- .docx conversion ----------------------------------------------------------------------


def test_docx_headings_become_atx_headings(rich_markdown):
    lines = rich_markdown.splitlines()

    assert "# Findings" in lines
    assert "## Recruitment" in lines


def test_docx_bold_and_italic_survive(rich_markdown):
    assert "Survivors described **debt bondage** and *confiscated papers*." in rich_markdown


def test_docx_hyperlink_survives(rich_markdown):
    assert "See the [national strategy](https://example.org/strategy) for context." in (
        rich_markdown
    )


def test_docx_bulleted_and_numbered_lists_survive(rich_markdown):
    assert "- Housing support\n- Legal aid" in rich_markdown
    assert "1. First contact\n2. Safe referral" in rich_markdown


def test_docx_quote_style_becomes_a_block_quote(rich_markdown):
    assert "> Nobody asked us what we needed." in rich_markdown.splitlines()


def test_docx_markdown_is_tidy(rich_markdown):
    assert rich_markdown == rich_markdown.strip() + "\n"
    assert "\n\n\n" not in rich_markdown
    assert all(line == line.rstrip() for line in rich_markdown.splitlines())
    assert "Closing remarks à l'égard des personnes concernées." in rich_markdown


def test_the_imported_markdown_renders_to_the_expected_blocks(rich_markdown):
    kinds = [block.kind for block in render_markdown(rich_markdown).blocks]

    assert kinds == [
        "heading",
        "heading",
        "paragraph",
        "paragraph",
        *["list_item"] * 4,
        "blockquote",
        "paragraph",
        "paragraph",
    ]


def test_docx_images_are_dropped(rich_markdown):
    markdown = docx_to_markdown(rich_docx(with_image=True))

    assert markdown == rich_markdown
    assert "data:" not in markdown
    assert "![" not in markdown


def test_intense_quote_and_consecutive_quotes_share_one_block_quote():
    document = docx.Document()
    document.add_paragraph("First quoted.", style=quote_style(document))
    document.add_paragraph("Second quoted.", style="Intense Quote")
    document.add_paragraph("Not quoted.")

    assert docx_to_markdown(document_bytes(document)) == (
        "> First quoted.\n>\n> Second quoted.\n\nNot quoted.\n"
    )


def test_only_web_and_mail_links_are_kept():
    document = docx.Document()
    paragraph = document.add_paragraph()
    add_hyperlink(paragraph, "script", "javascript:alert(1)")
    paragraph.add_run(" ")
    add_hyperlink(paragraph, "file", "file:///C:/secret.docx")
    paragraph.add_run(" ")
    add_hyperlink(paragraph, "mail", "mailto:council@example.org")
    paragraph.add_run(" ")
    add_hyperlink(paragraph, "wiki", "https://en.wikipedia.org/wiki/Bond_(finance)")

    assert docx_to_markdown(document_bytes(document)) == (
        "script file [mail](mailto:council@example.org) "
        "[wiki](https://en.wikipedia.org/wiki/Bond_%28finance%29)\n"
    )


def test_unknown_styles_only_warn_and_are_ignored():
    document = docx.Document()
    document.styles.add_style("Consultant Note", docx.enum.style.WD_STYLE_TYPE.PARAGRAPH)
    document.add_paragraph("Kept as a paragraph.", style="Consultant Note")

    assert docx_to_markdown(document_bytes(document)) == "Kept as a paragraph.\n"


@pytest.mark.parametrize("name", ["Report.DOCX", "C:\\Users\\me\\draft.docx", "dir/a.b.docx"])
def test_docx_extension_is_recognised_in_any_case_and_path(name):
    assert import_document(name, SMALL_DOCX, max_bytes=LIMIT) == "# Title\n\n**Bold** and plain.\n"


# --- Markdown and text files ---------------------------------------------------------------


@pytest.mark.parametrize("name", ["notes.md", "notes.markdown", "notes.txt", "NOTES.MD"])
def test_markdown_files_are_returned_as_text(name):
    assert import_document(name, "# Titre\n\nÉté **chaud**.\n".encode(), max_bytes=LIMIT) == (
        "# Titre\n\nÉté **chaud**.\n"
    )


def test_markdown_bom_is_stripped_and_newlines_normalised():
    data = b"\xef\xbb\xbf# Title\r\n\r\nBody\rmore\n"

    assert markdown_file_text(data) == "# Title\n\nBody\nmore\n"


def test_markdown_keeps_raw_html_as_text_for_the_renderer_to_escape():
    markdown = import_document("x.md", b"<script>alert(1)</script>", max_bytes=LIMIT)

    assert markdown == "<script>alert(1)</script>"
    assert "<script" not in render_markdown(markdown).html


# --- refusals ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["draft.docx", "draft.md", "draft.pdf"])
def test_empty_file_is_refused(name):
    assert refusal(name, b"") == "empty"


@pytest.mark.parametrize("name", ["draft.docx", "draft.md", "draft.exe"])
def test_file_over_the_limit_is_refused(name):
    assert refusal(name, b"x" * 101, max_bytes=100) == "too_large"


def test_file_at_the_limit_is_accepted():
    assert import_document("a.md", b"x" * 100, max_bytes=100) == "x" * 100


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("setup.exe", b"MZ\x90\x00\x03\x00\x00\x00"),
        ("report.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"),
        ("page.html", b"<html><body><p>Hi</p></body></html>"),
        ("page.htm", b"<p>Hi</p>"),
        ("old.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 50),
        ("draft.odt", zip_bytes({"content.xml": b"<x/>"})),
        ("noextension", b"# Title"),
        ("draft.docx.exe", b"MZ"),
        (".md", b"# hidden file without an extension"),
    ],
)
def test_other_types_are_refused(name, data):
    assert refusal(name, data) == "unsupported_type"


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.7 renamed",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 legacy word",
        zip_bytes({"word/document.xml": MINIMAL_DOCUMENT_XML}),
    ],
)
def test_binary_files_renamed_to_markdown_are_refused_as_unsupported(data):
    assert refusal("draft.md", data) == "unsupported_type"


def test_docx_that_is_not_a_zip_is_refused():
    assert refusal("draft.docx", b"# Actually Markdown") == "unsupported_type"
    assert refusal("draft.docx", b"%PDF-1.4 renamed") == "unsupported_type"


def test_zip_without_word_document_is_refused():
    data = zip_bytes({"xl/workbook.xml": b"<workbook/>", "[Content_Types].xml": b"<Types/>"})

    assert refusal("sheet.docx", data) == "unsupported_type"


@pytest.mark.parametrize(
    "data",
    [
        b"PK\x03\x04" + b"\x00" * 100,
        SMALL_DOCX[:60],
        SMALL_DOCX[:-30],
        zip_bytes({"word/document.xml": b"this is not xml <<<"}),
        zip_bytes({"word/document.xml": MINIMAL_DOCUMENT_XML[:-20]}),
    ],
    ids=["header-only", "truncated-start", "truncated-end", "not-xml", "unclosed-xml"],
)
def test_damaged_docx_is_refused(data):
    assert refusal("draft.docx", data) == "damaged"


def test_docx_whose_entry_lies_about_its_size_is_damaged():
    paragraphs = "<w:p><w:r><w:t>Some words here.</w:t></w:r></w:p>" * 200
    data = bytearray(minimal_docx(paragraphs))
    central = data.index(b"PK\x01\x02")
    assert struct.unpack_from("<I", data, central + 24)[0] > 9000
    # Declare a smaller uncompressed size in the central directory: zipfile stops there and
    # the CRC check fails, so a lie cannot inflate more than the limits allow.
    struct.pack_into("<I", data, central + 24, 100)

    assert refusal("draft.docx", bytes(data)) == "damaged"


def test_billion_laughs_is_refused_quickly():
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10)
    ]
    xml = (
        f'<?xml version="1.0"?><!DOCTYPE w:document [{"".join(entities)}]>'
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        "<w:body><w:p><w:r><w:t>&lol9;</w:t></w:r></w:p></w:body></w:document>"
    ).encode()

    assert refusal("draft.docx", zip_bytes({"word/document.xml": xml})) == "damaged"


def test_docx_with_too_many_entries_is_refused():
    entries = {"word/document.xml": MINIMAL_DOCUMENT_XML}
    entries.update({f"word/media/{n}.bin": b"" for n in range(MAX_DOCX_ENTRIES)})

    assert refusal("bomb.docx", zip_bytes(entries)) == "too_large"


def test_docx_that_expands_past_the_limit_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", MINIMAL_DOCUMENT_XML)
        with archive.open("word/media/padding.bin", "w") as padding:
            chunk = b"\x00" * (1024 * 1024)
            for _ in range(MAX_DOCX_UNCOMPRESSED_BYTES // len(chunk) + 10):
                padding.write(chunk)
    data = buffer.getvalue()
    assert len(data) < 200_000

    assert refusal("bomb.docx", data) == "too_large"


def test_docx_with_too_much_xml_is_refused_before_parsing():
    paragraph = "<w:p><w:r><w:t>Padding text repeated to inflate the XML.</w:t></w:r></w:p>"
    data = minimal_docx(paragraph * (MAX_DOCX_XML_BYTES // len(paragraph) + 1))
    assert len(data) < 200_000

    assert refusal("huge.docx", data) == "too_large"


def test_large_images_do_not_count_against_the_xml_limit():
    padded = zip_bytes(
        {
            "word/document.xml": MINIMAL_DOCUMENT_XML,
            "word/media/image1.png": b"\x00" * (MAX_DOCX_XML_BYTES + 1),
        }
    )

    assert docx_to_markdown(padded) == "# Title\n\n**Bold** and plain.\n"


def test_docx_without_text_is_refused():
    document = docx.Document()
    document.add_paragraph("")
    document.add_paragraph("   ")

    assert refusal("blank.docx", document_bytes(document)) == "no_text"


def test_docx_with_only_an_image_has_no_text():
    document = docx.Document()
    document.add_picture(io.BytesIO(TINY_PNG))

    assert refusal("photo.docx", document_bytes(document)) == "no_text"


@pytest.mark.parametrize("data", [b"   \n\n\t ", b"\xef\xbb\xbf", b"\xef\xbb\xbf\r\n"])
def test_markdown_without_text_is_refused(data):
    assert refusal("blank.md", data) == "no_text"


@pytest.mark.parametrize(
    "data",
    [
        b"caf\xe9",  # Latin-1
        b"\xff\xfe#\x00 \x00T\x00",  # UTF-16 with its BOM
        b"ok \xc3",  # truncated sequence
        b"\xed\xa0\x80 surrogate",
    ],
)
def test_markdown_that_is_not_utf8_is_refused(data):
    assert refusal("draft.md", data) == "not_utf8"


@pytest.mark.parametrize("data", [b"# Title\x00", b"\xef\xbb\xbfa\x00b"])
def test_markdown_with_nul_bytes_is_damaged(data):
    assert refusal("draft.md", data) == "damaged"


def test_refusal_reasons_are_checked():
    assert ImportRefused("damaged").reason == "damaged"
    with pytest.raises(ValueError, match="unknown"):
        ImportRefused("because")


# --- nothing else escapes ------------------------------------------------------------------

REASONS = {"empty", "too_large", "unsupported_type", "not_utf8", "damaged", "no_text"}
RICH_DOCX = rich_docx()


def convert_corrupted(original: bytes, changes: list[tuple[int, int]]) -> None:
    data = bytearray(original)
    for position, value in changes:
        data[position % len(data)] = value
    try:
        result = docx_to_markdown(bytes(data))
    except ImportRefused as refused:
        assert refused.reason in REASONS
    else:
        assert isinstance(result, str)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.binary(max_size=3000),
    st.sampled_from(["a.docx", "a.md", "a.txt", "a.markdown", "a.pdf", "a"]),
)
def test_random_bytes_only_ever_give_markdown_or_a_refusal(data, name):
    try:
        result = import_document(name, data, max_bytes=LIMIT)
    except ImportRefused as refused:
        assert refused.reason in REASONS
    else:
        assert isinstance(result, str)
        assert result.strip()


byte_changes = st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(0, 255)), max_size=8)


@settings(max_examples=100, deadline=None)
@given(byte_changes)
def test_corrupted_small_docx_only_ever_gives_markdown_or_a_refusal(changes):
    convert_corrupted(SMALL_DOCX, changes)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(byte_changes)
def test_corrupted_word_docx_only_ever_gives_markdown_or_a_refusal(changes):
    convert_corrupted(RICH_DOCX, changes)
