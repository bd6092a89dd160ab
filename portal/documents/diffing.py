"""Word-level differences between two plain texts (two versions of a draft section)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

EQUAL, INSERT, DELETE = "equal", "insert", "delete"

# A word together with the whitespace before it: joining them gives the text back exactly.
_WORD = re.compile(r"(\s*)(\S+)")
_TRAILING_WHITESPACE = re.compile(r"\s*\Z")


@dataclass(frozen=True)
class Segment:
    """A run of text that is unchanged, inserted or deleted."""

    op: str
    text: str


@dataclass(frozen=True)
class _Word:
    space: str  # the whitespace before the word
    word: str  # "" for the whitespace at the very end of a text

    @property
    def text(self) -> str:
        return self.space + self.word


def word_diff(old: str, new: str) -> list[Segment]:
    """Return the segments that turn `old` into `new`, word by word.

    Joining the equal and insert segments gives `new` exactly; joining the equal and delete
    segments gives `old`. A replaced run is a delete followed by an insert.

    Words are compared without the whitespace around them, so a change of spacing between two
    unchanged words shows as a whitespace-only change, not as both words changing. To stay fast
    on long texts, paragraphs are matched first and words are only compared inside the
    paragraphs that differ (SequenceMatcher is quadratic in how often a word repeats).
    """
    old_paragraphs = _paragraphs(_words(old))
    new_paragraphs = _paragraphs(_words(new))
    matcher = SequenceMatcher(None, old_paragraphs, new_paragraphs, autojunk=False)
    raw: list[Segment] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            raw.append(Segment(EQUAL, "".join(_join(old_paragraphs[i1:i2]))))
        else:
            old_words = [word for paragraph in old_paragraphs[i1:i2] for word in paragraph]
            new_words = [word for paragraph in new_paragraphs[j1:j2] for word in paragraph]
            raw.extend(_diff_words(old_words, new_words))
    return _tidy(raw)


def change_counts(segments: Sequence[Segment]) -> tuple[int, int]:
    """Return (words inserted, words deleted)."""
    inserted = sum(len(segment.text.split()) for segment in segments if segment.op == INSERT)
    deleted = sum(len(segment.text.split()) for segment in segments if segment.op == DELETE)
    return inserted, deleted


def _words(text: str) -> list[_Word]:
    words = [_Word(match[1], match[2]) for match in _WORD.finditer(text)]
    trailing = _TRAILING_WHITESPACE.search(text)
    if trailing and trailing.group():
        words.append(_Word(trailing.group(), ""))
    return words


def _paragraphs(words: list[_Word]) -> list[tuple[_Word, ...]]:
    """Group words into paragraphs: a new one starts at whitespace that holds a line break."""
    paragraphs: list[tuple[_Word, ...]] = []
    current: list[_Word] = []
    for word in words:
        if current and "\n" in word.space:
            paragraphs.append(tuple(current))
            current = []
        current.append(word)
    if current:
        paragraphs.append(tuple(current))
    return paragraphs


def _join(paragraphs: Sequence[tuple[_Word, ...]]) -> Iterator[str]:
    for paragraph in paragraphs:
        for word in paragraph:
            yield word.text


def _diff_words(old: list[_Word], new: list[_Word]) -> Iterator[Segment]:
    old_keys = [word.word for word in old]
    new_keys = [word.word for word in new]
    # SequenceMatcher does not trim the common ends itself; doing it first keeps a single long
    # paragraph with one change cheap.
    start = 0
    limit = min(len(old_keys), len(new_keys))
    while start < limit and old_keys[start] == new_keys[start]:
        start += 1
    end = 0
    while end < limit - start and old_keys[-1 - end] == new_keys[-1 - end]:
        end += 1
    old_stop, new_stop = len(old) - end, len(new) - end
    yield from _equal_words(old[:start], new[:start])
    matcher = SequenceMatcher(
        None, old_keys[start:old_stop], new_keys[start:new_stop], autojunk=False
    )
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        old_run = old[start + i1 : start + i2]
        new_run = new[start + j1 : start + j2]
        if op == "equal":
            yield from _equal_words(old_run, new_run)
        else:
            # "replace" is a delete followed by an insert; either may be empty.
            yield Segment(DELETE, "".join(word.text for word in old_run))
            yield Segment(INSERT, "".join(word.text for word in new_run))
    yield from _equal_words(old[old_stop:], new[new_stop:])


def _equal_words(old: list[_Word], new: list[_Word]) -> Iterator[Segment]:
    """Yield the segments for words that match, showing any change in the space before them."""
    for old_word, new_word in zip(old, new, strict=True):
        if old_word.space == new_word.space:
            yield Segment(EQUAL, old_word.text)
        else:
            yield Segment(DELETE, old_word.space)
            yield Segment(INSERT, new_word.space)
            yield Segment(EQUAL, old_word.word)


def _tidy(segments: list[Segment]) -> list[Segment]:
    """Drop empty segments and give each change one delete then one insert between equals.

    Whitespace both sides of a change share (typically the space before a replaced word)
    moves into the neighbouring equal segments, so "the cat sat" -> "the dog sat" reads as
    equal "the ", delete "cat", insert "dog", equal " sat".
    """
    tidy: list[Segment] = []
    deleted: list[str] = []
    inserted: list[str] = []

    def flush() -> None:
        old, new = "".join(deleted), "".join(inserted)
        deleted.clear()
        inserted.clear()
        if old and new:
            lead = _common_whitespace_prefix(old, new)
            trail = _common_whitespace_suffix(old[len(lead) :], new[len(lead) :])
            old = old[len(lead) : len(old) - len(trail)]
            new = new[len(lead) : len(new) - len(trail)]
            _append(tidy, EQUAL, lead)
            _append(tidy, DELETE, old)
            _append(tidy, INSERT, new)
            _append(tidy, EQUAL, trail)
        else:
            _append(tidy, DELETE, old)
            _append(tidy, INSERT, new)

    for segment in segments:
        if segment.op == DELETE:
            deleted.append(segment.text)
        elif segment.op == INSERT:
            inserted.append(segment.text)
        elif segment.text:
            flush()
            _append(tidy, EQUAL, segment.text)
    flush()
    return tidy


def _append(segments: list[Segment], op: str, text: str) -> None:
    if not text:
        return
    if segments and segments[-1].op == op:
        segments[-1] = Segment(op, segments[-1].text + text)
    else:
        segments.append(Segment(op, text))


def _common_whitespace_prefix(a: str, b: str) -> str:
    lead_a = a[: len(a) - len(a.lstrip())]
    lead_b = b[: len(b) - len(b.lstrip())]
    length = 0
    for char_a, char_b in zip(lead_a, lead_b, strict=False):
        if char_a != char_b:
            break
        length += 1
    return lead_a[:length]


def _common_whitespace_suffix(a: str, b: str) -> str:
    return _common_whitespace_prefix(a[::-1], b[::-1])[::-1]
