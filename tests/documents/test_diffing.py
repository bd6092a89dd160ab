import itertools
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.documents.diffing import Segment, change_counts, word_diff

EQ, INS, DEL = "equal", "insert", "delete"


def segments(*pairs: tuple[str, str]) -> list[Segment]:
    return [Segment(op, text) for op, text in pairs]


def old_text(diff: list[Segment]) -> str:
    return "".join(segment.text for segment in diff if segment.op != INS)


def new_text(diff: list[Segment]) -> str:
    return "".join(segment.text for segment in diff if segment.op != DEL)


def assert_well_formed(diff: list[Segment], old: str, new: str) -> None:
    assert old_text(diff) == old
    assert new_text(diff) == new
    assert all(segment.text for segment in diff)
    assert all(segment.op in {EQ, INS, DEL} for segment in diff)
    for first, second in itertools.pairwise(diff):
        assert first.op != second.op, "adjacent segments of one op must be merged"
        assert (first.op, second.op) != (INS, DEL), "a replace is a delete followed by an insert"


# --- examples ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("", "", []),
        ("", "New text.", segments((INS, "New text."))),
        ("Old text.", "", segments((DEL, "Old text."))),
        ("same words", "same words", segments((EQ, "same words"))),
        ("the cat sat", "the dog sat",
         segments((EQ, "the "), (DEL, "cat"), (INS, "dog"), (EQ, " sat"))),
        ("we were heard", "we were finally heard",
         segments((EQ, "we were"), (INS, " finally"), (EQ, " heard"))),
        ("we were not heard", "we were heard",
         segments((EQ, "we were"), (DEL, " not"), (EQ, " heard"))),
        ("Hello world", "Greetings world",
         segments((DEL, "Hello"), (INS, "Greetings"), (EQ, " world"))),
        ("one two", "one two three", segments((EQ, "one two"), (INS, " three"))),
        ("one two three", "one two", segments((EQ, "one two"), (DEL, " three"))),
        ("a b c d", "a x y d", segments((EQ, "a "), (DEL, "b c"), (INS, "x y"), (EQ, " d"))),
        ("Le café était fermé.", "Le café était ouvert à l'été.",
         segments((EQ, "Le café était "), (DEL, "fermé."), (INS, "ouvert à l'été."))),
        ("élève Élodie", "eleve Élodie", segments((DEL, "élève"), (INS, "eleve"), (EQ, " Élodie"))),
        ("Здравствуй мир", "Здравствуй, мир",
         segments((DEL, "Здравствуй"), (INS, "Здравствуй,"), (EQ, " мир"))),
        ("日本 語", "日本 語 です", segments((EQ, "日本 語"), (INS, " です"))),
        ("emoji 🙂 here", "emoji 🙁 here",
         segments((EQ, "emoji "), (DEL, "🙂"), (INS, "🙁"), (EQ, " here"))),
        ("a  b", "a b", segments((EQ, "a "), (DEL, " "), (EQ, "b"))),
        ("  padded  ", "padded", segments((DEL, "  "), (EQ, "padded"), (DEL, "  "))),
    ],
)  # fmt: skip
def test_word_diff_examples(old, new, expected):
    diff = word_diff(old, new)

    assert diff == expected
    assert_well_formed(diff, old, new)


def test_a_changed_word_is_replaced_whole_not_by_characters():
    diff = word_diff("a decision was taken", "a decisions was taken")

    assert segments((DEL, "decision"), (INS, "decisions")) == [s for s in diff if s.op != EQ]


def test_inserting_a_paragraph_is_one_clean_insert():
    old = "First paragraph here.\n\nLast paragraph here."
    new = "First paragraph here.\n\nA brand new paragraph.\n\nLast paragraph here."

    assert word_diff(old, new) == segments(
        (EQ, "First paragraph here."),
        (INS, "\n\nA brand new paragraph."),
        (EQ, "\n\nLast paragraph here."),
    )


def test_deleting_the_first_paragraph_is_one_clean_delete():
    old = "Gone now.\n\nStays here.\n\nAnd here."

    assert word_diff(old, "Stays here.\n\nAnd here.") == segments(
        (DEL, "Gone now.\n\n"), (EQ, "Stays here.\n\nAnd here.")
    )


def test_editing_a_paragraph_does_not_touch_the_breaks_around_it():
    old = "Intro.\n\nThe shelter was full every night.\n\nEnd."
    new = "Intro.\n\nThe shelter was full most nights.\n\nEnd."

    assert word_diff(old, new) == segments(
        (EQ, "Intro.\n\nThe shelter was full "),
        (DEL, "every night."),
        (INS, "most nights."),
        (EQ, "\n\nEnd."),
    )


def test_splitting_a_paragraph_shows_only_the_new_break():
    diff = word_diff("One sentence. Two sentence.", "One sentence.\n\nTwo sentence.")

    assert diff == segments((EQ, "One sentence."), (DEL, " "), (INS, "\n\n"), (EQ, "Two sentence."))
    assert change_counts(diff) == (0, 0)


def test_repeated_words_and_paragraphs_align_sensibly():
    old = "the the the\n\nthe the the"
    new = "the the the\n\nthe the the\n\nthe the the"

    assert word_diff(old, new) == segments((EQ, old), (INS, "\n\nthe the the"))


# --- change counts -------------------------------------------------------------------------


def test_change_counts_counts_words_not_segments():
    diff = word_diff("a b c d e", "a x c d e f g")

    assert change_counts(diff) == (3, 1)


def test_change_counts_of_no_change_or_empty():
    assert change_counts(word_diff("same text", "same text")) == (0, 0)
    assert change_counts([]) == (0, 0)
    assert change_counts(word_diff("", "three new words")) == (3, 0)
    assert change_counts(word_diff("two gone", "")) == (0, 2)


# --- properties ----------------------------------------------------------------------------

words = st.sampled_from(["the", "survivors", "é", "café", "we", "were", "heard", ".", "x", "🙂"])
spaces = st.sampled_from([" ", " ", " ", "  ", "\n", "\n\n", "\t", "\u00a0", ""])
texts = st.lists(st.tuples(spaces, words), max_size=40).map(
    lambda pairs: "".join(space + word for space, word in pairs)
)
anything = st.text(max_size=80)


@settings(max_examples=200, deadline=None)
@given(texts, texts)
def test_segments_rebuild_both_texts_from_words(old, new):
    assert_well_formed(word_diff(old, new), old, new)


@settings(max_examples=150, deadline=None)
@given(anything, anything)
def test_segments_rebuild_both_texts_from_any_text(old, new):
    assert_well_formed(word_diff(old, new), old, new)


@settings(max_examples=100, deadline=None)
@given(texts, st.data())
def test_small_edits_give_small_diffs(old, data):
    tokens = old.split(" ")
    position = data.draw(st.integers(0, len(tokens)))
    new = " ".join([*tokens[:position], "INSERTED", *tokens[position:]])

    diff = word_diff(old, new)

    assert_well_formed(diff, old, new)
    inserted, deleted = change_counts(diff)
    assert inserted >= 1
    assert inserted - deleted == 1


@settings(max_examples=50, deadline=None)
@given(texts)
def test_identical_texts_are_one_equal_segment(text):
    assert word_diff(text, text) == ([Segment(EQ, text)] if text else [])


# --- long texts ----------------------------------------------------------------------------

VOCABULARY = [
    "the",
    "of",
    "and",
    "to",
    "in",
    "a",
    "is",
    "that",
    "for",
    "on",
    "with",
    "as",
    "was",
    "we",
    "were",
    "our",
    "they",
    "survivors",
    "support",
    "housing",
    "legal",
    "aid",
    "trafficking",
    "exploitation",
    "report",
    "recommendation",
    "council",
    "government",
    "shelter",
    "work",
    "employer",
    "debt",
    "passport",
    "police",
    "court",
    "services",
    "victim",
    "consultant",
    "draft",
    "section",
    "chapter",
    "evidence",
    "training",
    "funding",
    "à",
    "été",
    "café",
    "société",
    "les",
    "des",
    "une",
    "été",
    "déjà",
]


def long_document(rng: random.Random, paragraphs: int, words_per: tuple[int, int]) -> list[str]:
    return [
        " ".join(rng.choice(VOCABULARY) for _ in range(rng.randint(*words_per))) + "."
        for _ in range(paragraphs)
    ]


def test_twenty_thousand_words_changed_in_a_few_places():
    rng = random.Random(20_000)
    old_paragraphs = long_document(rng, 250, (60, 100))
    old = "\n\n".join(old_paragraphs)
    assert len(old.split()) > 19_000

    new_paragraphs = list(old_paragraphs)
    words_10 = new_paragraphs[10].split(" ")
    replaced_word = words_10[5]
    words_10[5] = "REPLACED"
    new_paragraphs[10] = " ".join(words_10)
    deleted_paragraph = new_paragraphs.pop(100)
    new_paragraphs.insert(180, "An entirely NEW paragraph.")
    new_paragraphs[-1] = new_paragraphs[-1] + " Final words."
    new = "\n\n".join(new_paragraphs)

    diff = word_diff(old, new)

    assert_well_formed(diff, old, new)
    assert [segment for segment in diff if segment.op != EQ] == segments(
        (DEL, replaced_word),
        (INS, "REPLACED"),
        (DEL, "\n\n" + deleted_paragraph),
        (INS, "\n\nAn entirely NEW paragraph."),
        (INS, " Final words."),
    )
    assert change_counts(diff) == (1 + 4 + 2, 1 + len(deleted_paragraph.split()))


def test_twenty_thousand_words_in_one_paragraph():
    rng = random.Random(1)
    old_words = [rng.choice(VOCABULARY) for _ in range(20_000)]
    new_words = list(old_words)
    new_words[3_000] = "CHANGED"
    del new_words[9_000:9_005]
    new_words[15_000:15_000] = ["two", "more"]
    old, new = " ".join(old_words), " ".join(new_words)

    diff = word_diff(old, new)

    assert_well_formed(diff, old, new)
    assert change_counts(diff) == (3, 6)
