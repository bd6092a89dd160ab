"""Parse rendered HTML into tags and attributes, so tests check structure rather than substrings."""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser


@dataclass(frozen=True)
class Element:
    tag: str
    attrs: dict[str, str | None]


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append(Element(tag, dict(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def elements(html: str) -> list[Element]:
    """Return every start tag in document order, attribute values unescaped."""
    collector = _Collector()
    collector.feed(html)
    collector.close()
    return collector.elements


def text_content(html: str) -> str:
    collector = _Collector()
    collector.feed(html)
    collector.close()
    return "".join(collector.text)
