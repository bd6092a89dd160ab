"""Review pages through the test client, as each role.

Annotating (a block or a selected span, the comment saved and shown beside the text, bad input
refused with the typed text kept and a translated message), the reading page's comments, orphans
and "comment on this passage" controls, threads (replies, and the buttons each person may use),
decisions (a fresh submission key per form, the stale-version refusal) and independent review.
"""

from __future__ import annotations

import re
from datetime import timedelta
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
from flask_babel import force_locale, gettext
from sqlalchemy import event, func, select

from portal.accounts.models import User
from portal.assignments import services as assignments
from portal.assignments.models import Assignment, AssignmentState
from portal.documents.rendering import render_markdown
from portal.extensions import db
from portal.models import utcnow
from portal.reports import services as reports
from portal.reports.models import Section
from portal.review import services
from portal.review.models import (
    Annotation,
    AnnotationKind,
    AnnotationReply,
    AnnotationState,
    Decision,
    SectionDecision,
)
from tests.conftest import AuthActions
from tests.reports.pages import Page, location, path_of, squash

BODY_EN = (
    "# Introduction\n\n"
    "Survivors of trafficking wrote this introduction as paid expert consultants.\n\n"
    "The report describes debt bondage in agriculture and domestic work, and how it ends.\n\n"
    "Recommendations follow in the final chapter of the report."
)
BODY_FR = (
    "# Présentation\n\n"
    "Des survivantes de la traite ont écrit cette introduction comme expertes rémunérées.\n\n"
    "Le rapport décrit la servitude pour dettes dans l'agriculture et le travail domestique.\n\n"
    "Les recommandations suivent dans le dernier chapitre du rapport."
)
PARAGRAPH = "The report describes debt bondage in agriculture and domestic work, and how it ends."
DEBT = "debt bondage"
SERVITUDE = "servitude pour dettes"


def translated(app, message: str, locale: str, **variables) -> str:
    with app.test_request_context(), force_locale(locale):
        return squash(gettext(message, **variables))  # as Page shows text: spaces folded


def signed_in(app, user_id: int):
    client = app.test_client()
    AuthActions(client, app).login_as(user_id)
    return client


@pytest.fixture
def world(app, editor, admin, consultant, consultant2, make_user):
    """A section in English and French, accepted by Amara and River, only offered to Pat."""
    pending = make_user("consultant", display_name="Pat", email="pat@example.org")
    with app.test_request_context():
        author = db.session.get(User, editor)
        report = reports.create_report(author, title_en="2027 Report", year=2027)
        section = reports.create_section(
            author, report, title_en="Introduction", title_fr="Présentation"
        )
        reports.publish_version(
            author, section, body_en=BODY_EN, body_fr=BODY_FR, change_summary=None, based_on=0
        )
        due = utcnow().date() + timedelta(days=14)
        for person in (consultant, consultant2, pending):
            user = db.session.get(User, person)
            assignment = assignments.assign_section(author, section, user, due_on=due)
            if person != pending:
                assignments.accept(user, assignment)
        db.session.commit()
        return SimpleNamespace(
            editor=editor,
            admin=admin,
            amara=consultant,
            river=consultant2,
            pending=pending,
            section=section.id,
        )


def text_of(app, section_id: int, language: str = "en") -> str:
    with app.app_context():
        section = db.session.get(Section, section_id)
        return services.plain_text(services.latest_version(section), language)


def where(app, world, passage: str, language: str = "en") -> dict:
    start = text_of(app, world.section, language).index(passage)
    return {"start": str(start), "end": str(start + len(passage))}


def block_id(source: str, words: str, language: str = "en") -> str:
    blocks = render_markdown(source, id_prefix=f"{language}-").blocks
    return next(block.id for block in blocks if words in block.text)


def annotate(app, world, user_id: int, passage: str = DEBT, language: str = "en", **fields):
    """Create an annotation directly; returns its id."""
    fields.setdefault("kind", AnnotationKind.COMMENT)
    fields.setdefault("body", "Please name the sectors.")
    with app.test_request_context():
        section = db.session.get(Section, world.section)
        text = services.plain_text(services.latest_version(section), language)
        start = text.index(passage)
        annotation = services.create_annotation(
            db.session.get(User, user_id),
            section,
            language=language,
            start=start,
            end=start + len(passage),
            **fields,
        )
        db.session.commit()
        return annotation.id


def act(app, user_id: int, annotation_id: int, operation, *args):
    with app.test_request_context():
        operation(db.session.get(User, user_id), db.session.get(Annotation, annotation_id), *args)
        db.session.commit()


def publish(app, world, body_en: str, body_fr: str | None = BODY_FR) -> int:
    with app.test_request_context():
        section = db.session.get(Section, world.section)
        version = reports.publish_version(
            db.session.get(User, world.editor),
            section,
            body_en=body_en,
            body_fr=body_fr,
            change_summary=None,
            based_on=reports.latest_version(section).number,
        )
        db.session.commit()
        return version.number


def load(app, model, object_id):
    with app.app_context():
        obj = db.session.get(model, object_id)
        db.session.expunge(obj)
        return obj


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def assignment_state(app, world, user_id: int) -> AssignmentState:
    with app.app_context():
        return db.session.scalar(
            select(Assignment.state).where(
                Assignment.section_id == world.section, Assignment.consultant_id == user_id
            )
        )


def reading(client, world, **args) -> Page:
    query = "&".join(f"{k}={v}" for k, v in {"continue": 1, **args}.items())
    response = client.get(f"/sections/{world.section}/read?{query}")
    assert response.status_code == 200
    return Page(response)


def listed(page: Page) -> dict[int, str]:
    """The comments beside the text (orphans included): id -> visible text."""
    return {
        int(node.attrs["id"].removeprefix("annotation-")): re.sub(r"\s+", " ", node.text()).strip()
        for node in page.all("li", cls="portal-annotation")
    }


# The annotate page ---------------------------------------------------------------------------


def test_the_annotate_page_shows_the_passage_of_a_block(app, world):
    client = signed_in(app, world.amara)
    block = block_id(BODY_EN, DEBT)
    response = client.get(f"/sections/{world.section}/annotate?language=en&block_id={block}")
    assert response.status_code == 200
    page = Page(response)
    assert page.one("blockquote").text().strip() == PARAGRAPH
    assert page.one("blockquote").attrs["lang"] == "en"
    assert (page.value("block_id"), page.value("language"), page.value("kind")) == (
        block,
        "en",
        "comment",
    )
    (form,) = [
        f for f in page.all("form") if f.attrs.get("method") == "post" and "usa-form" in f.classes()
    ]
    assert form.attrs["action"] == f"/sections/{world.section}/annotate"
    assert "“Amara”" in page.main  # who will see it, and under which name
    assert not page.ambiguous_labels()


def test_the_annotate_page_shows_a_selected_span(app, world):
    client = signed_in(app, world.amara)
    span = where(app, world, SERVITUDE, "fr")
    response = client.get(
        f"/sections/{world.section}/annotate?language=fr&start={span['start']}&end={span['end']}"
    )
    assert response.status_code == 200
    page = Page(response)
    assert page.one("blockquote").text().strip() == SERVITUDE
    assert page.one("blockquote").attrs["lang"] == "fr"
    assert (page.value("start"), page.value("end"), page.value("language")) == (
        span["start"],
        span["end"],
        "fr",
    )


@pytest.mark.parametrize(
    "query",
    [
        "",
        "language=en",
        "language=en&block_id=en-0000000000",
        "language=en&start=5&end=5",
        "language=en&start=0&end=99999",
        "language=en&start=-3&end=4",
        "language=en&start=five&end=nine",
    ],
)
def test_the_annotate_page_without_a_passage_goes_back_to_the_text(app, world, query):
    client = signed_in(app, world.amara)
    response = client.get(f"/sections/{world.section}/annotate?{query}")
    assert response.status_code == 302
    assert path_of(response) == f"/sections/{world.section}/read"
    page = Page(client.get(location(response)))
    assert (
        "That passage is no longer in the latest version. Please choose it again." in page.alerts()
    )


def test_saving_a_comment_on_a_block_returns_to_it_beside_the_text(app, world):
    client = signed_in(app, world.amara)
    block = block_id(BODY_EN, DEBT)
    response = client.post_form(
        f"/sections/{world.section}/annotate",
        {"language": "en", "block_id": block, "kind": "concern", "body": " This names a farm. "},
    )
    assert response.status_code == 302
    with app.app_context():
        annotation = db.session.scalars(select(Annotation)).one()
        assert (annotation.author_id, annotation.kind, annotation.body) == (
            world.amara,
            AnnotationKind.CONCERN,
            "This names a farm.",
        )
        assert (annotation.quote_exact, annotation.block_id) == (PARAGRAPH, block)
    parts = urlsplit(response.headers["Location"])
    assert parts.path == f"/sections/{world.section}/read"
    assert parse_qs(parts.query)["continue"] == ["1"]
    assert parts.fragment == f"annotation-{annotation.id}"
    page = Page(client.get(location(response)))
    assert "Your comment is saved." in page.alerts()
    assert "This names a farm." in listed(page)[annotation.id]


def test_saving_a_comment_on_french_words_returns_to_the_french_text(app, world):
    client = signed_in(app, world.amara)  # reads the portal in English
    response = client.post_form(
        f"/sections/{world.section}/annotate",
        {"language": "fr", **where(app, world, SERVITUDE, "fr"), "kind": "comment", "body": "Ok."},
    )
    assert response.status_code == 302
    with app.app_context():
        annotation = db.session.scalars(select(Annotation)).one()
        assert (annotation.language, annotation.quote_exact) == ("fr", SERVITUDE)
    assert urlsplit(response.headers["Location"]).fragment == f"annotation-{annotation.id}"
    page = Page(client.get(location(response)))
    # The comment it returns to is on the page.
    assert annotation.id in listed(page)
    assert f'id="annotation-{annotation.id}"' in page.html


def test_a_suggestion_is_shown_as_before_and_after(app, world):
    client = signed_in(app, world.amara)
    response = client.post_form(
        f"/sections/{world.section}/annotate",
        {
            "language": "en",
            **where(app, world, DEBT),
            "kind": "suggestion",
            "body": "Use the legal term.",
            "replacement": "forced labour through debt",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        annotation_id = db.session.scalar(select(Annotation.id))
    page = Page(client.get(f"/annotations/{annotation_id}"))
    assert [n.text() for n in page.all("del")] == ["[deleted:] debt bondage"]
    assert [n.text() for n in page.all("ins")] == ["[inserted:] forced labour through debt"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"body": "   "}, "Please write your comment."),
        ({"kind": "suggestion", "replacement": " "}, "Please write the rewording you suggest."),
        ({"start": "0", "end": "99999"}, "Please select some words of the text to comment on."),
        ({"start": "12", "end": "14"}, "Please select some words of the text to comment on."),
        ({"block_id": "en-0000000000"}, "That passage is no longer in the latest version."),
        ({"body": "b" * 5001}, "Please use at most 5000 characters."),
        ({"replacement": "r" * 5001}, "Please use at most 5000 characters."),
        ({"kind": "praise"}, None),
    ],
)
def test_bad_annotation_input_is_refused_and_the_typed_text_kept(app, world, changes, message):
    client = signed_in(app, world.amara)
    data = {
        "language": "en",
        **where(app, world, DEBT),
        "kind": "comment",
        "body": "What I wrote with care.",
        "replacement": "My wording.",
        **changes,
    }
    response = client.post_form(f"/sections/{world.section}/annotate", data)
    assert response.status_code == 400
    page = Page(response)
    assert page.errors(), "an error message is shown"
    if message:
        assert translated(app, message, "en", count=5000) in page.errors()
    assert page.value("body") == data["body"].strip()
    assert page.value("replacement") == data["replacement"].strip()
    assert count(app, Annotation) == 0


def test_a_missing_rewording_is_pointed_out_at_its_own_field(app, world):
    client = signed_in(app, world.amara)
    data = {"language": "en", **where(app, world, DEBT), "kind": "suggestion", "body": "Hm."}
    page = Page(client.post_form(f"/sections/{world.section}/annotate", data))
    error = page.one(id="replacement-error")
    assert error.text().strip() == "Please write the rewording you suggest."
    assert "replacement-error" in page.one("textarea", name="replacement").attrs["aria-describedby"]
    assert list(page.all(id="body-error")) == []  # the comment itself was fine


def test_annotation_errors_are_in_the_readers_language(app, world):
    client = signed_in(app, world.river)
    client.post_form("/language", {"locale": "fr", "next": "/"})
    typed = "Mon commentaire, très long. " * 200
    response = client.post_form(
        f"/sections/{world.section}/annotate",
        {"language": "fr", **where(app, world, SERVITUDE, "fr"), "kind": "comment", "body": typed},
    )
    assert response.status_code == 400
    page = Page(response)
    assert page.one("html").attrs["lang"] == "fr"
    message = translated(app, "Please use at most %(count)d characters.", "fr", count=5000)
    assert message != "Please use at most 5000 characters."
    assert message in page.errors()
    assert page.value("body") == typed.strip()


def test_the_annotate_form_can_be_used_again_after_an_error(app, world):
    client = signed_in(app, world.amara)
    data = {"language": "en", **where(app, world, DEBT), "kind": "suggestion", "body": "Hm."}
    refused = Page(client.post_form(f"/sections/{world.section}/annotate", data))
    resent = {
        name: refused.value(name)
        for name in ("language", "block_id", "start", "end", "kind", "body")
    }
    response = client.post_form(
        f"/sections/{world.section}/annotate", {**resent, "replacement": "forced labour"}
    )
    assert response.status_code == 302
    with app.app_context():
        annotation = db.session.scalars(select(Annotation)).one()
        assert (annotation.quote_exact, annotation.replacement) == (DEBT, "forced labour")


# The reading page ----------------------------------------------------------------------------


@pytest.mark.parametrize("reader", ["river", "editor", "admin"])
def test_the_reading_page_lists_comments_with_kind_name_and_state(app, world, reader):
    comment = annotate(app, world, world.amara, DEBT, body="Name the sectors.")
    concern = annotate(
        app, world, world.river, "final chapter", kind=AnnotationKind.CONCERN, body="Too late."
    )
    act(app, world.editor, concern, services.resolve)
    page = reading(signed_in(app, getattr(world, reader)), world, lang="en")
    comments = listed(page)
    assert set(comments) == {comment, concern}
    assert "Comment" in comments[comment] and "Amara" in comments[comment]
    assert "Open" in comments[comment] and DEBT in comments[comment]
    assert "Name the sectors." in comments[comment]
    assert "Concern" in comments[concern] and "River" in comments[concern]
    assert "Resolved" in comments[concern]
    # Consultants appear by display name only (security.md Z5).
    for hidden in ("Amara Okafor", "consultant@example.org", "Sophie Tremblay", "consultant2@"):
        assert hidden not in page.html
    # Beside the text: the comments are in the page's complementary region, not in the text.
    aside = page.one("aside", cls="portal-annotations")
    assert {n.attrs.get("id") for n in aside.iter() if n.tag == "li"} >= {
        f"annotation-{comment}",
        f"annotation-{concern}",
    }


def test_only_the_comments_on_the_language_shown_are_listed(app, world):
    english = annotate(app, world, world.amara, DEBT)
    french = annotate(app, world, world.amara, SERVITUDE, language="fr")
    client = signed_in(app, world.river)
    assert set(listed(reading(client, world, lang="en"))) == {english}
    assert set(listed(reading(client, world, lang="fr"))) == {french}
    assert set(listed(reading(client, world, lang="both"))) == {english, french}


PASSAGES = ("Survivors", "trafficking", "debt bondage", "domestic work", "final chapter")


def test_a_long_list_of_comments_comes_a_page_at_a_time_in_the_order_of_the_text(
    app, world, monkeypatch
):
    monkeypatch.setattr(services, "COMMENTS_PER_PAGE", 2)
    # Written out of order; listed in the order of the text.
    ids = {passage: annotate(app, world, world.amara, passage) for passage in PASSAGES[::-1]}
    in_text_order = [ids[passage] for passage in PASSAGES]
    french = annotate(app, world, world.amara, SERVITUDE, language="fr")
    client = signed_in(app, world.river)
    first = reading(client, world, lang="en")
    assert list(listed(first)) == in_text_order[:2]
    assert "Comments 1 to 2 of 5, in the order of the text." in first.main
    # Only the comments listed are drawn on the text (review.js reads their offsets).
    drawn = [n.attrs["data-annotation-id"] for n in first.all("li", cls="portal-annotation")]
    assert drawn == [str(i) for i in in_text_order[:2]]
    pager = first.one("nav", cls="usa-pagination")
    assert pager.attrs["aria-label"] == "Pages of comments"
    (following,) = [a.attrs["href"] for a in pager.iter() if a.tag == "a"]
    parts = urlsplit(following)
    assert parse_qs(parts.query) == {"page": ["2"], "lang": ["en"], "continue": ["1"]}
    assert parts.fragment == "annotations-heading"
    second = Page(client.get(following))
    assert list(listed(second)) == in_text_order[2:4]
    assert "Comments 3 to 4 of 5, in the order of the text." in second.main
    last = reading(client, world, lang="en", page=3)
    assert list(listed(last)) == in_text_order[4:]
    # A page past the end (the list shrank since the link was made) shows the last one.
    assert list(listed(reading(client, world, lang="en", page=9))) == in_text_order[4:]
    assert list(listed(reading(client, world, lang="en", page="x"))) == in_text_order[:2]
    # The French text lists only its own comment, on one page, without a pager.
    french_page = reading(client, world, lang="fr")
    assert list(listed(french_page)) == [french]
    assert not list(french_page.all("nav", cls="usa-pagination"))
    assert "of 1, in the order of the text" not in french_page.main
    # Side by side, both languages share the pages.
    assert list(listed(reading(client, world, lang="both", page=3))) == [in_text_order[4], french]


def test_a_comment_asked_for_opens_the_page_that_lists_it(app, world, monkeypatch):
    monkeypatch.setattr(services, "COMMENTS_PER_PAGE", 2)
    ids = [annotate(app, world, world.amara, passage) for passage in PASSAGES]
    client = signed_in(app, world.river)
    for index, annotation_id in enumerate(ids):
        page = reading(client, world, lang="en", comment=annotation_id)
        assert annotation_id in listed(page)
        assert f"Comments {index // 2 * 2 + 1} to" in page.main
    # An id that is not listed here (another language, or no such comment) opens the first page.
    french = annotate(app, world, world.amara, SERVITUDE, language="fr")
    assert list(listed(reading(client, world, lang="en", comment=french))) == ids[:2]
    assert list(listed(reading(client, world, lang="en", comment=99999))) == ids[:2]
    # The thread's way back to the text names the comment, so it lands on its page.
    thread = Page(client.get(f"/annotations/{ids[4]}"))
    (back,) = [a.attrs["href"] for a in thread.all("a") if a.text().strip() == "Back to the text"]
    assert parse_qs(urlsplit(back).query)["comment"] == [str(ids[4])]
    assert ids[4] in listed(Page(client.get(back)))


def test_a_comment_saved_on_a_later_page_is_shown_when_the_reader_returns(
    app, world, monkeypatch
):
    monkeypatch.setattr(services, "COMMENTS_PER_PAGE", 2)
    for passage in PASSAGES[:4]:
        annotate(app, world, world.river, passage)
    client = signed_in(app, world.amara)
    response = client.post_form(
        f"/sections/{world.section}/annotate",
        {"language": "en", **where(app, world, "final chapter"), "kind": "comment", "body": "Ok."},
    )
    assert response.status_code == 302
    with app.app_context():
        saved = db.session.scalar(select(func.max(Annotation.id)))
    page = Page(client.get(location(response)))
    assert "Your comment is saved." in page.alerts()
    assert saved in listed(page)
    assert "Comments 5 to 5 of 5" in page.main


def test_the_comment_pages_are_in_french_for_a_french_reader(app, world, monkeypatch):
    monkeypatch.setattr(services, "COMMENTS_PER_PAGE", 2)
    for passage in PASSAGES[:3]:
        annotate(app, world, world.amara, passage)
    client = signed_in(app, world.river)
    client.post_form("/language", {"locale": "fr", "next": "/"})
    page = reading(client, world, lang="en")
    assert "Commentaires 1 à 2 sur 3, dans l’ordre du texte." in page.main
    assert page.one("nav", cls="usa-pagination").attrs["aria-label"] == "Pages de commentaires"


def test_orphans_are_listed_apart_with_a_link_to_their_version(app, world):
    orphan = annotate(app, world, world.amara, PARAGRAPH, body="Say how it ends.")
    kept = annotate(app, world, world.amara, "final chapter", body="Which chapter?")
    publish(app, world, BODY_EN.replace(PARAGRAPH + "\n\n", ""))
    page = reading(signed_in(app, world.amara), world, lang="en")
    orphans = [n for n in page.all("li", cls="portal-annotation--orphan")]
    assert [n.attrs["id"] for n in orphans] == [f"annotation-{orphan}"]
    (item,) = orphans
    assert PARAGRAPH in re.sub(r"\s+", " ", item.text())
    links = {a.attrs["href"] for a in item.iter() if a.tag == "a"}
    assert f"/annotations/{orphan}" in links
    (old,) = [link for link in links if link.startswith(f"/sections/{world.section}/versions/1")]
    assert "continue=1" in old
    assert "Comments whose passage is gone" in page.main
    assert f"annotation-{kept}" not in {n.attrs["id"] for n in orphans}
    assert kept in listed(page)
    # The old version still shows the words the orphan was about.
    assert PARAGRAPH in Page(signed_in(app, world.amara).get(old)).main


def test_the_reading_page_query_count_does_not_grow_with_the_comments(app, world):
    client = signed_in(app, world.river)

    def statements() -> int:
        seen = []

        def listener(conn, cursor, statement, *args):
            seen.append(statement)

        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", listener)
        try:
            page = reading(client, world, lang="both")
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(seen), len(listed(page))

    # By the editor, who is also the version's author: users already loaded cost nothing.
    first = annotate(app, world, world.editor, DEBT)
    act(app, world.amara, first, services.reply, "Noted.")
    statements()  # the first page after signing in does a little more
    few = statements()
    for author in (world.amara, world.river, world.editor):
        for passage in ("final chapter", "Survivors", "Introduction"):
            annotation = annotate(app, world, author, passage)
            act(app, world.river, annotation, services.reply, "Me too.")
    annotate(app, world, world.river, SERVITUDE, language="fr")
    many = statements()
    assert (few[1], many[1]) == (1, 11)
    assert many[0] == few[0]


def controls(page: Page) -> list[str]:
    return [a.attrs["href"] for a in page.all("a", cls="portal-annotate")]


@pytest.mark.parametrize("reader", ["amara", "editor", "admin"])
def test_comment_controls_open_the_annotate_page_for_each_block(app, world, reader):
    client = signed_in(app, getattr(world, reader))
    page = reading(client, world, lang="en")
    links = controls(page)
    blocks = render_markdown(BODY_EN, id_prefix="en-").blocks
    assert len(links) == len(blocks) == 4
    for link, block in zip(links, blocks, strict=True):
        parts = urlsplit(link)
        assert parts.path == f"/sections/{world.section}/annotate"
        assert parse_qs(parts.query) == {"language": ["en"], "block_id": [block.id]}
    # Each control opens its passage.
    assert Page(client.get(links[2])).one("blockquote").text().strip() == PARAGRAPH


def test_comment_controls_are_not_shown_to_a_consultant_who_has_not_accepted(app, world):
    page = reading(signed_in(app, world.pending), world, lang="en")
    assert PARAGRAPH in page.main  # the text is readable once offered
    assert controls(page) == []
    assert page.one("article").attrs.get("data-annotate-url") is None


def test_comment_controls_are_only_on_the_latest_version(app, world):
    publish(app, world, BODY_EN.replace("final", "last"))
    client = signed_in(app, world.amara)
    old = Page(client.get(f"/sections/{world.section}/versions/1?continue=1&lang=en"))
    assert controls(old) == []
    assert "Comments are shown on the latest version." in old.main
    assert len(controls(reading(client, world, lang="en"))) == 4


def test_comments_are_escaped_wherever_they_are_shown(app, world):
    payload = '<img src=x onerror="alert(1)">'
    annotation = annotate(app, world, world.amara, DEBT, body=payload)
    act(app, world.river, annotation, services.reply, payload)
    client = signed_in(app, world.editor)
    for response in (
        client.get(f"/sections/{world.section}/read?continue=1"),
        client.get(f"/annotations/{annotation}"),
    ):
        html = response.get_data(as_text=True)
        assert payload not in html
        assert "&lt;img src=x onerror=" in html


# Threads -------------------------------------------------------------------------------------


def thread_actions(page: Page, annotation_id: int) -> set[str]:
    prefix = f"/annotations/{annotation_id}/"
    return {
        form.attrs["action"].removeprefix(prefix)
        for form in page.all("form")
        if form.attrs.get("action", "").startswith(prefix)
    }


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (
            "open",
            {
                "amara": {"reply", "resolve"},
                "river": {"reply"},
                "editor": {"reply", "resolve", "addressed"},
            },
        ),
        (
            "addressed",
            {
                "amara": {"reply", "reopen", "confirm"},
                "river": {"reply"},
                "editor": {"reply", "reopen"},
            },
        ),
        (
            "resolved",
            {"amara": {"reply", "reopen"}, "river": {"reply"}, "editor": {"reply", "reopen"}},
        ),
    ],
)
def test_the_thread_shows_the_buttons_each_person_may_use(app, world, state, expected):
    annotation = annotate(app, world, world.amara)
    if state == "addressed":
        act(app, world.editor, annotation, services.mark_addressed, 1)
    elif state == "resolved":
        act(app, world.amara, annotation, services.resolve)
    for who, actions in expected.items():
        response = signed_in(app, getattr(world, who)).get(f"/annotations/{annotation}")
        assert response.status_code == 200, who
        assert thread_actions(Page(response), annotation) == actions, who


def test_a_thread_shows_the_comment_its_replies_and_its_history(app, world):
    annotation = annotate(app, world, world.amara, DEBT, body="Name the sectors.")
    act(app, world.editor, annotation, services.reply, "We will.")
    act(app, world.river, annotation, services.reply, "Agreed.")
    act(app, world.editor, annotation, services.mark_addressed, 1)
    page = Page(signed_in(app, world.river).get(f"/annotations/{annotation}"))
    assert "Name the sectors." in page.main
    assert page.one("blockquote").text() == DEBT
    replies = [
        re.sub(r"\s+", " ", li.text()).strip()
        for li in page.one("ol", cls="portal-replies").iter()
        if li.tag == "li"
    ]
    assert len(replies) == 2
    assert replies[0].startswith("Camille") and replies[0].endswith("We will.")
    assert replies[1].startswith("River") and replies[1].endswith("Agreed.")
    assert "Addressed in version 1." in page.main
    assert "Camille: marked addressed (version 1)" in page.main
    for hidden in ("Amara Okafor", "consultant@example.org", "editor@example.org"):
        assert hidden not in page.html


def test_replying_in_a_thread(app, world):
    annotation = annotate(app, world, world.amara)
    client = signed_in(app, world.river)
    response = client.post_form(f"/annotations/{annotation}/reply", {"body": " I agree. "})
    assert response.status_code == 302
    assert location(response) == f"/annotations/{annotation}"
    page = Page(client.get(location(response)))
    assert "Your reply is saved." in page.alerts()
    assert "I agree." in page.main
    with app.app_context():
        reply = db.session.scalars(select(AnnotationReply)).one()
        assert (reply.author_id, reply.body) == (world.river, "I agree.")


@pytest.mark.parametrize(
    ("typed", "message"),
    [("  ", "Please write your reply."), ("r" * 5001, "Please use at most 5000 characters.")],
)
def test_a_bad_reply_is_refused_and_the_typed_text_kept(app, world, typed, message):
    annotation = annotate(app, world, world.amara)
    client = signed_in(app, world.river)
    response = client.post_form(f"/annotations/{annotation}/reply", {"body": typed})
    assert response.status_code == 400
    page = Page(response)
    assert translated(app, message, "en", count=5000) in page.errors()
    assert page.value("body") == typed.strip()
    assert count(app, AnnotationReply) == 0


def test_addressed_then_confirmed_then_reopened_through_the_pages(app, world):
    annotation = annotate(app, world, world.amara)
    publish(app, world, BODY_EN.replace("final", "last"))
    editor = signed_in(app, world.editor)
    response = editor.post_form(f"/annotations/{annotation}/addressed", {"version_number": "2"})
    assert location(response) == f"/annotations/{annotation}"
    page = Page(editor.get(location(response)))
    assert (
        "The thread is marked as addressed; its author can confirm or reopen it." in page.alerts()
    )
    assert load(app, Annotation, annotation).addressed_in == 2
    amara = signed_in(app, world.amara)
    response = amara.post_form(f"/annotations/{annotation}/confirm")
    assert "Thank you. The thread is resolved." in Page(amara.get(location(response))).alerts()
    assert load(app, Annotation, annotation).state is AnnotationState.RESOLVED
    response = amara.post_form(f"/annotations/{annotation}/reopen")
    assert "The thread is open again." in Page(amara.get(location(response))).alerts()
    assert load(app, Annotation, annotation).state is AnnotationState.OPEN
    response = editor.post_form(f"/annotations/{annotation}/resolve")
    page = Page(editor.get(location(response)))
    assert "The thread is resolved." in page.alerts()
    history = page.main
    assert "Camille: marked addressed (version 2)" in history
    assert "Amara: confirmed (version 2)" in history
    assert "Amara: reopened" in history
    assert "Camille: resolved" in history


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"version_number": "9"}, "There is no version 9."),
        ({"version_number": ""}, "Please give the version number."),
        ({"version_number": "two"}, "Please give the version number."),
    ],
)
def test_addressed_in_a_version_that_does_not_exist_is_refused(app, world, data, message):
    annotation = annotate(app, world, world.amara)
    editor = signed_in(app, world.editor)
    response = editor.post_form(f"/annotations/{annotation}/addressed", data)
    assert location(response) == f"/annotations/{annotation}"
    assert message in Page(editor.get(location(response))).alerts()
    assert load(app, Annotation, annotation).state is AnnotationState.OPEN


def test_a_refused_thread_action_is_explained(app, world):
    annotation = annotate(app, world, world.amara)
    client = signed_in(app, world.editor)
    response = client.post_form(f"/annotations/{annotation}/confirm")
    page = Page(client.get(location(response)))
    assert "Only the author of the comment can confirm it was addressed." in page.alerts()


# Decisions -----------------------------------------------------------------------------------


def decision_form(client, world) -> dict:
    response = client.get(f"/sections/{world.section}/decision")
    assert response.status_code == 200
    page = Page(response)
    return {name: page.value(name) for name in ("version_number", "submission_key")}


def test_each_decision_form_has_a_fresh_submission_key(app, world):
    client = signed_in(app, world.amara)
    first, second = decision_form(client, world), decision_form(client, world)
    assert first["version_number"] == second["version_number"] == "1"
    assert re.fullmatch(r"[0-9a-f]{32}", first["submission_key"])
    assert first["submission_key"] != second["submission_key"]


def test_a_decision_is_recorded_once_however_often_it_is_sent(app, world):
    client = signed_in(app, world.amara)
    form = {
        **decision_form(client, world),
        "decision": "approve_with_changes",
        "summary": "Name them.",
    }
    for _ in range(2):
        response = client.post_form(f"/sections/{world.section}/decision", form)
        assert response.status_code == 302
        assert path_of(response) == "/"
        page = Page(client.get("/"))
        assert "Your decision on version 1 is recorded. Thank you." in page.alerts()
    with app.app_context():
        decision = db.session.scalars(select(SectionDecision)).one()
        assert (decision.consultant_id, decision.decision, decision.summary) == (
            world.amara,
            Decision.APPROVE_WITH_CHANGES,
            "Name them.",
        )
    assert assignment_state(app, world, world.amara) is AssignmentState.SUBMITTED
    again = Page(client.get(f"/sections/{world.section}/decision"))
    assert "Your last decision: “Approve with changes” on version 1." in again.main


def test_a_form_sent_again_after_a_new_version_names_the_version_it_was_for(app, world):
    client = signed_in(app, world.amara)
    form = {**decision_form(client, world), "decision": "approve"}
    client.post_form(f"/sections/{world.section}/decision", form)
    publish(app, world, BODY_EN.replace("final", "last"))
    response = client.post_form(f"/sections/{world.section}/decision", form)
    assert response.status_code == 302
    alerts = Page(client.get("/")).alerts()
    assert "Your decision on version 1 is recorded. Thank you." in alerts
    assert count(app, SectionDecision) == 1
    # Asked again: version 2 still needs a decision.
    assert assignment_state(app, world, world.amara) is AssignmentState.IN_REVIEW


@pytest.mark.parametrize("locale", ["en", "fr"])
def test_a_decision_on_a_version_that_is_no_longer_the_latest_is_refused(app, world, locale):
    client = signed_in(app, world.amara)
    if locale == "fr":
        client.post_form("/language", {"locale": "fr", "next": "/"})
    form = decision_form(client, world)
    publish(app, world, BODY_EN.replace("final", "last"))
    data = {**form, "decision": "changes_requested", "summary": "Rewrite the ending."}
    response = client.post_form(f"/sections/{world.section}/decision", data)
    assert response.status_code == 400
    page = Page(response)
    assert page.one("html").attrs["lang"] == locale
    refusal = translated(
        app,
        "A newer version was published since you opened this page. Please read it before deciding.",
        locale,
    )
    assert refusal in page.errors()
    assert page.value("summary") == "Rewrite the ending."
    assert page.value("decision") == "changes_requested"
    assert count(app, SectionDecision) == 0
    # Opened again, the form is for version 2.
    assert decision_form(client, world)["version_number"] == "2"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"decision": "changes_requested", "summary": "  "},
            "Please say briefly what should change.",
        ),
        ({"decision": "approve_with_changes"}, "Please say briefly what should change."),
        ({"summary": "No choice made."}, "Please choose a decision."),
        ({"decision": "maybe", "summary": "?"}, None),
        ({"decision": "approve", "summary": "s" * 5001}, "Please use at most 5000 characters."),
    ],
)
def test_bad_decisions_are_refused_and_the_summary_kept(app, world, data, message):
    client = signed_in(app, world.amara)
    response = client.post_form(
        f"/sections/{world.section}/decision", {**decision_form(client, world), **data}
    )
    assert response.status_code == 400
    page = Page(response)
    assert page.errors()
    if message:
        assert translated(app, message, "en", count=5000) in page.errors()
    assert page.value("summary") == (data.get("summary") or "").strip()
    assert count(app, SectionDecision) == 0
    assert assignment_state(app, world, world.amara) is AssignmentState.ACCEPTED


# Independent review --------------------------------------------------------------------------


def test_independent_review_changes_what_another_consultant_sees(app, world):
    mine = annotate(app, world, world.amara, DEBT, body="Amara's note.")
    theirs = annotate(app, world, world.river, "final chapter", body="River's note.")
    river = signed_in(app, world.river)
    assert set(listed(reading(river, world, lang="en"))) == {mine, theirs}
    assert river.get(f"/annotations/{mine}").status_code == 200

    editor = signed_in(app, world.editor)
    response = editor.post_form(
        f"/sections/{world.section}/independent-review", {"independent": "1"}
    )
    assert response.status_code == 302
    assert path_of(response) == f"/sections/{world.section}"
    assert (
        "Consultants now see only their own comments on this section."
        in Page(editor.get(location(response))).alerts()
    )

    page = reading(river, world, lang="en")
    assert set(listed(page)) == {theirs}
    assert "Amara's note." not in page.html
    assert "Independent review: you see only your own comments." in page.main
    assert river.get(f"/annotations/{mine}").status_code == 404
    assert set(listed(reading(signed_in(app, world.amara), world, lang="en"))) == {mine}
    assert set(listed(reading(editor, world, lang="en"))) == {mine, theirs}

    response = editor.post_form(
        f"/sections/{world.section}/independent-review", {"independent": "0"}
    )
    assert (
        "Consultants now see each other's comments on this section."
        in Page(editor.get(location(response))).alerts()
    )
    assert set(listed(reading(river, world, lang="en"))) == {mine, theirs}
