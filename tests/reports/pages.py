"""Read what a page shows: form values, error messages, alerts and visible text.

Shared by the report and assignment view tests; parsing the HTML keeps the tests about what a
person sees and sends rather than about exact markup.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import unescape
from html.parser import HTMLParser
from urllib.parse import urlsplit

VOID = {"br", "img", "input", "meta", "link", "hr", "source", "wbr"}


def text(response) -> str:
    return response.get_data(as_text=True)


def path_of(response) -> str:
    return urlsplit(response.headers["Location"]).path


def location(response) -> str:
    parts = urlsplit(response.headers["Location"])
    return (
        parts.path
        + (f"?{parts.query}" if parts.query else "")
        + (f"#{parts.fragment}" if parts.fragment else "")
    )


@dataclass
class _Node:
    tag: str
    attrs: dict[str, str | None]
    children: list = field(default_factory=list)

    def text(self) -> str:
        """The text a reader sees, without the "comment on this passage" controls."""
        return "".join(
            c if isinstance(c, str) else c.text()
            for c in self.children
            if isinstance(c, str) or "portal-annotate" not in c.classes()
        )

    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())

    def iter(self):
        yield self
        for child in self.children:
            if isinstance(child, _Node):
                yield from child.iter()


class _Tree(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = _Node("#root", {})
        self.stack = [self.root]

    def handle_starttag(self, tag, attrs):
        node = _Node(tag, dict(attrs))
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag, attrs):
        self.stack[-1].children.append(_Node(tag, dict(attrs)))

    def handle_endtag(self, tag):
        for index in range(len(self.stack) - 1, 0, -1):
            if self.stack[index].tag == tag:
                del self.stack[index:]
                return

    def handle_data(self, data):
        self.stack[-1].children.append(data)


class Page:
    """A parsed HTML page."""

    def __init__(self, response_or_html) -> None:
        html = response_or_html if isinstance(response_or_html, str) else text(response_or_html)
        self.html = html
        parser = _Tree()
        parser.feed(html)
        parser.close()
        self.root = parser.root

    def all(self, tag: str | None = None, cls: str | None = None, **attrs):
        for node in self.root.iter():
            if tag and node.tag != tag:
                continue
            if cls and cls not in node.classes():
                continue
            if any(node.attrs.get(name.rstrip("_")) != value for name, value in attrs.items()):
                continue
            yield node

    def one(self, tag: str | None = None, cls: str | None = None, **attrs) -> _Node:
        found = list(self.all(tag, cls, **attrs))
        assert len(found) == 1, f"expected one <{tag} class={cls} {attrs}>, found {len(found)}"
        return found[0]

    @property
    def main(self) -> str:
        """The visible text of <main>, whitespace folded."""
        return squash(self.one("main").text())

    def value(self, name: str, *, id: str | None = None) -> str | None:
        """What a form control named `name` holds: input value, textarea text or selection."""
        for node in self.root.iter():
            if node.attrs.get("name") != name or (id and node.attrs.get("id") != id):
                continue
            if node.tag == "textarea":
                return re.sub(r"^\r?\n", "", node.text())
            if node.tag == "select":
                chosen = [o for o in node.iter() if o.tag == "option" and "selected" in o.attrs]
                return chosen[0].attrs.get("value") if chosen else None
            if node.tag == "input":
                if node.attrs.get("type") in ("radio", "checkbox"):
                    if "checked" in node.attrs:
                        return node.attrs.get("value")
                    continue
                return node.attrs.get("value") or ""
        return None

    def ambiguous_labels(self) -> list[str]:
        """Labels whose `for` does not name exactly one element of the page."""
        seen: dict[str, int] = {}
        for node in self.root.iter():
            if node.attrs.get("id"):
                seen[node.attrs["id"]] = seen.get(node.attrs["id"], 0) + 1
        return [
            label.attrs["for"]
            for label in self.all("label")
            if label.attrs.get("for") and seen.get(label.attrs["for"]) != 1
        ]

    def errors(self) -> list[str]:
        """Field error messages shown (not the hidden ones scripts reveal)."""
        return [
            squash(node.text())
            for node in self.all(cls="usa-error-message")
            if "hidden" not in node.attrs
        ]

    def alerts(self) -> list[str]:
        return [squash(node.text()) for node in self.all(cls="usa-alert")]

    def options(self, name: str) -> list[tuple[str, str]]:
        select = self.one("select", name=name)
        return [
            (o.attrs.get("value") or "", squash(o.text()))
            for o in select.iter()
            if o.tag == "option"
        ]


def squash(value: str) -> str:
    return re.sub(r"\s+", " ", unescape(value)).strip()
