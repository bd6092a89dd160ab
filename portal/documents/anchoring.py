"""Anchor annotations to passages of a text, and find the passages again in a new version.

An annotation keeps two selectors for the passage it is about, after the W3C Web Annotation model:
a text quote (the exact words with up to `CONTEXT_CHARS` characters before and after them) and a
text position (offsets into the version's plain text, `RenderedDocument.plain_text`; offsets count
Python characters, that is code points). When a new version is published, `reanchor` looks for the
passage in the new text with the most certain method that works:

1. exact: the quoted words are still there. When they occur more than once, the occurrence whose
   surroundings best match the stored prefix and suffix is taken, and then the one nearest to
   where the passage used to be (its old offset scaled to the new text's length). The method is
   "exact" when the words and their context are unchanged (or the words occur only once),
   "context" when the context chose between repeats.
2. context: the words changed, but the stored prefix and suffix are both still there; what lies
   between them is taken when it is at least `FUZZY_THRESHOLD` similar to the old words, or, if
   the fuzzy step finds nothing better, at least `CONTEXT_THRESHOLD` similar.
3. fuzzy: diff-match-patch's Bitap matcher finds the nearest approximate match (a quote longer
   than one Bitap pattern is matched by its first and last 32 characters), a word diff against
   the stored context places the two ends, and the span is accepted when it is at least
   `FUZZY_THRESHOLD` similar to the old words.

Otherwise the annotation is orphaned: `reanchor` returns None and the caller keeps the old quote.
"""

from __future__ import annotations

import math
import re
import unicodedata
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from difflib import SequenceMatcher

from diff_match_patch import diff_match_patch

CONTEXT_CHARS = 32

# The minimum similarity (SequenceMatcher ratio, 0..1) between the old words and a span that only
# the fuzzy matcher found. With nothing but the words themselves to go on, a false match is worse
# than an orphan, which keeps its quote and a link to the old version. At 0.75 a sentence of a
# dozen words survives two or three of them changed, a typo fixed or a paragraph break added; a
# sentence rewritten in other words (similarity usually 0.4 to 0.6) is orphaned.
FUZZY_THRESHOLD = 0.75
# The minimum similarity of the text found between an unchanged prefix and suffix. Both sides of
# the passage being intact (32 characters each) is strong evidence of where it is, so a heavier
# rewording is accepted here than in the fuzzy step; a replacement that shares less than half of
# the old words (a deleted passage, an unrelated sentence) still orphans the annotation.
CONTEXT_THRESHOLD = 0.5

EXACT = "exact"
CONTEXT = "context"
FUZZY = "fuzzy"

# Bitap compares the pattern as bits of one machine word: 32 characters in most
# diff-match-patch ports (Match_MaxBits). The Python port does not enforce the limit, but its
# cost grows with the pattern, so longer quotes are matched by their first and last 32 characters.
_PROBE_CHARS = 32
# Bitap's score for a candidate is (errors / pattern length) + (distance from the expected place /
# Match_Distance), and nothing scoring above Match_Threshold is returned. Match_Distance is five
# times the text's length, so a moved paragraph can be found anywhere: at the far end of the
# text the distance costs 0.2, leaving room for about a quarter of the probe's characters to
# differ, against 45% next to the expected place. Bitap only proposes spans; the similarity
# thresholds above decide.
_MATCH_THRESHOLD = 0.45
_MATCH_DISTANCE_PER_CHAR = 5
_MIN_MATCH_DISTANCE = 1000
# With no old position to go by, make distance irrelevant to Bitap's score.
_UNPOSITIONED_MATCH_DISTANCE = 10**12
# Words, runs of spaces and single other characters, for diffing word by word. Chinese and
# Japanese characters are words of their own: those scripts do not separate words with spaces.
_TOKEN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]|\w+|\s+|[^\w\s]")


@dataclass(frozen=True)
class TextQuote:
    """A W3C TextQuoteSelector: the exact words, with the characters just before and after."""

    exact: str
    prefix: str  # up to CONTEXT_CHARS characters before `exact`; "" at the start of the text
    suffix: str  # up to CONTEXT_CHARS characters after `exact`; "" at the end of the text


@dataclass(frozen=True)
class TextPosition:
    """A W3C TextPositionSelector: start and end offsets into a document's plain text."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if not 0 <= self.start <= self.end:
            raise ValueError(f"invalid text position: {self.start}..{self.end}")


@dataclass(frozen=True)
class Anchor:
    """Where a quoted passage was found in a new text, how, and how similar the words there are.

    `score` is the similarity (0..1) of the words now at `position` to the old quoted words: 1.0
    whenever they are unchanged (every "exact" anchor, and a "context" anchor chosen among repeats).
    `quote` is the passage as it reads in the new text, ready to be stored for the next version.
    """

    position: TextPosition
    quote: TextQuote
    method: str  # EXACT, CONTEXT or FUZZY
    score: float


def describe(text: str, start: int, end: int) -> tuple[TextQuote, TextPosition]:
    """Build the quote and position selectors for text[start:end]."""
    if not 0 <= start < end <= len(text):
        raise ValueError(f"range {start}..{end} is empty or outside a text of {len(text)} chars")
    if not text[start:end].strip():
        raise ValueError("cannot anchor to whitespace only")
    return _quote_at(text, start, end), TextPosition(start, end)


def quote_matches(quote: TextQuote, text: str, position: TextPosition) -> bool:
    """Return whether the quoted words are still exactly at that position of the text."""
    return position.end <= len(text) and text[position.start : position.end] == quote.exact


def reanchor(
    quote: TextQuote,
    old_position: TextPosition | None,
    new_text: str,
    *,
    old_length: int | None = None,
) -> Anchor | None:
    """Find the quoted passage in a new version's text; None means the annotation is orphaned.

    `old_length`, the length of the text the position was taken in, lets the old position be
    scaled to the new text when choosing between candidates; without it the old offsets are
    used as they are. Never raises for any text.
    """
    if not quote.exact.strip() or not new_text.strip():
        return None
    expected = _expected_start(old_position, old_length, len(new_text))
    found = _find_exact(quote, new_text, expected) or _find_between_context(
        quote, new_text, expected
    )
    if found is None or found[3] < FUZZY_THRESHOLD:
        # Words between intact context that are only loosely like the old ones are taken last:
        # when the context repeats, they may be the wrong words, and a closer match wins.
        found = _find_fuzzy(quote, new_text, expected) or found
    if found is None:
        return None
    start, end, method, score = found
    return Anchor(
        position=TextPosition(start, end),
        quote=_quote_at(new_text, start, end),
        method=method,
        score=score,
    )


# --- the three methods -------------------------------------------------------------------------

_Found = tuple[int, int, str, float]  # start, end, method, score


def _find_exact(quote: TextQuote, text: str, expected: int | None) -> _Found | None:
    exact = quote.exact
    starts = _occurrences(text, exact)
    if not starts:
        return None
    if len(starts) == 1:
        return starts[0], starts[0] + len(exact), EXACT, 1.0

    def rank(start: int) -> tuple[bool, float, int]:
        end = start + len(exact)
        context_intact = _quote_at(text, start, end) == quote
        return (
            context_intact,
            _context_similarity(quote, text, start, end),
            -_distance(start, expected),
        )

    best = max(starts, key=rank)
    context_intact = rank(best)[0]
    return best, best + len(exact), EXACT if context_intact else CONTEXT, 1.0


def _find_between_context(quote: TextQuote, text: str, expected: int | None) -> _Found | None:
    if not quote.prefix and not quote.suffix:
        return None  # the quote was the whole text: no context to go by
    shortest, longest = _plausible_lengths(len(quote.exact), CONTEXT_THRESHOLD)
    # An empty prefix or suffix means the passage started or ended the text.
    starts = (
        [i + len(quote.prefix) for i in _occurrences(text, quote.prefix)] if quote.prefix else [0]
    )
    ends = _occurrences(text, quote.suffix) if quote.suffix else [len(text)]
    best: tuple[float, int] | None = None
    found: _Found | None = None
    for start in starts:
        first, last = bisect_left(ends, start + shortest), bisect_right(ends, start + longest)
        for end in ends[first:last]:
            if not text[start:end].strip():
                continue
            score = _similarity(quote.exact, text[start:end])
            rank = (score, -_distance(start, expected))
            if score >= CONTEXT_THRESHOLD and (best is None or rank > best):
                best, found = rank, (start, end, CONTEXT, score)
    return found


def _find_fuzzy(quote: TextQuote, text: str, expected: int | None) -> _Found | None:
    exact = quote.exact
    matcher = diff_match_patch()
    matcher.Match_Threshold = _MATCH_THRESHOLD
    if expected is None:
        matcher.Match_Distance = _UNPOSITIONED_MATCH_DISTANCE
        expected_start = 0
    else:
        matcher.Match_Distance = max(_MIN_MATCH_DISTANCE, _MATCH_DISTANCE_PER_CHAR * len(text))
        expected_start = expected

    candidates: list[tuple[int, int]] = []
    if len(exact) <= _PROBE_CHARS:
        start = matcher.match_main(text, exact, expected_start)
        if start != -1:
            candidates.append((start, start + len(exact)))
    else:
        # Match the first and last characters apart; also try each alone, taking the quote's
        # length, in case an edit near one end left that probe unrecognisable.
        head_start = matcher.match_main(text, exact[:_PROBE_CHARS], expected_start)
        tail_expected = expected_start + len(exact) - _PROBE_CHARS
        tail_start = matcher.match_main(text, exact[-_PROBE_CHARS:], tail_expected)
        if head_start != -1 and tail_start != -1 and head_start <= tail_start:
            candidates.append((head_start, tail_start + _PROBE_CHARS))
        if head_start != -1:
            candidates.append((head_start, head_start + len(exact)))
        if tail_start != -1:
            candidates.append((tail_start + _PROBE_CHARS - len(exact), tail_start + _PROBE_CHARS))

    shortest, longest = _plausible_lengths(len(exact), FUZZY_THRESHOLD)
    best: tuple[float, int] | None = None
    found: _Found | None = None
    for rough_start, rough_end in candidates:
        rough_start, rough_end = max(0, rough_start), min(len(text), rough_end)
        # The aligned span is better placed; the rough one is kept in case the alignment
        # went astray.
        for start, end in (_align(quote, text, rough_start, rough_end), (rough_start, rough_end)):
            if not shortest <= end - start <= longest or not text[start:end].strip():
                continue
            score = _similarity(exact, text[start:end])
            if score < FUZZY_THRESHOLD:
                continue
            # Between candidates, the one whose surroundings also match wins: a quote from one
            # of several similar sentences goes back to the sentence it was in.
            context = _context_similarity(quote, text, start, end)
            stored = len(quote.prefix) + len(quote.suffix)
            overall = (len(exact) * score + stored * context) / (len(exact) + stored)
            rank = (overall, -_distance(start, expected))
            if best is None or rank > best:
                best, found = rank, (start, end, FUZZY, score)
            break
    return found


# --- helpers -----------------------------------------------------------------------------------


def _quote_at(text: str, start: int, end: int) -> TextQuote:
    return TextQuote(
        exact=text[start:end],
        prefix=text[max(0, start - CONTEXT_CHARS) : start],
        suffix=text[end : end + CONTEXT_CHARS],
    )


def _expected_start(
    position: TextPosition | None, old_length: int | None, new_length: int
) -> int | None:
    if position is None:
        return None
    start = position.start
    if old_length:
        start = round(start * new_length / old_length)
    return max(0, min(start, new_length))


def _distance(start: int, expected: int | None) -> int:
    """Return how far a candidate is from where the passage is expected (first wins if unknown)."""
    return start if expected is None else abs(start - expected)


def _occurrences(text: str, needle: str) -> list[int]:
    """Return the start of every occurrence of a non-empty needle, overlapping ones included."""
    starts = []
    index = text.find(needle)
    while index != -1:
        starts.append(index)
        index = text.find(needle, index + 1)
    return starts


def _similarity(old: str, new: str) -> float:
    """Return how alike two strings are, 0..1, ignoring differences of Unicode normalisation.

    SequenceMatcher's autojunk heuristic would treat frequent characters (spaces, "e") of any
    string of 200 or more characters as noise and badly underrate long, barely edited quotes.
    """
    old = unicodedata.normalize("NFC", old)
    new = unicodedata.normalize("NFC", new)
    return SequenceMatcher(None, old, new, autojunk=False).ratio()


def _context_similarity(quote: TextQuote, text: str, start: int, end: int) -> float:
    """Return the share (0..1) of the stored prefix and suffix found again around text[start:end].

    Each side is compared with as many characters as were stored, next to the passage, and
    scored by the characters the two have in common (in order): a stored prefix cut short by the
    start of the old text still recognises the same words, and context cut short by the end of
    the new text scores no better than context that goes on with other words.
    """
    stored = len(quote.prefix) + len(quote.suffix)
    if not stored:
        return 1.0
    before = text[max(0, start - len(quote.prefix)) : start]
    after = text[end : end + len(quote.suffix)]
    return (_common_chars(quote.prefix, before) + _common_chars(quote.suffix, after)) / stored


def _common_chars(old: str, new: str) -> int:
    if not old or not new:
        return 0
    blocks = SequenceMatcher(None, old, new, autojunk=False).get_matching_blocks()
    return sum(block.size for block in blocks)


def _plausible_lengths(length: int, threshold: float) -> tuple[int, int]:
    """Return the shortest and longest spans that could be `threshold` similar to `length` chars.

    A ratio 2M / (a + b) of at least t, with M matches at most min(a, b), needs b between
    a * t / (2 - t) and a * (2 - t) / t: spans outside are refused without being compared.
    """
    shortest = math.ceil(length * threshold / (2 - threshold))
    longest = math.floor(length * (2 - threshold) / threshold)
    return shortest, longest


def _align(quote: TextQuote, text: str, rough_start: int, rough_end: int) -> tuple[int, int]:
    """Return the span of the text that lines up with the quote, near a rough span.

    Bitap finds where a probe starts, and the other end of a span is only estimated (edits may
    have changed its length). So each end is placed by diffing the old words on both sides of
    it (the stored context and the quote's first or last words) against the text around the
    rough end, and mapping the boundary through the diff: a word replaced or inserted at the
    edge of the quote is then inside the span, not cut in half or left out.
    """
    edge = 2 * _PROBE_CHARS
    head, tail = quote.exact[:edge], quote.exact[-edge:]
    # A little more text than the old words cover, not much more: the more extra words there
    # are, the more ways a word diff has of lining the old words up with a repeat of them.
    slack = _PROBE_CHARS // 4
    window_start = max(0, rough_start - len(quote.prefix) - slack)
    window = text[window_start : rough_start + len(head) + slack]
    start = window_start + _map_boundary(quote.prefix, head, window, at_start=True)
    window_start = max(0, rough_end - len(tail) - slack)
    window = text[window_start : rough_end + len(quote.suffix) + slack]
    end = window_start + _map_boundary(tail, quote.suffix, window, at_start=False)
    return start, end


def _map_boundary(before: str, after: str, new: str, *, at_start: bool) -> int:
    """Return the offset in `new` of the place between `before` and `after` in the old text.

    The diff is word by word (diff-match-patch's documented word mode: each distinct word is
    encoded as one character), because a character diff of reworded text lines up stray
    letters ("March. Consultants" against "May. Each consultant" matches "ch" with "ch") and
    would place the boundary inside a word. A boundary inside an unchanged word (a selection
    that started mid-word) keeps its place in the word. Words inserted exactly at the boundary
    go into the passage: after its start (`at_start`) and before its end.
    """
    old_tokens = _TOKEN.findall(before + after)
    new_tokens = _TOKEN.findall(new)
    # Which old word the boundary is in, and how far into it.
    boundary, inside = len(old_tokens), 0
    offset = 0
    for index, token in enumerate(old_tokens):
        if offset + len(token) > len(before):
            boundary, inside = index, len(before) - offset
            break
        offset += len(token)

    codes: dict[str, str] = {}
    for token in (*old_tokens, *new_tokens):
        codes.setdefault(token, chr(len(codes) + 1))
    matcher = diff_match_patch()
    matcher.Diff_Timeout = 0  # an exact diff, however fast the machine: results must not vary
    diffs = matcher.diff_main(
        "".join(codes[token] for token in old_tokens),
        "".join(codes[token] for token in new_tokens),
        False,
    )
    old_index = new_index = 0
    for op, chunk in diffs:
        if op == matcher.DIFF_INSERT:
            if at_start and old_index == boundary and not inside:
                break
            new_index += len(chunk)
            continue
        if old_index + len(chunk) > boundary:
            # The boundary falls in this chunk: at its place among unchanged words, or where
            # deleted words used to be.
            if op == matcher.DIFF_EQUAL:
                new_index += boundary - old_index
                return sum(len(token) for token in new_tokens[:new_index]) + inside
            break
        old_index += len(chunk)
        if op == matcher.DIFF_EQUAL:
            new_index += len(chunk)
    return sum(len(token) for token in new_tokens[:new_index])
