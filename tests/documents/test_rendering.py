import hashlib
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.documents.rendering import (
    Block,
    block_id_hex,
    block_texts,
    render_markdown,
    sanitise_html,
)
from tests.documents.html_inspection import elements, text_content

BLOCK_TAG_KINDS = {
    "h1": "heading",
    "h2": "heading",
    "h3": "heading",
    "h4": "heading",
    "h5": "heading",
    "h6": "heading",
    "p": "paragraph",
    "li": "list_item",
    "blockquote": "blockquote",
}
ALLOWED_TAGS = {
    *BLOCK_TAG_KINDS,
    "ul",
    "ol",
    "em",
    "strong",
    "s",
    "del",
    "code",
    "pre",
    "a",
    "br",
    "hr",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
}
ID_PATTERN = re.compile(r"b-[0-9a-f]{10}(-[0-9]+)?")

SAMPLE = """\
# Consultation report

An *opening* paragraph with **strong** words.

## Housing

- Emergency shelter
- Long-term housing
  1. nested first
  2. nested second

> Nobody asked us what we needed.
>
> A second quoted paragraph.

- loose item one

- loose item two

Closing paragraph.
"""


def sha_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def block_elements(html: str):
    return [element for element in elements(html) if element.tag in BLOCK_TAG_KINDS]


# --- block ids ---------------------------------------------------------------------------


def test_every_block_element_has_an_id_and_its_kind():
    document = render_markdown(SAMPLE)

    found = block_elements(document.html)
    assert len(found) == len(document.blocks) == 15
    for element, block in zip(found, document.blocks, strict=True):
        assert element.attrs["id"] == block.id
        assert element.attrs["data-block"] == BLOCK_TAG_KINDS[element.tag] == block.kind
        assert ID_PATTERN.fullmatch(block.id)


def test_block_ids_are_unique():
    document = render_markdown(SAMPLE + "\n" + SAMPLE)

    ids = [block.id for block in document.blocks]
    assert len(ids) == len(set(ids)) == 30


def test_block_id_is_the_hash_of_the_normalised_text():
    document = render_markdown("Hello   *world*\nagain")

    assert document.blocks == (
        Block(id=f"b-{sha_hex('Hello world again')}", kind="paragraph", text="Hello world again"),
    )


def test_blocks_keep_their_ids_when_unrelated_blocks_are_inserted_before_them():
    before = render_markdown(SAMPLE)
    after = render_markdown("# A new title\n\nA new introduction.\n\n- a new list\n\n" + SAMPLE)

    assert after.blocks[3:] == before.blocks


def test_a_block_keeps_its_id_when_its_neighbours_change():
    before = render_markdown("First.\n\nStable paragraph.\n\nLast.")
    after = render_markdown("First, rewritten.\n\nStable paragraph.\n\nLast, rewritten.")

    assert before.blocks[1] == after.blocks[1]
    assert before.blocks[0].id != after.blocks[0].id


def test_identical_paragraphs_get_numbered_suffixes_in_document_order():
    document = render_markdown("Same.\n\nOther.\n\nSame.\n\nSame.")

    base = f"b-{sha_hex('Same.')}"
    assert [block.id for block in document.blocks] == [
        base,
        f"b-{sha_hex('Other.')}",
        f"{base}-2",
        f"{base}-3",
    ]


def test_id_prefix_applies_to_every_block():
    document = render_markdown(SAMPLE, id_prefix="v7-")

    assert all(block.id.startswith("v7-") for block in document.blocks)
    assert {element.attrs["id"] for element in block_elements(document.html)} == {
        block.id for block in document.blocks
    }


@pytest.mark.parametrize("prefix", ["", "7-", "a b", 'x"', "é-"])
def test_an_id_prefix_that_would_make_invalid_ids_is_refused(prefix):
    with pytest.raises(ValueError, match="id_prefix"):
        render_markdown("text", id_prefix=prefix)


def test_empty_blocks_still_get_unique_ids():
    document = render_markdown("-\n-\n-\n\n#\n\n>")

    assert [block.kind for block in document.blocks] == [
        "list_item",
        "list_item",
        "list_item",
        "heading",
        "blockquote",
    ]
    assert all(block.text == "" for block in document.blocks)
    assert len({block.id for block in document.blocks}) == 5
    assert all(ID_PATTERN.fullmatch(block.id) for block in document.blocks)


def test_blocks_are_listed_outer_before_inner_with_container_text():
    document = render_markdown("> quoted\n\n- item\n  - inner")

    assert [(block.kind, block.text) for block in document.blocks] == [
        ("blockquote", "quoted"),
        ("paragraph", "quoted"),
        ("list_item", "item inner"),
        ("list_item", "inner"),
    ]


def test_a_container_and_its_only_paragraph_do_not_collide():
    document = render_markdown("> Same words.")
    quote, paragraph = document.blocks

    assert paragraph.id == f"b-{sha_hex('Same words.')}"
    assert quote.id == f"b-{block_id_hex('blockquote', 'Same words.')}"
    assert quote.id != paragraph.id


def test_a_list_item_keeps_its_id_when_the_list_turns_loose():
    tight = render_markdown("- one\n- two")
    loose = render_markdown("- one\n\n- two")

    assert [block.id for block in tight.blocks] == [
        block.id for block in loose.blocks if block.kind == "list_item"
    ]


def test_a_paragraph_that_becomes_a_heading_keeps_its_id():
    assert render_markdown("Scope").blocks[0].id == render_markdown("## Scope").blocks[0].id


def test_block_texts_matches_render_markdown():
    assert block_texts(SAMPLE) == render_markdown(SAMPLE).blocks


# --- plain text --------------------------------------------------------------------------


def test_plain_text_joins_leaf_blocks_including_tight_list_items():
    document = render_markdown(SAMPLE)

    assert document.plain_text == "\n\n".join(
        [
            "Consultation report",
            "An opening paragraph with strong words.",
            "Housing",
            "Emergency shelter",
            "Long-term housing",
            "nested first",
            "nested second",
            "Nobody asked us what we needed.",
            "A second quoted paragraph.",
            "loose item one",
            "loose item two",
            "Closing paragraph.",
        ]
    )


def test_plain_text_collapses_whitespace_and_drops_markup():
    document = render_markdown("A  *line*\nwith `code  span`  \nand a [link](https://example.org).")

    assert document.plain_text == "A line with code span and a link."
    assert document.blocks[0].text == document.plain_text


def test_plain_text_decodes_entities_and_keeps_raw_html_as_text():
    document = render_markdown("Fish &amp; chips <b>bold</b> &eacute;t&eacute;")

    assert document.plain_text == "Fish & chips <b>bold</b> été"
    assert "&lt;b&gt;" in document.html


def test_empty_source():
    document = render_markdown("")

    assert document == render_markdown("   \n\n  ")
    assert (document.html, document.blocks, document.plain_text) == ("", (), "")


# --- allowed markup ----------------------------------------------------------------------


def test_tables_and_strikethrough_are_rendered_without_inline_styles():
    html = render_markdown("| a | b |\n|:--|--:|\n| 1 | ~~2~~ |").html

    tags = [element.tag for element in elements(html)]
    assert {"table", "thead", "tbody", "tr", "th", "td", "s"} <= set(tags)
    assert all(not element.attrs for element in elements(html) if element.tag in {"th", "td"})


def test_ordered_list_start_survives():
    html = render_markdown("3. three\n4. four").html

    assert [element.attrs for element in elements(html) if element.tag == "ol"] == [{"start": "3"}]


def test_code_blocks_keep_their_text_escaped():
    html = render_markdown("```html\n<script>alert(1)</script>\n```").html

    assert [element.tag for element in elements(html)] == ["pre", "code"]
    assert text_content(html).strip() == "<script>alert(1)</script>"


def test_markdown_images_are_dropped_entirely():
    document = render_markdown("Before ![a photo of someone](https://example.org/p.jpg) after")

    assert "img" not in {element.tag for element in elements(document.html)}
    assert "a photo" not in document.html
    assert document.plain_text == "Before after"


def test_safe_links_survive_with_rel():
    html = render_markdown(
        '[site](https://example.org/a?b=1 "Title") [mail](mailto:team@example.org) '
        "[plain](http://example.org) [here](#b-0123456789)"
    ).html

    links = [element.attrs for element in elements(html) if element.tag == "a"]
    assert links == [
        {"href": "https://example.org/a?b=1", "title": "Title", "rel": "noopener noreferrer"},
        {"href": "mailto:team@example.org", "rel": "noopener noreferrer"},
        {"href": "http://example.org", "rel": "noopener noreferrer"},
        {"href": "#b-0123456789", "rel": "noopener noreferrer"},
    ]


@pytest.mark.parametrize("target", ["/admin", "//evil.example/x", "relative/page", "ftp://x.org"])
def test_relative_and_other_scheme_links_lose_their_href(target):
    html = render_markdown(f"[x]({target})").html

    assert [element.attrs for element in elements(html) if element.tag == "a"] == [
        {"rel": "noopener noreferrer"}
    ]


# --- sanitise_html on its own ------------------------------------------------------------


def test_sanitise_keeps_generated_block_ids_and_matching_kinds():
    html = '<p id="b-0123456789-2" data-block="paragraph">x</p><h2 id="v3-abcdef0123">y</h2>'

    assert sanitise_html(html) == html


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ('<p id="location">x</p>', "<p>x</p>"),
        ('<p id="b-ABCDEF0123">x</p>', "<p>x</p>"),
        ('<p data-block="heading">x</p>', "<p>x</p>"),
        ('<em id="b-0123456789">x</em>', "<em>x</em>"),
        ('<ol start="2x"><li>x</li></ol>', "<ol><li>x</li></ol>"),
        ('<p class="c" style="color:red" title="t" lang="fr">x</p>', "<p>x</p>"),
        ('<a href="https://x.org" rel="opener" target="_blank">x</a>',
         '<a href="https://x.org" rel="noopener noreferrer">x</a>'),
        ("<p>a<!-- comment -->b</p>", "<p>ab</p>"),
        ("<div><span>x</span></div>", "x"),
        ("<script>alert(1)</script>ok", "ok"),
        ("<style>p{}</style>ok", "ok"),
    ],
)  # fmt: skip
def test_sanitise_strips_what_is_not_on_the_allow_list(html, expected):
    assert sanitise_html(html) == expected


# --- XSS corpus ----------------------------------------------------------------------------

XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=https://evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    '<svg><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>',
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](  javascript:alert(1) )",
    "[x](<javascript:alert(1)>)",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "[x](vbscript:msgbox(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](&#x6A;&#x61;vascript&colon;alert(1))",
    "[x](%6Aavascript:alert(1))",
    "[x](java\u0000script:alert(1))",
    '<a href="javascript:alert(1)">x</a>',
    '<a href="&#x6A;avascript:alert(1)">x</a>',
    '<a href="javas&#99;ript:alert(1)">x</a>',
    '<iframe src="https://evil.example"></iframe>',
    "<style>body{background:url(javascript:alert(1))}</style>",
    '<object data="evil.swf"></object>',
    '<embed src="evil.swf">',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    "![x](javascript:alert(1))",
    '![x](https://example.org/a.png "x\\" onerror=\\"alert(1)")',
    "<javascript:alert(1)>",
    "<JAVASCRIPT:alert(1)>",
    '<div onmouseover="alert(1)">hover</div>',
    '<p onclick="alert(1)">click</p>',
    "<details open ontoggle=alert(1)><summary>x</summary></details>",
    "<input autofocus onfocus=alert(1)>",
    "<video><source onerror=alert(1)></video>",
    '<form action="javascript:alert(1)"><button>go</button></form>',
    '<base href="https://evil.example/">',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<link rel="stylesheet" href="https://evil.example/x.css">',
    '[x](https://example.org "title\\" onmouseover=\\"alert(1)")',
    "[x][ref]\n\n[ref]: javascript:alert(1)",
    "`<script>alert(1)</script>`",
    "```\n<script>alert(1)</script>\n```",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "<!--><script>alert(1)</script>-->",
    '<p id="location" data-block="heading">clobber</p>',
    "**<img src=x onerror=alert(1)>**",
    "> <svg/onload=alert(1)>",
    "- [x](javascript:alert(1))\n- <img src=x onerror=alert(1)>",
    "| a |\n|---|\n| <script>alert(1)</script> |",
]
FORBIDDEN_SUBSTRINGS = ("<script", "<img", "<svg", "<iframe", "<style", "<object", "<embed")
SAFE_HREF = re.compile(r"(https?:|mailto:|#)", re.IGNORECASE)


def assert_inert(html: str) -> None:
    lowered = html.lower()
    for forbidden in FORBIDDEN_SUBSTRINGS:
        assert forbidden not in lowered
    for element in elements(html):
        assert element.tag in ALLOWED_TAGS
        for name, value in element.attrs.items():
            assert not name.startswith("on")
            assert name in {"id", "data-block", "href", "title", "start", "rel"}
            if name in {"id", "data-block", "href", "start", "rel"}:
                assert "script:" not in (value or "").lower()
        if element.tag == "a":
            assert element.attrs["rel"] == "noopener noreferrer"
            if "href" in element.attrs:
                assert SAFE_HREF.match(element.attrs["href"] or "")
        if "id" in element.attrs:
            assert ID_PATTERN.fullmatch(element.attrs["id"] or "")


def test_the_xss_corpus_is_large_enough():
    assert len(XSS_PAYLOADS) >= 25
    assert len(set(XSS_PAYLOADS)) == len(XSS_PAYLOADS)


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_markdown_payload_renders_inert(payload):
    assert_inert(render_markdown(payload).html)


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_payload_as_raw_html_is_sanitised(payload):
    assert_inert(sanitise_html(payload))


def test_raw_html_never_becomes_markup():
    html = render_markdown('<a href="https://example.org">x</a> <em>e</em>').html

    assert [element.tag for element in elements(html)] == ["p"]


# --- properties ----------------------------------------------------------------------------

markdownish = st.text(
    alphabet=st.sampled_from(list("ab é#*_-+>`[]()!<>:/\\&;|~\n\t 1.")), max_size=200
)


@settings(max_examples=100, deadline=None)
@given(markdownish)
def test_any_source_renders_with_unique_ids_on_every_block(source):
    document = render_markdown(source)

    found = block_elements(document.html)
    assert [element.attrs["id"] for element in found] == [block.id for block in document.blocks]
    assert len({block.id for block in document.blocks}) == len(document.blocks)
    assert_inert(document.html)


def test_blocks_know_their_span_in_the_plain_text():
    doc = render_markdown(
        "# Title\n\nFirst para.\n\n- item one\n- item two\n\n> quoted\n> text\n\nEnd."
    )
    spans = {(b.kind, b.text): doc.plain_text[b.start : b.end] for b in doc.blocks}
    assert spans == {
        ("heading", "Title"): "Title",
        ("paragraph", "First para."): "First para.",
        ("list_item", "item one"): "item one",
        ("list_item", "item two"): "item two",
        ("blockquote", "quoted text"): "quoted text",
        ("paragraph", "quoted text"): "quoted text",
        ("paragraph", "End."): "End.",
    }


def test_rendering_is_kept_and_shared_for_the_same_source():
    """A long section is read often: the same source and prefix give the same (frozen) result."""
    first = render_markdown("# Title\n\nSome *text*.", id_prefix="en-")
    again = render_markdown("# Title\n\nSome *text*.", id_prefix="en-")
    other_prefix = render_markdown("# Title\n\nSome *text*.", id_prefix="fr-")
    assert again is first
    assert other_prefix is not first and other_prefix.blocks[0].id.startswith("fr-")
    assert isinstance(first.blocks, tuple)
