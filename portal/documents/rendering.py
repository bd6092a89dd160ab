"""Render draft Markdown to sanitised HTML whose blocks carry stable, content-derived ids."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

BLOCK_KINDS = ("heading", "paragraph", "list_item", "blockquote")

# Token types that open a block element, and the kind each one gets.
_BLOCK_OPEN_KINDS = {
    "heading_open": "heading",
    "paragraph_open": "paragraph",
    "list_item_open": "list_item",
    "blockquote_open": "blockquote",
}
# Headings and paragraphs hold the text; list items and block quotes only contain blocks.
_LEAF_KINDS = frozenset({"heading", "paragraph"})
_CONTAINER_KINDS = frozenset({"list_item", "blockquote"})

_ID_HEX_LENGTH = 10
_ID_PREFIX = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
# Only ids this module generates survive sanitising: a user-chosen id such as "location" or
# "forms" could clobber DOM globals that page scripts rely on.
_GENERATED_ID = re.compile(r"[A-Za-z][A-Za-z0-9_-]*[0-9a-f]{10}(?:-[0-9]+)?")
_WHITESPACE = re.compile(r"\s+")

_ALLOWED_TAGS = frozenset(
    {
        "p",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "ul",
        "ol",
        "li",
        "blockquote",
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
)
_HEADING_TAGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_BLOCK_TAG_KINDS = {
    **dict.fromkeys(_HEADING_TAGS, "heading"),
    "p": "paragraph",
    "li": "list_item",
    "blockquote": "blockquote",
}
_ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    # Without an explicit "*" entry, nh3 (ammonia) keeps its default generic attributes,
    # "lang" and "title", on every tag.
    "*": set(),
    **{tag: {"id"} for tag in _BLOCK_TAG_KINDS},
    "a": {"href", "title"},
    "ol": {"start"},
}
# data-block may only name the kind that matches its tag.
_ALLOWED_ATTRIBUTE_VALUES = {tag: {"data-block": {kind}} for tag, kind in _BLOCK_TAG_KINDS.items()}
_URL_SCHEMES = frozenset({"http", "https", "mailto"})
# Never let scripts, styles and the like leave their content behind as text.
_DROP_WITH_CONTENT = frozenset({"script", "style", "template", "noscript", "iframe", "object"})


@dataclass(frozen=True)
class Block:
    """One rendered block element: its HTML id, its kind and its plain text.

    `start` and `end` are its offsets in the document's `plain_text` (a container spans its
    first to its last leaf); an empty block has start == end.
    """

    id: str
    kind: str
    text: str
    start: int = field(default=0, compare=False)
    end: int = field(default=0, compare=False)


@dataclass(frozen=True)
class RenderedDocument:
    """Sanitised HTML of a Markdown source, with its blocks and its plain text."""

    html: str
    blocks: tuple[Block, ...]
    plain_text: str


def _build_parser() -> MarkdownIt:
    parser = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    parser.enable(["table", "strikethrough"])
    # Images are dropped entirely: photos go through a separate, permission-checked feature.
    parser.add_render_rule("image", _render_nothing)
    return parser


def _render_nothing(self, tokens, idx, options, env) -> str:
    return ""


_PARSER = _build_parser()


def render_markdown(source: str, *, id_prefix: str = "b-") -> RenderedDocument:
    """Render Markdown to sanitised HTML with an id and a data-block kind on every block.

    The result depends only on its arguments, so recent ones are kept (section versions never
    change, and a long section's text is rendered on every reading of it). Callers share the
    object returned: never change it.
    """
    if not _ID_PREFIX.fullmatch(id_prefix):
        raise ValueError(f"id_prefix must start with a letter and use [A-Za-z0-9_-]: {id_prefix!r}")
    return _render(source, id_prefix)


@lru_cache(maxsize=64)
def _render(source: str, id_prefix: str) -> RenderedDocument:
    env: dict = {}
    tokens = _PARSER.parse(source, env)
    blocks, leaf_texts = _annotate_blocks(tokens, id_prefix)
    html = sanitise_html(_PARSER.renderer.render(tokens, _PARSER.options, env))
    return RenderedDocument(
        html=html,
        blocks=tuple(blocks),
        plain_text="\n\n".join(text for text in leaf_texts if text),
    )


def block_texts(source: str, *, id_prefix: str = "b-") -> tuple[Block, ...]:
    """Return the blocks of a Markdown source without rendering it."""
    if not _ID_PREFIX.fullmatch(id_prefix):
        raise ValueError(f"id_prefix must start with a letter and use [A-Za-z0-9_-]: {id_prefix!r}")
    blocks, _ = _annotate_blocks(_PARSER.parse(source, {}), id_prefix)
    return tuple(blocks)


def normalise_text(text: str) -> str:
    """Collapse runs of whitespace to single spaces and strip the ends."""
    return _WHITESPACE.sub(" ", text).strip()


def block_id_hex(kind: str, text: str) -> str:
    """Return the 10 hex characters that identify a block with this kind and (non-empty) text.

    Headings and paragraphs hash their NFC-normalised text alone, so a paragraph that becomes a
    heading keeps its id. A list item or block quote usually has the same text as the paragraph
    inside it; hashing its kind too keeps the container and the paragraph from colliding (which
    would give the paragraph a "-2" suffix that changes when a list turns from tight to loose).
    """
    canonical = unicodedata.normalize("NFC", normalise_text(text))
    if kind in _CONTAINER_KINDS:
        canonical = f"{kind}\x00{canonical}"
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:_ID_HEX_LENGTH]


def _annotate_blocks(tokens: Sequence[Token], id_prefix: str) -> tuple[list[Block], list[str]]:
    """Set id and data-block on every rendered block token; return the blocks and leaf texts.

    A list item's or block quote's text is only known at its closing token, so texts are
    gathered first and ids are assigned afterwards, in document order (outer before inner).
    """
    # Every rendered block in document order, with its texts and its spans in the plain text.
    opened: list[tuple[Token, str, list[str], list[tuple[int, int]]]] = []
    open_containers: list[tuple[list[str], list[tuple[int, int]]]] = []
    leaf_texts: list[str] = []
    cursor = 0  # where the next non-empty leaf starts in the plain text
    for index, token in enumerate(tokens):
        kind = _BLOCK_OPEN_KINDS.get(token.type)
        if token.type in ("list_item_close", "blockquote_close"):
            open_containers.pop()
            continue
        if kind is None:
            continue
        parts: list[str] = []
        spans: list[tuple[int, int]] = []
        if kind in _LEAF_KINDS:
            text = normalise_text(_inline_text(tokens[index + 1]))
            leaf_texts.append(text)
            parts.append(text)
            if text:
                spans.append((cursor, cursor + len(text)))
                cursor += len(text) + 2  # the "\n\n" joining leaves
            for container_parts, container_spans in open_containers:
                container_parts.append(text)
                container_spans.extend(spans)
        else:
            open_containers.append((parts, spans))
        # Tight list items render their paragraphs without <p>: no element, so no id.
        if not token.hidden:
            opened.append((token, kind, parts, spans))

    blocks: list[Block] = []
    used: set[str] = set()
    for position, (token, kind, parts, spans) in enumerate(opened):
        text = normalise_text(" ".join(part for part in parts if part))
        if text:
            hex_part = block_id_hex(kind, text)
        else:
            hex_part = hashlib.sha256(f"{kind}\x00{position}".encode()).hexdigest()
            hex_part = hex_part[:_ID_HEX_LENGTH]
        block_id = _unique_id(f"{id_prefix}{hex_part}", used)
        token.attrSet("id", block_id)
        token.attrSet("data-block", kind)
        start, end = (spans[0][0], spans[-1][1]) if spans else (0, 0)
        blocks.append(Block(id=block_id, kind=kind, text=text, start=start, end=end))
    return blocks, leaf_texts


def _unique_id(candidate: str, used: set[str]) -> str:
    block_id = candidate
    suffix = 1
    while block_id in used:
        suffix += 1
        block_id = f"{candidate}-{suffix}"
    used.add(block_id)
    return block_id


def _inline_text(token: Token) -> str:
    """Return the text an inline token shows once rendered (images render as nothing)."""
    pieces: list[str] = []
    for child in token.children or ():
        if child.type in ("text", "code_inline"):
            pieces.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            pieces.append(" ")
    return "".join(pieces)


def sanitise_html(html: str) -> str:
    """Keep only the portal's allow-list of tags, attributes and link schemes."""
    return nh3.clean(
        html,
        tags=set(_ALLOWED_TAGS),
        clean_content_tags=set(_DROP_WITH_CONTENT),
        attributes={tag: set(names) for tag, names in _ALLOWED_ATTRIBUTES.items()},
        tag_attribute_values={
            tag: {name: set(values) for name, values in allowed.items()}
            for tag, allowed in _ALLOWED_ATTRIBUTE_VALUES.items()
        },
        attribute_filter=_filter_attribute,
        url_schemes=set(_URL_SCHEMES),
        url_relative=_keep_fragment_only,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    if attribute == "id":
        return value if _GENERATED_ID.fullmatch(value) else None
    if attribute == "start":
        return value if value.isascii() and value.isdigit() and len(value) <= 9 else None
    return value


def _keep_fragment_only(url: str) -> str | None:
    """Keep in-page links ("#...") and drop other relative URLs, "//host" ones included."""
    return url if url.startswith("#") else None


# Block quotes are left out: the paragraphs inside them carry their own controls.
_BLOCK_OPENING_TAG = re.compile(
    r'<(?P<tag>p|h[1-6]|li)\b(?P<attrs>[^>]*?)\bid="(?P<id>[A-Za-z][\w-]*)"[^>]*>'
)


def add_block_controls(html: str, control_for) -> str:
    """Insert a control next to every block of rendered, sanitised HTML.

    `control_for(block_id)` returns the (already safe) markup to insert, or "" for none. Used
    to give every block a keyboard- and script-free "comment on this passage" link. It goes just
    before paragraphs and headings, so a heading's name stays its own words, and first inside
    list items, where nothing but <li> may stand.
    """

    def insert(match: re.Match) -> str:
        control = control_for(match.group("id"))
        if match.group("tag") == "li":
            return match.group(0) + control
        return control + match.group(0)

    return _BLOCK_OPENING_TAG.sub(insert, html)
