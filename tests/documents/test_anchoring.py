import unicodedata
from difflib import SequenceMatcher

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from portal.documents.anchoring import (
    CONTEXT_CHARS,
    CONTEXT_THRESHOLD,
    FUZZY_THRESHOLD,
    Anchor,
    TextPosition,
    TextQuote,
    describe,
    quote_matches,
    reanchor,
)
from portal.documents.rendering import render_markdown

REPORT = """\
# Paying survivor consultants fairly

Survivor leadership means that people with lived experience of trafficking shape the decisions
that affect them, rather than being consulted after those decisions are made.

Consultants on the advisory council are paid at the same hourly rate as other expert reviewers,
and they are paid within fourteen days of submitting their review.

Fair pay is not a gesture of goodwill. Unpaid consultation asks survivors to give their time and
expertise for free, which repeats the exploitation this report sets out to end.

## Recommendations

Every organisation that consults survivors should publish its rates of pay, cover travel and
childcare costs in advance, and never ask a consultant to disclose their own story as a condition
of payment.
"""

PAY_RATE = "paid at the same hourly rate as other expert reviewers"
GOODWILL = "Fair pay is not a gesture of goodwill."
DISCLOSURE = "never ask a consultant to disclose their own story"


def plain(markdown: str) -> str:
    return render_markdown(markdown).plain_text


def selectors(text: str, passage: str, occurrence: int = 0) -> tuple[TextQuote, TextPosition]:
    start = -1
    for _ in range(occurrence + 1):
        start = text.index(passage, start + 1)
    return describe(text, start, start + len(passage))


def carry(old: str, passage: str, new: str, occurrence: int = 0) -> Anchor | None:
    """Annotate a passage of the old text and re-anchor it in the new one."""
    quote, position = selectors(old, passage, occurrence)
    return reanchor(quote, position, new, old_length=len(old))


def edit(text: str, *replacements: tuple[str, str]) -> str:
    """Apply replacements, each of which must find something to replace."""
    for old, new in replacements:
        assert old in text
        text = text.replace(old, new)
    return text


def text_at(text: str, anchor: Anchor) -> str:
    return text[anchor.position.start : anchor.position.end]


def assert_consistent(anchor: Anchor, text: str) -> None:
    """The anchor's quote is what the new text reads at its position, ready to be stored."""
    assert 0 <= anchor.position.start < anchor.position.end <= len(text)
    assert (anchor.quote, anchor.position) == describe(
        text, anchor.position.start, anchor.position.end
    )
    assert 0.0 <= anchor.score <= 1.0
    assert anchor.method in {"exact", "context", "fuzzy"}


# --- the corpus of edits -------------------------------------------------------------------

OLD = plain(REPORT)

# (old passage, edited Markdown, method expected, the words the anchor should cover)
CORPUS = {
    "unchanged": (PAY_RATE, REPORT, "exact", PAY_RATE),
    "paragraph inserted before": (
        PAY_RATE,
        edit(REPORT, ("Consultants on", "The council was set up by survivors.\n\nConsultants on")),
        "exact",
        PAY_RATE,
    ),
    "words inserted just before, in the same sentence": (
        PAY_RATE,
        edit(REPORT, ("council are paid", "council, whatever their role, are paid")),
        "exact",
        PAY_RATE,
    ),
    "sentences deleted around it": (
        GOODWILL,
        edit(
            REPORT,
            ("that affect them, rather than being consulted after those decisions are made.", ""),
            (" Unpaid consultation asks survivors to give their time and\nexpertise", ""),
        ),
        "exact",
        GOODWILL,
    ),
    "the paragraphs before it deleted": (
        DISCLOSURE,
        REPORT[REPORT.index("## Recommendations") :],
        "exact",
        DISCLOSURE,
    ),
    "a word changed inside, context intact": (
        PAY_RATE,
        edit(REPORT, ("same hourly rate", "same daily rate")),
        "context",
        "paid at the same daily rate as other expert reviewers",
    ),
    "two words changed inside, context intact": (
        PAY_RATE,
        edit(REPORT, ("paid at the same hourly rate", "paid the same day rate")),
        "context",
        "paid the same day rate as other expert reviewers",
    ),
    "words deleted inside": (
        PAY_RATE,
        edit(REPORT, ("same hourly rate as other expert", "same rate as other")),
        "context",
        "paid at the same rate as other reviewers",
    ),
    "words inserted inside": (
        PAY_RATE,
        edit(REPORT, ("paid at the same hourly", "paid promptly, and at the same hourly")),
        "context",
        "paid promptly, and at the same hourly rate as other expert reviewers",
    ),
    "a word changed inside and the context around it edited": (
        PAY_RATE,
        edit(
            REPORT,
            ("council are paid at the same hourly", "council will be paid at the same"),
            ("reviewers,\nand they", "reviewers. They"),
        ),
        "fuzzy",
        "paid at the same rate as other expert reviewers",
    ),
    "a typo fixed inside, context edited": (
        "exploitation this report sets out to end",
        edit(
            REPORT,
            ("exploitation this report", "exploitaton this report"),
            ("expertise for free, which repeats the", "expertise for nothing: this repeats the"),
        ),
        "fuzzy",
        "exploitaton this report sets out to end",
    ),
    "the recommendations moved to the top": (
        DISCLOSURE,
        "# Paying survivor consultants fairly\n\n"
        + REPORT[REPORT.index("## Recommendations") :]
        + "\n## Why\n\n"
        + REPORT[REPORT.index("Survivor leadership") : REPORT.index("## Recommendations")],
        "exact",
        DISCLOSURE,
    ),
    "a paragraph moved to the top and shortened": (
        GOODWILL,
        "# Paying survivor consultants fairly\n\n"
        "Fair pay is not a gesture of goodwill. Unpaid consultation asks survivors to give their "
        "time and expertise for free.\n\n" + REPORT[REPORT.index("Survivor leadership") :],
        "exact",
        GOODWILL,
    ),
    "the quoted paragraph deleted": (
        GOODWILL,
        edit(
            REPORT,
            (
                "Fair pay is not a gesture of goodwill. Unpaid consultation asks survivors to "
                "give their time and\nexpertise for free, which repeats the exploitation this "
                "report sets out to end.\n\n",
                "",
            ),
        ),
        None,
        None,
    ),
    "the quoted words rewritten, context intact": (
        PAY_RATE,
        edit(REPORT, (PAY_RATE, "compensated like any specialist")),
        None,
        None,
    ),
    "the quoted sentence rewritten": (
        GOODWILL,
        edit(REPORT, (GOODWILL, "Paying people properly is a matter of justice, not charity.")),
        None,
        None,
    ),
}


@pytest.mark.parametrize(("passage", "edited", "method", "expected"), CORPUS.values(), ids=CORPUS)
def test_corpus_of_edits(passage, edited, method, expected):
    new = plain(edited)

    anchor = carry(OLD, passage, new)

    if method is None:
        assert anchor is None
        return
    assert anchor is not None
    assert (anchor.method, text_at(new, anchor)) == (method, expected)
    assert_consistent(anchor, new)
    if method == "exact":
        assert anchor.score == 1.0
    elif method == "fuzzy":
        assert FUZZY_THRESHOLD <= anchor.score < 1.0
    else:
        assert CONTEXT_THRESHOLD <= anchor.score <= 1.0


def test_unchanged_text_keeps_the_same_position_and_quote():
    quote, position = selectors(OLD, PAY_RATE)

    anchor = reanchor(quote, position, OLD, old_length=len(OLD))

    assert anchor == Anchor(position=position, quote=quote, method="exact", score=1.0)


def test_an_anchor_follows_its_passage_through_several_versions():
    versions = [
        REPORT,
        edit(REPORT, ("# Paying", "# Report 3: paying")),
        edit(REPORT, ("same hourly rate", "same daily rate")),
        edit(
            REPORT,
            ("same hourly rate", "same daily rate"),
            ("Consultants on the advisory council are", "Members of the advisory council, who are"),
        ),
    ]
    texts = [plain(version) for version in versions]
    quote, position = selectors(texts[0], PAY_RATE)
    old = texts[0]

    methods = []
    for new in texts[1:]:
        anchor = reanchor(quote, position, new, old_length=len(old))
        assert anchor is not None
        methods.append(anchor.method)
        quote, position, old = anchor.quote, anchor.position, new

    assert methods == ["exact", "context", "exact"]
    assert text_at(old, anchor) == "paid at the same daily rate as other expert reviewers"


# --- fuzzy matches, either side of the threshold -------------------------------------------

SENTENCE = "Consultants are paid within fourteen days of submitting their review."
AROUND = ("Payment terms were agreed with the council in March. ", " Late payments are reported.")


def reworded(sentence: str) -> Anchor | None:
    """Anchor SENTENCE and re-anchor it after rewording it and the text just around it."""
    old = AROUND[0] + SENTENCE + AROUND[1]
    new = "Payment terms were agreed in May. " + sentence + " Late payments are audited."
    return carry(old, SENTENCE, new)


def ratio(old: str, new: str) -> float:
    return SequenceMatcher(None, old, new, autojunk=False).ratio()


# Rewordings of SENTENCE, from light to heavy; the comment is their similarity to it.
REWORDINGS = [
    "Consultants are paid within ten days of submitting their review.",  # 0.96
    "Consultants are paid within fourteen days of submitting a review.",  # 0.96
    "Consultants will be paid within fourteen days of submitting their reviews.",  # 0.94
    "Consultants are paid within 14 days of submitting their review.",  # 0.92
    "Consultants get paid within two weeks of submitting their review.",  # 0.87
    "Each consultant is paid within fourteen days of sending their review.",  # 0.84
    "Consultants are paid within ten working days of sending in their review.",  # 0.82
    "Consultants are paid within two weeks of handing in their review.",  # 0.79
    "Reviewers are paid within a fortnight of submitting their review.",  # 0.76
    "Consultants receive their fee within fourteen days of a review.",  # 0.74
    "Consultants are paid two weeks after submitting their written review.",  # 0.74
    "Consultants are always paid within two weeks once their review is in.",  # 0.71
    "Consultants must be paid no later than a fortnight after their review.",  # 0.60
    "Consultants are paid monthly.",  # 0.51
    "Consultants receive payment two weeks after they hand in their notes.",  # 0.44
    "Reviews are settled by bank transfer at the end of each month.",  # 0.35
]


@pytest.mark.parametrize("sentence", REWORDINGS)
def test_a_rewording_is_found_fuzzily_if_and_only_if_similar_enough(sentence):
    anchor = reworded(sentence)

    if ratio(SENTENCE, sentence) >= FUZZY_THRESHOLD:
        assert anchor is not None
        assert anchor.method == "fuzzy"
        assert anchor.quote.exact == sentence
        assert anchor.score == pytest.approx(ratio(SENTENCE, sentence))
    else:
        assert anchor is None


def test_the_rewording_corpus_straddles_the_threshold():
    similarities = [ratio(SENTENCE, sentence) for sentence in REWORDINGS]

    assert sum(value >= FUZZY_THRESHOLD for value in similarities) == 9
    assert min(value for value in similarities if value >= FUZZY_THRESHOLD) < 0.77
    assert max(value for value in similarities if value < FUZZY_THRESHOLD) > 0.73
    assert 0.0 < CONTEXT_THRESHOLD <= FUZZY_THRESHOLD < 1.0


def test_a_deleted_item_does_not_jump_to_a_similar_sibling():
    items = [
        "Publish the hourly rate paid to survivor consultants.",
        "Publish the daily rate paid to interpreters and drivers.",
        "Cover travel and childcare costs in advance.",
    ]
    old = "\n\n".join(items)

    assert 0.6 < ratio(items[0], items[1]) < FUZZY_THRESHOLD
    assert carry(old, items[0], "\n\n".join(items[1:])) is None
    assert carry(old, items[1], "\n\n".join([items[0], items[2]])) is None


def test_a_moved_and_reworded_paragraph_is_found_at_its_new_place():
    new = plain(
        "# Paying survivor consultants fairly\n\n"
        "## Recommendations\n\n"
        "Every organisation that works with survivors must publish its rates of pay, cover "
        "travel and childcare costs up front, and never ask a consultant to disclose her own "
        "story before being paid.\n\n" + REPORT.split("\n\n", 1)[1].split("## Recommendations")[0]
    )
    passage = (
        "should publish its rates of pay, cover travel and childcare costs in advance, and never "
        "ask a consultant to disclose their own story"
    )

    anchor = carry(OLD, passage, new)

    assert anchor is not None
    assert anchor.method == "fuzzy"
    assert text_at(new, anchor) == (
        "must publish its rates of pay, cover travel and childcare costs up front, and never ask "
        "a consultant to disclose her own story"
    )
    assert anchor.position.start < new.index("Survivor leadership")


def test_a_short_quote_is_not_matched_to_unrelated_words():
    old = "Survivors were paid late. The council apologised."
    new = "The board met twice. The council approved the budget."

    assert carry(old, "paid late", new) is None


# --- repeated phrases ----------------------------------------------------------------------

REPEATED = (
    "Housing. Survivors told us that a safe place to live came first; without it, nothing else "
    "in the programme could work.\n\n"
    "Employment. Survivors told us that a safe place to work mattered as much as the wage "
    "itself.\n\n"
    "Health. Survivors told us that a safe place to talk about trauma was hard to find."
)
PHRASE = "Survivors told us that a safe place to"


def test_a_repeated_phrase_is_found_by_its_context():
    new = "Introduction. We spoke to forty survivors.\n\n" + REPEATED

    anchor = carry(REPEATED, PHRASE, new, occurrence=1)

    assert anchor is not None
    assert anchor.method == "exact"
    assert anchor.position.start == new.index("Employment. ") + len("Employment. ")


def test_a_repeated_phrase_with_edited_context_is_found_by_the_closest_context():
    new = edit(REPEATED, ("Employment. ", "Work. "), ("work mattered", "work, we heard, mattered"))

    anchor = carry(REPEATED, PHRASE, new, occurrence=1)

    assert anchor is not None
    assert anchor.method == "context"
    assert anchor.score == 1.0
    assert anchor.position.start == new.index("Work. ") + len("Work. ")


def test_the_right_repeat_is_found_even_if_the_others_moved_nearer():
    housing, employment, health = REPEATED.split("\n\n")
    new = "\n\n".join([health, employment, housing])

    anchor = carry(REPEATED, PHRASE, new, occurrence=0)

    assert anchor is not None
    assert anchor.position.start == new.index("Housing. ") + len("Housing. ")


def test_a_loose_match_between_repeated_context_loses_to_a_closer_match():
    # The suffix (" Survivors told us that a safe p") is edited after the quote but intact
    # after the next paragraph: the words between the prefix and that later suffix are only
    # about 0.5 like the quote, and a fuzzy match of the reworded quote itself is taken.
    passage = "nothing else in the programme could work.\n\nEmployment."
    new = edit(
        REPEATED,
        ("nothing else in", "nothing else at all in"),
        ("Employment. Survivors told", "Employment. Many survivors told"),
    )

    anchor = carry(REPEATED, passage, new)

    assert anchor is not None
    assert anchor.method == "fuzzy"
    assert anchor.quote.exact == "nothing else at all in the programme could work.\n\nEmployment."


def test_identical_repeats_are_told_apart_by_the_old_position_scaled():
    entry = (
        "Paid on time: yes. The consultant confirmed receipt of the payment in full, as agreed. "
    )
    padding = "Note from the finance team. "
    old = entry * 4
    new = (padding + entry) * 4
    quote, position = selectors(old, "confirmed receipt", occurrence=2)
    occurrences = [i for i in range(len(new)) if new.startswith("confirmed receipt", i)]

    scaled = reanchor(quote, position, new, old_length=len(old))
    unscaled = reanchor(quote, position, new)
    unpositioned = reanchor(quote, None, new)

    assert scaled is not None
    assert unscaled is not None
    assert unpositioned is not None
    assert scaled.position.start == occurrences[2]
    assert unscaled.position.start == occurrences[1]
    assert unpositioned.position.start == occurrences[0]
    assert {scaled.method, unscaled.method, unpositioned.method} == {"exact"}


def test_overlapping_occurrences_are_all_candidates():
    text = "aaaa bbbb aaaa"

    anchor = carry(text, "aa", text, occurrence=2)

    assert anchor is not None
    assert anchor.position == TextPosition(2, 4)


# --- the ends of the text ------------------------------------------------------------------


def test_a_quote_at_the_very_start_has_no_prefix_and_is_found():
    quote, position = selectors(OLD, "Paying survivor consultants")
    new = plain(edit(REPORT, ("# Paying", "# Draft 2: Paying")))

    anchor = reanchor(quote, position, new, old_length=len(OLD))

    assert quote.prefix == ""
    assert position.start == 0
    assert anchor is not None
    assert anchor.method == "exact"
    assert text_at(new, anchor) == "Paying survivor consultants"


def test_a_quote_at_the_very_end_has_no_suffix_and_is_found():
    quote, position = selectors(OLD, "a condition of payment.")
    new = OLD + "\n\nAnnex: rates of pay in 2024."

    anchor = reanchor(quote, position, new, old_length=len(OLD))

    assert quote.suffix == ""
    assert position.end == len(OLD)
    assert anchor is not None
    assert anchor.method == "exact"
    assert anchor.position == position


def test_an_empty_prefix_prefers_the_repeat_at_the_start():
    text = "Fair pay first. Then training. Fair pay first. Then housing."

    anchor = carry(text, "Fair pay first.", text, occurrence=0)

    assert anchor is not None
    assert anchor.method == "exact"
    assert anchor.position.start == 0


def test_the_start_of_the_text_reworded_is_found_by_its_suffix():
    old = "Fair pay is owed to every consultant. The council agreed the rates in March."
    new = "Fair pay is due to each consultant. The council agreed the rates in March."

    anchor = carry(old, "Fair pay is owed to every consultant.", new)

    assert anchor is not None
    assert anchor.method == "context"
    assert text_at(new, anchor) == "Fair pay is due to each consultant."


def test_a_quote_of_the_whole_text():
    text = "Consultants are paid at the expert rate."

    same = carry(text, text, text)
    edited = carry(text, text, "Consultants are paid at an expert rate.")

    assert same is not None
    assert (same.method, same.position) == ("exact", TextPosition(0, len(text)))
    assert edited is not None
    assert edited.method == "fuzzy"
    assert edited.quote.exact == "Consultants are paid at an expert rate."


# --- unicode, accents, whitespace ----------------------------------------------------------

FRENCH = (
    "Les survivantes et survivants consultés sont rémunérés au même tarif horaire que les autres "
    "expertes et experts, et le paiement intervient dans les quatorze jours suivant la remise de "
    "leur relecture. Ce n'est pas une faveur : c'est la reconnaissance d'une expertise."
)


def test_french_text_with_an_insertion_before_is_found_exactly():
    new = "Préambule : ce rapport a été relu par le conseil.\n\n" + FRENCH

    anchor = carry(FRENCH, "rémunérés au même tarif horaire", new)

    assert anchor is not None
    assert anchor.method == "exact"
    assert text_at(new, anchor) == "rémunérés au même tarif horaire"


def test_french_accents_corrected_inside_the_quote():
    old = edit(FRENCH, ("rémunérés au même tarif", "remuneres au meme tarif"))
    new = edit(FRENCH, ("Les survivantes et survivants consultés sont", "Les personnes sont"))

    anchor = carry(old, "remuneres au meme tarif horaire que les autres", new)

    assert anchor is not None
    assert anchor.method == "fuzzy"
    assert text_at(new, anchor) == "rémunérés au même tarif horaire que les autres"


def test_a_change_of_unicode_normalisation_only_is_a_perfect_fuzzy_match():
    new = unicodedata.normalize("NFD", FRENCH)

    anchor = carry(FRENCH, "rémunérés au même tarif", new)

    assert anchor is not None
    assert anchor.method == "fuzzy"
    assert anchor.score == 1.0
    assert unicodedata.normalize("NFC", text_at(new, anchor)) == "rémunérés au même tarif"


def test_other_scripts_and_emoji():
    old = "Отзыв консультанта: оплата вовремя 🙂. 報酬は専門家と同じ。 Merci à toutes."
    new = "Note : Отзыв консультанта: оплата вовремя 🙂. 報酬は専門家と同じ。 Merci à tous."

    for passage in ("оплата вовремя 🙂", "報酬は専門家と同じ", "Merci à"):
        anchor = carry(old, passage, new)
        assert anchor is not None
        assert (anchor.method, text_at(new, anchor)) == ("exact", passage)


def test_japanese_text_with_a_word_changed_is_found_fuzzily():
    old = "はじめに。当事者の相談員には、専門家と同じ報酬を支払います。以上です。"
    new = "序文。当事者の相談員には、専門家と同等の報酬を支払います。終わり。"

    anchor = carry(old, "当事者の相談員には、専門家と同じ報酬を支払います。", new)

    assert anchor is not None
    assert (anchor.method, text_at(new, anchor)) == (
        "fuzzy",
        "当事者の相談員には、専門家と同等の報酬を支払います。",
    )


def test_a_selection_starting_inside_a_word_is_kept_as_selected():
    text = "The unfairness of unpaid consultation was raised by every consultant."
    new = "Summary. " + text

    anchor = carry(text, "fairness of unpaid", new)

    assert anchor is not None
    assert (anchor.method, text_at(new, anchor)) == ("exact", "fairness of unpaid")


def test_rewrapped_lines_leave_the_plain_text_and_the_anchor_unchanged():
    rewrapped = edit(
        REPORT,
        ("expert reviewers,\nand they", "expert\nreviewers, and they"),
        ("decisions\nthat affect", "decisions that\naffect"),
    )

    anchor = carry(OLD, PAY_RATE, plain(rewrapped))

    assert anchor is not None
    assert (anchor.method, anchor.position) == ("exact", selectors(OLD, PAY_RATE)[1])


def test_a_paragraph_split_inside_the_quote_is_still_found():
    passage = "the same hourly rate as other expert reviewers, and they are paid within"
    new = plain(edit(REPORT, ("reviewers,\nand they", "reviewers.\n\nThey")))

    anchor = carry(OLD, passage, new)

    assert anchor is not None
    assert anchor.method in {"context", "fuzzy"}
    assert text_at(new, anchor) == (
        "the same hourly rate as other expert reviewers.\n\nThey are paid within"
    )


def test_doubled_spaces_in_a_raw_text_are_tolerated():
    old = "Consultants are paid at the same hourly rate as other expert reviewers in the team."
    new = edit(old, ("same hourly rate", "same  hourly  rate"), (" in the team", ""))

    anchor = carry(old, "paid at the same hourly rate as other", new)

    assert anchor is not None
    assert text_at(new, anchor) == "paid at the same  hourly  rate as other"


# --- long quotes ---------------------------------------------------------------------------

LONG_PASSAGE = (
    "Consultants on the advisory council are paid at the same hourly rate as other expert "
    "reviewers, and they are paid within fourteen days of submitting their review.\n\nFair pay is "
    "not a gesture of goodwill. Unpaid consultation asks survivors to give their time and "
    "expertise for free, which repeats the exploitation this report sets out to end."
)


def test_a_long_quote_with_small_edits_inside_is_found_by_its_context():
    new = plain(edit(REPORT, ("fourteen days", "ten working days"), ("for free", "unpaid")))

    anchor = carry(OLD, LONG_PASSAGE, new)

    assert len(LONG_PASSAGE) > 300
    assert anchor is not None
    assert anchor.method == "context"
    assert anchor.quote.exact.startswith("Consultants on the advisory council")
    assert anchor.quote.exact.endswith("this report sets out to end.")


RENAMED_HEADING = ("## Recommendations", "## What we recommend")


CONTEXT_EDITED = [("decisions are made.", "decisions are taken."), RENAMED_HEADING]


@pytest.mark.parametrize(
    ("replacements", "first_words", "last_words"),
    [
        # edits at both ends of the quote
        ([("Consultants on", "Every consultant on"), ("to end.", "to end!")],
         "Every consultant on", "sets out to end!"),
        # the first words rewritten, so only the end of the quote is matched well
        ([("Consultants on the advisory council are", "Members of the panel are")],
         "Members of the panel are paid", "sets out to end."),
        # the last words rewritten, so only the start of the quote is matched well
        ([("the exploitation this report sets out to end.", "the very exploitation we oppose.")],
         "Consultants on the advisory", "repeats the very exploitation we oppose."),
    ],
)  # fmt: skip
def test_a_long_quote_with_small_edits_and_its_context_edited_is_found_fuzzily(
    replacements, first_words, last_words
):
    new = plain(edit(REPORT, *CONTEXT_EDITED, *replacements))

    anchor = carry(OLD, LONG_PASSAGE, new)

    assert anchor is not None
    assert anchor.method == "fuzzy"
    assert anchor.score >= FUZZY_THRESHOLD
    assert anchor.quote.exact.startswith(first_words)
    assert anchor.quote.exact.endswith(last_words)


HALF_REWRITTEN = [
    ("Consultants on the advisory council are paid", "All consultants are paid"),
    (
        "Fair pay is not a gesture of goodwill. Unpaid consultation asks survivors to give their "
        "time and\nexpertise for free, which repeats the exploitation this report sets out to end.",
        "We also discussed travel, the timing of meetings, and how the council should choose its "
        "chair next year, among other items of business.",
    ),
]


def test_a_long_quote_half_rewritten_between_intact_context_is_kept_with_a_low_score():
    new = plain(edit(REPORT, *HALF_REWRITTEN))

    anchor = carry(OLD, LONG_PASSAGE, new)

    assert anchor is not None
    assert anchor.method == "context"
    assert CONTEXT_THRESHOLD <= anchor.score < FUZZY_THRESHOLD
    assert anchor.quote.exact.startswith("All consultants are paid")
    assert anchor.quote.exact.endswith("among other items of business.")


def test_a_long_quote_half_rewritten_with_its_context_edited_is_orphaned():
    new = plain(edit(REPORT, *HALF_REWRITTEN, RENAMED_HEADING))

    assert carry(OLD, LONG_PASSAGE, new) is None


# --- describe and quote_matches ------------------------------------------------------------


def test_describe_builds_both_selectors():
    text = "x" * 40 + "fair pay" + "y" * 40

    quote, position = describe(text, 40, 48)

    assert quote == TextQuote(
        exact="fair pay", prefix="x" * CONTEXT_CHARS, suffix="y" * CONTEXT_CHARS
    )
    assert position == TextPosition(40, 48)


def test_describe_keeps_short_context_at_the_ends():
    quote, _ = describe("Fair pay now.", 5, 8)

    assert quote == TextQuote(exact="pay", prefix="Fair ", suffix=" now.")


@pytest.mark.parametrize(
    ("start", "end"),
    [(-1, 3), (0, 0), (5, 5), (6, 5), (0, 14), (14, 15), (13, 13)],
)
def test_describe_refuses_empty_or_out_of_range_ranges(start, end):
    with pytest.raises(ValueError, match="range"):
        describe("Fair pay now.", start, end)


@pytest.mark.parametrize(("text", "start", "end"), [("Fair pay", 4, 5), ("  \n\t pay", 0, 5)])
def test_describe_refuses_whitespace_only_ranges(text, start, end):
    with pytest.raises(ValueError, match="whitespace"):
        describe(text, start, end)


def test_a_text_position_cannot_be_negative_or_reversed():
    with pytest.raises(ValueError):
        TextPosition(-1, 2)
    with pytest.raises(ValueError):
        TextPosition(3, 2)


def test_quote_matches_checks_the_words_at_the_position():
    quote, position = selectors(OLD, PAY_RATE)
    shifted = "Preface.\n\n" + OLD

    assert quote_matches(quote, OLD, position)
    assert not quote_matches(quote, shifted, position)
    assert not quote_matches(quote, OLD[: position.end - 1], position)


# --- never raises --------------------------------------------------------------------------


@pytest.mark.parametrize("new", ["", " ", "\n\n", "x", "paid"])
def test_empty_or_tiny_new_texts_orphan_the_annotation(new):
    quote, position = selectors(OLD, PAY_RATE)

    assert reanchor(quote, position, new, old_length=len(OLD)) is None


def test_odd_stored_selectors_do_not_raise():
    assert reanchor(TextQuote("", "", ""), None, OLD) is None
    assert reanchor(TextQuote("  ", "a", "b"), TextPosition(0, 2), OLD) is None
    far = reanchor(TextQuote(PAY_RATE, "", ""), TextPosition(10**9, 10**9 + 5), OLD, old_length=0)
    assert far is not None
    assert text_at(OLD, far) == PAY_RATE


words = st.sampled_from(
    ["fair", "pay", "survivor", "consultant", "é", "rémunérés", "the", "a", ".", "🙂", "報酬"]
)
spaces = st.sampled_from([" ", " ", " ", "  ", "\n", "\n\n", ""])
texts = st.lists(st.tuples(spaces, words), min_size=1, max_size=60).map(
    lambda pairs: "".join(space + word for space, word in pairs)
)


@settings(max_examples=200, deadline=None)
@given(st.one_of(texts, st.text(min_size=1, max_size=120)), st.data())
def test_reanchoring_in_the_same_text_returns_the_same_position(text, data):
    start = data.draw(st.integers(0, len(text) - 1))
    end = data.draw(st.integers(start + 1, len(text)))
    assume(text[start:end].strip())
    quote, position = describe(text, start, end)

    anchor = reanchor(quote, position, text, old_length=len(text))

    assert anchor is not None
    assert anchor.position == position
    assert anchor.method in {"exact", "context"}
    assert anchor.score == 1.0


@settings(max_examples=150, deadline=None)
@given(texts, st.data(), st.one_of(texts, st.text(max_size=120)))
def test_reanchoring_in_any_text_never_raises_and_returns_a_consistent_anchor(old, data, new):
    start = data.draw(st.integers(0, len(old) - 1))
    end = data.draw(st.integers(start + 1, len(old)))
    assume(old[start:end].strip())
    quote, position = describe(old, start, end)

    anchor = reanchor(quote, position, new, old_length=len(old))

    if anchor is not None:
        assert_consistent(anchor, new)
        if anchor.method == "fuzzy":
            assert anchor.score >= FUZZY_THRESHOLD
