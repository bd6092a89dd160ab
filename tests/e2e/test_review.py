"""Reviewing a draft in a real browser (issue 4), in English and in French.

A consultant selects words with the mouse and comments on them; comments on a whole passage with
the keyboard alone; follows a highlight to its comment and back; the editor replies and publishes
new versions, and the highlights follow their words (or the comment is listed as "passage gone");
the consultant approves and the editor sees the decision. axe-core checks every page visited.

review.js rebuilds the server's plain text from the page to draw highlights and to turn a
selection into offsets; the last test checks that both agree on Markdown that exercises every
rule (inline markup, hard breaks, no-break spaces, tight and nested lists, quotes, tables, code
blocks, images, emoji and other characters outside the Basic Multilingual Plane).

Each test makes its own people (in the language of the run), report and section through the
portal's services on the live server, so the shared demo data is left alone.
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from flask_babel import force_locale, gettext
from playwright.sync_api import expect

from portal.models import utcnow

pytestmark = pytest.mark.e2e

LANGS = ["en", "fr"]
# MATHEMATICAL DOUBLE-STRUCK CAPITAL A: one code point, two UTF-16 units, like most emoji.
MATH_A = "\U0001d538"

# Text of a highlight: its marks' words (without the screen-reader markers), the pieces within
# one block joined as they are, the blocks joined like the server's plain text.
HIGHLIGHT_TEXTS = """() => {
  const space = new RegExp(
    "[\\t-\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]+", "g"
  );
  const found = {};
  for (const mark of document.querySelectorAll("article mark.portal-highlight")) {
    const id = mark.dataset.annotationId;
    const clone = mark.cloneNode(true);
    clone.querySelectorAll(".portal-highlight__marker").forEach((m) => m.remove());
    const block = mark.parentElement.closest("[data-block]");
    const parts = (found[id] = found[id] || []);
    const last = parts[parts.length - 1];
    if (last && last.block === block) last.text += clone.textContent;
    else parts.push({ block, text: clone.textContent });
  }
  const out = {};
  for (const [id, parts] of Object.entries(found)) {
    out[id] = parts.map((p) => p.text.replace(space, " ").trim()).join("\\n\\n");
  }
  return out;
}"""

# Find words in the first element matching a selector whose text has them (the ✎ control and
# review.js's additions left out); return [text node, offset] of their start or end.
_LOCATE = """
  const locate = (selector, words, atEnd) => {
    const skip = ".portal-annotate, .portal-highlight__marker, .portal-selection-action";
    for (const root of document.querySelectorAll(selector)) {
      const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT, {
        acceptNode: (n) =>
          n.parentElement.closest(skip) ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT,
      });
      const nodes = [];
      let text = "";
      for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        nodes.push([n, text.length]);
        text += n.data;
      }
      const at = text.indexOf(words);
      if (at < 0) continue;
      const index = atEnd ? at + words.length : at;
      for (const [n, start] of nodes) {
        const end = start + n.data.length;
        const inside = atEnd ? index > start && index <= end : index >= start && index < end;
        if (inside) return [n, index - start];
      }
    }
    throw new Error("not found in " + selector + ": " + words);
  };
"""

SELECT = (
    "([startSel, startWords, endSel, endWords]) => {"
    + _LOCATE
    + """
    const range = document.createRange();
    range.setStart(...locate(startSel, startWords, false));
    range.setEnd(...locate(endSel, endWords, true));
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    range.startContainer.parentElement.dispatchEvent(new MouseEvent("mouseup", { bubbles: true }));
  }"""
)

# Where the mouse goes to drag over words: just inside their first and last characters.
DRAG_POINTS = (
    "([selector, words]) => {"
    + _LOCATE
    + """
    const box = (node, offset) => {
      const r = document.createRange();
      r.setStart(node, offset);
      r.setEnd(node, offset + 1);
      return r.getBoundingClientRect();
    };
    const [n1, o1] = locate(selector, words, false);
    n1.parentElement.scrollIntoView({ block: "center" });
    const [n2, o2] = locate(selector, words, true);
    const a = box(n1, o1);
    const b = box(n2, o2 - 1);
    return { x1: a.left + 1, y1: a.top + a.height / 2, x2: b.right - 1, y2: b.top + b.height / 2 };
  }"""
)

ACTIVE = "document.activeElement"


def texts(lang: str, tag: str) -> dict[str, str]:
    """A draft in the run's language, with accents, an emoji and a letter outside the BMP."""
    if lang == "en":
        return {
            "heading": f"Fair pay 🤝 for expertise {tag}",
            "p1": "Recruiters promised fair wages and safe housing to every worker they hired.",
            "p2": "Survivors described debts that grew faster than any wage could ever repay.",
            "p3": f"Consultants were paid 😀 for their time — {MATH_A} full rate, like others.",
            "new": "A new opening paragraph, added by the editor.",
            "mouse_words": "safe housing",
            "emoji_words": f"paid 😀 for their time — {MATH_A} full",
        }
    return {
        "heading": f"Une juste rémunération 🤝 {tag}",
        "p1": "Les recruteurs promettaient un salaire équitable et un logement sûr à chacun.",
        "p2": "Les survivantes ont décrit des dettes qui grossissaient plus vite que tout salaire.",
        "p3": f"Les consultantes ont été rémunérées 😀 pour leur temps — {MATH_A} plein tarif.",
        "new": "Un nouveau premier paragraphe, ajouté par l\u2019équipe éditoriale.",
        "mouse_words": "logement sûr",
        "emoji_words": f"été rémunérées 😀 pour leur temps — {MATH_A} plein",
    }


def markdown(t: dict[str, str], *paragraphs: str) -> str:
    return "\n\n".join([f"# {t['heading']}", *(t[p] for p in paragraphs)])


def bilingual(tag: str) -> tuple[str, str]:
    """The first version: the draft in English and in French."""
    return tuple(markdown(texts(code, tag), "p1", "p2", "p3") for code in ("en", "fr"))


@pytest.fixture
def words(live_server):
    """The portal's own wording in a language, as its catalog has it."""

    def say(lang: str, message: str, **variables) -> str:
        with live_server.app.test_request_context(), force_locale(lang):
            return gettext(message, **variables)

    return say


@pytest.fixture
def make_section(live_server, make_account):
    """A report and section of this test's own, published, and (optionally) a consultant who
    has accepted it and started."""
    from portal.accounts import services as accounts
    from portal.assignments import services as assignments
    from portal.extensions import db
    from portal.reports import services as reports

    def make(lang: str, body_en: str, body_fr: str | None, *, consultant: bool = True):
        tag = uuid.uuid4().hex[:6]
        editor = make_account("editor", locale=lang, name=f"Editor {tag}")
        reader = (
            make_account("consultant", locale=lang, name=f"Reviewer {tag}") if consultant else None
        )
        with live_server.app.app_context():
            editor_user = accounts.user_by_email(editor.email)
            report = reports.create_report(
                editor_user,
                title_en=f"Review journeys {tag}",
                title_fr=f"Relectures {tag}",
                year=2027,
            )
            db.session.flush()
            section = reports.create_section(
                editor_user, report, title_en=f"Wages {tag}", title_fr=f"Salaires {tag}"
            )
            db.session.flush()
            reports.publish_version(
                editor_user,
                section,
                body_en=body_en,
                body_fr=body_fr,
                change_summary=None,
                based_on=0,
            )
            if reader is not None:
                consultant_user = accounts.user_by_email(reader.email)
                assignment = assignments.assign_section(
                    editor_user,
                    section,
                    consultant_user,
                    due_on=utcnow().date() + timedelta(days=9),
                )
                assignments.accept(consultant_user, assignment)
                assignments.start_review(consultant_user, assignment)
            db.session.commit()
            return section.id, editor, reader

    return make


@pytest.fixture
def publish_with_services(live_server):
    """Publish the next version, changing one language's text, as the editor would."""
    from portal.accounts import services as accounts
    from portal.extensions import db
    from portal.reports import services as reports
    from portal.reports.models import Section

    def publish(editor, section_id: int, lang: str, body: str) -> None:
        with live_server.app.app_context():
            section = db.session.get(Section, section_id)
            latest = reports.latest_version(section)
            texts = {"en": latest.body_en, "fr": latest.body_fr, lang: body}
            reports.publish_version(
                accounts.user_by_email(editor.email),
                section,
                body_en=texts["en"],
                body_fr=texts["fr"],
                change_summary=None,
                based_on=latest.number,
            )
            db.session.commit()

    return publish


def highlights(page) -> dict[str, str]:
    return page.evaluate(HIGHLIGHT_TEXTS)


def annotation_id_from(url: str) -> str:
    match = re.search(r"#annotation-(\d+)$", url)
    assert match, url
    return match[1]


def tab_to(page, condition: str, limit: int = 80) -> None:
    """Press Tab until the focused element satisfies a JS condition on `el`."""
    check = f"(() => {{ const el = {ACTIVE}; return !!el && ({condition}); }})()"
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(check):
            return
    raise AssertionError(f"Tab never reached an element where {condition}")


def focused_html(page) -> str:
    return page.evaluate(f"{ACTIVE}.outerHTML.slice(0, 200)")


def choose(page, name: str, value: str) -> None:
    """Pick a USWDS radio button: the styled label is what a person clicks."""
    radio = page.locator(f"input[type=radio][name={name}][value={value}]")
    page.locator(f"label[for='{radio.get_attribute('id')}']").click()
    expect(radio).to_be_checked()


def open_text(page, section_id: int, lang: str) -> None:
    page.goto(f"/sections/{section_id}/read?lang={lang}&continue=1")
    expect(page.locator(f"article[data-language={lang}]")).to_be_visible()


def save_comment(page, axe, words, lang: str, passage: str, body: str, kind: str = "comment"):
    """On the comment form: check the passage shown, write, save; return the annotation id."""
    expect(page.locator("main h1")).to_have_text(words(lang, "Comment on a passage"))
    expect(page.locator("main figure blockquote")).to_have_text(passage)
    axe(page)
    choose(page, "kind", kind)
    page.locator("#body").fill(body)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    expect(page.locator("main")).to_contain_text(words(lang, "Your comment is saved."))
    return annotation_id_from(page.url)


def publish(page, axe, words, lang: str, section_id: int, body: str, number: int) -> None:
    """The editor publishes the next version through the form, in the run's language field."""
    page.goto(f"/sections/{section_id}/publish")
    axe(page)
    page.locator(f"#body_{lang}").fill(body)
    page.locator("#change_summary").fill("Reviewed text.")
    with page.expect_navigation():
        page.locator("[name=publish]").click()
    expect(page.locator("main")).to_contain_text(
        words(lang, "Version %(number)d is published.", number=number)
    )
    axe(page)


@pytest.mark.parametrize("lang", LANGS)
def test_comment_on_a_selection_follow_it_across_versions_and_approve(
    page, fresh_context, axe, ui, words, make_section, lang
):
    tag = uuid.uuid4().hex[:6]
    t = texts(lang, tag)
    section_id, editor, consultant = make_section(lang, *bilingual(tag))
    article = f"article[data-language={lang}]"
    paragraphs = f"{article} p"

    # (a) The consultant drags the mouse over two words; "Comment on the selection" appears
    # after the paragraph, next in the Tab order.
    ui.sign_in(page, consultant.email, consultant.password)
    axe(page)
    open_text(page, section_id, lang)
    axe(page)
    points = page.evaluate(DRAG_POINTS, [paragraphs, t["mouse_words"]])
    page.mouse.move(points["x1"], points["y1"])
    page.mouse.down()
    page.mouse.move(points["x2"], points["y2"], steps=8)
    page.mouse.up()
    assert page.evaluate("window.getSelection().toString()") == t["mouse_words"]
    action = page.locator(".portal-selection-action a")
    expect(action).to_have_text(words(lang, "Comment on the selection"))
    expect(action).to_be_visible()
    page.keyboard.press("Tab")
    expect(action).to_be_focused()
    axe(page)
    with page.expect_navigation():
        action.click()
    first = save_comment(page, axe, words, lang, t["mouse_words"], "Say who provides the housing.")
    mark = page.locator(f"mark.portal-highlight[data-annotation-id='{first}']")
    expect(mark.first).to_be_visible()
    assert highlights(page)[first] == t["mouse_words"]
    expect(page.locator(f"#annotation-{first} blockquote")).to_have_text(t["mouse_words"])
    # Screen readers hear where the comment starts and ends (the first in the list is number 1).
    markers = page.locator(f"mark[data-annotation-id='{first}'] .portal-highlight__marker")
    expect(markers).to_have_count(2)
    expect(markers.first).to_have_text(words(lang, "Comment %(number)s starts", number="1"))
    expect(markers.last).to_have_text(words(lang, "Comment %(number)s ends", number="1"))
    axe(page)

    # Code points, not UTF-16 units: a selection after and across emoji and U+1D538 (two units each
    # in JavaScript, one character in Python) is saved with exactly the words selected. A
    # concern this time.
    page.evaluate(SELECT, [paragraphs, t["emoji_words"], paragraphs, t["emoji_words"]])
    expect(action).to_be_visible()
    query = parse_qs(urlsplit(action.get_attribute("href")).query)
    plain = "\n\n".join([t["heading"], t["p1"], t["p2"], t["p3"]])
    start = plain.index(t["emoji_words"])
    assert (int(query["start"][0]), int(query["end"][0])) == (
        start,
        start + len(t["emoji_words"]),
    )
    with page.expect_navigation():
        action.click()
    concern = save_comment(
        page, axe, words, lang, t["emoji_words"], "This rate is not accurate.", kind="concern"
    )
    expect(page.locator(f"#annotation-{concern} blockquote")).to_have_text(t["emoji_words"])
    assert highlights(page)[concern] == t["emoji_words"]
    expect(page.locator(f"mark[data-annotation-id='{concern}']").first).to_have_class(
        re.compile(r"\bportal-highlight--concern\b")
    )
    concern_marker = page.locator(f"mark[data-annotation-id='{concern}'] .portal-highlight__marker")
    expect(concern_marker.first).to_have_text(words(lang, "Concern %(number)s starts", number="2"))

    # (f) A highlight leads to its comment and back: Enter, Space and a click.
    control = page.locator(f"mark.portal-highlight--first[data-annotation-id='{first}']")
    item = page.locator(f"#annotation-{first}")
    back = item.locator(".portal-back-to-text")
    expect(back).to_be_visible()
    expect(back).to_have_text(words(lang, "Back to the text"))
    control.focus()
    page.keyboard.press("Enter")
    expect(item).to_be_focused()
    back.focus()
    page.keyboard.press("Enter")
    expect(control).to_be_focused()
    page.keyboard.press("Space")
    expect(item).to_be_focused()
    back.click()
    expect(control).to_be_focused()
    page.locator(f"mark[data-annotation-id='{concern}']").first.click()
    expect(page.locator(f"#annotation-{concern}")).to_be_focused()
    axe(page)

    # (c) The editor replies in the thread, then publishes a version with a new first paragraph.
    editor_page = fresh_context().new_page()
    ui.sign_in(editor_page, editor.email, editor.password)
    axe(editor_page)
    open_text(editor_page, section_id, lang)
    axe(editor_page)
    assert highlights(editor_page)[first] == t["mouse_words"]
    editor_page.locator(f"#annotation-{first} a[href$='/annotations/{first}']").click()
    expect(editor_page.locator("main h1")).to_contain_text(words(lang, "Comment"))
    axe(editor_page)
    editor_page.locator("#body").fill("Thank you, we will name the provider.")
    with editor_page.expect_navigation():
        editor_page.locator("main form[action$='/reply'] button[type=submit]").click()
    expect(editor_page.locator("main")).to_contain_text(words(lang, "Your reply is saved."))
    expect(editor_page.locator(".portal-replies")).to_contain_text("we will name the provider")
    axe(editor_page)
    publish(editor_page, axe, words, lang, section_id, markdown(t, "new", "p1", "p2", "p3"), 2)

    page.reload()
    expect(page.locator(f"#annotation-{first}")).to_contain_text(
        words(lang, "Open the thread (%(num)d reply)", num=1)
    )
    moved = highlights(page)
    assert moved[first] == t["mouse_words"]
    assert moved[concern] == t["emoji_words"]
    new_start = int(page.locator(f"#annotation-{first}").get_attribute("data-start"))
    assert new_start == ("\n\n".join([t["heading"], t["new"], t["p1"]])).index(t["mouse_words"])
    axe(page)

    # (d) The editor removes the emoji paragraph: the concern is listed with its quote under
    # "Comments whose passage is gone", and no longer highlighted.
    publish(editor_page, axe, words, lang, section_id, markdown(t, "new", "p1", "p2"), 3)
    page.reload()
    gone = page.locator(
        ".portal-annotations h3", has_text=words(lang, "Comments whose passage is gone")
    )
    expect(gone).to_be_visible()
    orphan = page.locator(f"#annotation-{concern}.portal-annotation--orphan")
    expect(orphan.locator("blockquote")).to_have_text(t["emoji_words"])
    expect(orphan).to_contain_text(words(lang, "See it in version %(number)d", number=2))
    after = highlights(page)
    assert concern not in after
    assert after[first] == t["mouse_words"]
    axe(page)

    # (e) The consultant approves version 3; the editor's section page shows the decision.
    page.locator("main a[href$='/decision']").click()
    expect(page.locator("main h1")).to_have_text(words(lang, "Your decision"))
    axe(page)
    choose(page, "decision", "approve")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    expect(page.locator("main")).to_contain_text(
        words(lang, "Your decision on version %(number)d is recorded. Thank you.", number=3)
    )
    axe(page)
    editor_page.goto(f"/sections/{section_id}")
    decisions = editor_page.locator("section[aria-labelledby=decisions-heading]")
    expect(decisions.locator("li", has_text=consultant.display_name)).to_contain_text(
        words(lang, "Approve")
    )
    row = editor_page.locator(
        "section[aria-labelledby=assign-heading] tr", has_text=consultant.display_name
    )
    expect(row).to_contain_text(words(lang, "Submitted"))
    axe(editor_page)

    # Escape is left to the quick exit, even on a highlight: pressed twice, it leaves.
    open_text(page, section_id, lang)
    control.focus()
    page.keyboard.press("Escape")
    page.keyboard.press("Escape")
    expect(page).to_have_url(ui.neutral_url)


@pytest.mark.parametrize("lang", LANGS)
def test_comment_on_a_passage_with_the_keyboard_alone(
    page, axe, ui, words, make_section, publish_with_services, lang
):
    tag = uuid.uuid4().hex[:6]
    t = texts(lang, tag)
    section_id, editor, consultant = make_section(lang, *bilingual(tag))
    ui.sign_in(page, consultant.email, consultant.password)
    axe(page)
    open_text(page, section_id, lang)
    axe(page)

    # Tab to the ✎ control of the second paragraph, Enter.
    tab_to(
        page,
        # The control stands just before its paragraph.
        "el.matches('article a.portal-annotate') && el.nextElementSibling && "
        f"el.nextElementSibling.textContent.includes({t['p2'][:24]!r})",
    )
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator("main figure blockquote")).to_have_text(t["p2"])
    axe(page)
    tab_to(page, "el.id === 'body'")
    page.keyboard.type("Please say who holds these debts.")
    tab_to(page, "el.matches('main form button[type=submit]')")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator("main")).to_contain_text(words(lang, "Your comment is saved."))
    annotation = annotation_id_from(page.url)
    assert highlights(page)[annotation] == t["p2"]
    axe(page)
    # Side by side, the highlight is drawn in its own language only.
    page.goto(f"/sections/{section_id}/read?lang=both&continue=1")
    expect(page.locator(f"article[data-language={lang}] mark.portal-highlight")).not_to_have_count(
        0
    )
    other = "fr" if lang == "en" else "en"
    expect(page.locator(f"article[data-language={other}] mark.portal-highlight")).to_have_count(0)
    assert highlights(page)[annotation] == t["p2"]
    axe(page)

    # From the top of the page, Tab reaches the highlight; Enter goes to the comment and back.
    open_text(page, section_id, lang)
    tab_to(page, f"el.matches('mark.portal-highlight--first[data-annotation-id=\"{annotation}\"]')")
    page.keyboard.press("Enter")
    expect(page.locator(f"#annotation-{annotation}")).to_be_focused()
    tab_to(page, "el.matches('.portal-back-to-text')")
    page.keyboard.press("Enter")
    assert page.evaluate(f"{ACTIVE}.dataset.annotationId") == annotation, focused_html(page)

    # She resolves the thread. A resolved thread is not carried to later versions, so once a
    # version with a new first paragraph is out, its old offsets would point at other words:
    # it stays listed, without a highlight.
    page.locator(f"#annotation-{annotation} a[href$='/annotations/{annotation}']").click()
    axe(page)
    with page.expect_navigation():
        page.locator("main form[action$='/resolve'] button").click()
    expect(page.locator("main")).to_contain_text(words(lang, "The thread is resolved."))
    axe(page)
    publish_with_services(editor, section_id, lang, markdown(t, "new", "p1", "p2", "p3"))
    open_text(page, section_id, lang)
    expect(page.locator(f"#annotation-{annotation}")).to_be_visible()
    assert annotation not in highlights(page)
    expect(page.locator(f"#annotation-{annotation} .portal-back-to-text")).to_be_hidden()
    axe(page)


# Markdown that exercises every rule of the server's plain text.
TRICKY = """# Heading 🤝 \U0001d538 «guillemets»

Para *em* and **strong** with `code  spaced` and [a link](https://example.org/) and
![a picture](x.png) then  end.
Soft break\\
hard break and&nbsp;no-break space.

- tight a *em*
  - nested b 😀 \U0001d538
- tight c

1. loose

   second para

> quote para
> more lines

| table | cell |
|-------|------|
| not   | text |

    code block, not text

Last &amp; para with é, ñ and 🎉.
"""


def test_the_browser_and_the_server_agree_on_offsets(page, axe, ui, make_section, live_server):
    """Highlights drawn from the server's offsets cover the server's words, and selections give
    the server's offsets, on Markdown that tries every rule (and every leaf of it)."""
    from portal.accounts import services as accounts
    from portal.documents.rendering import render_markdown
    from portal.extensions import db
    from portal.reports.models import Section
    from portal.review import services as review
    from portal.review.models import AnnotationKind

    section_id, editor, _ = make_section("en", TRICKY, None, consultant=False)
    plain = render_markdown(TRICKY).plain_text
    leaves = plain.split("\n\n")
    assert "code block" not in plain and "table" not in plain  # not part of the text

    spans = []
    cursor = 0
    for leaf in leaves:  # every leaf, whole
        spans.append((cursor, cursor + len(leaf)))
        cursor += len(leaf) + 2
    for first, last in (
        ("strong", "no-break"),
        ("b 😀", "tight c"),
        ("\U0001d538 «", "loose"),
        ("ñ", "🎉"),
    ):
        start = plain.index(first)
        spans.append((start, plain.index(last, start) + len(last)))
    expected = {}
    with live_server.app.app_context():
        user = accounts.user_by_email(editor.email)
        section = db.session.get(Section, section_id)
        for start, end in spans:
            annotation = review.create_annotation(
                user,
                section,
                language="en",
                kind=AnnotationKind.COMMENT,
                body="Checking offsets.",
                start=start,
                end=end,
            )
            db.session.flush()
            assert annotation.quote_exact == plain[start:end]
            expected[str(annotation.id)] = plain[start:end]
        db.session.commit()

    ui.sign_in(page, editor.email, editor.password)
    axe(page)
    page.goto(f"/sections/{section_id}/read?lang=en&continue=1")
    drawn = highlights(page)
    assert drawn == expected
    axe(page)

    # Selections, inside one block and across several, give the server's offsets: each case is
    # (start element, its first words, end element, its last words, a text before the start).
    article = "article[data-language=en]"
    action = page.locator(".portal-selection-action a")
    for start_sel, start_words, end_sel, end_words, after in (
        (f"{article} li li", "b 😀", f"{article} li li", MATH_A, "nested"),
        (f"{article} h1", MATH_A, f"{article} p", "é", ""),
        (f"{article} p", "hard", f"{article} p", "no-break space", ""),
        (f"{article} ol p", "para", f"{article} blockquote p", "quote", "second"),
        (f"{article} p", "🎉", f"{article} p", "🎉", ""),
    ):
        page.evaluate("window.getSelection().removeAllRanges()")
        expect(page.locator(".portal-selection-action")).to_have_count(0)
        page.evaluate(SELECT, [start_sel, start_words, end_sel, end_words])
        expect(action).to_be_visible()
        query = parse_qs(urlsplit(action.get_attribute("href")).query)
        start = plain.index(start_words, plain.index(after))
        end = plain.index(end_words, start) + len(end_words)
        assert (int(query["start"][0]), int(query["end"][0])) == (start, end), plain[start:end]
    axe(page)
