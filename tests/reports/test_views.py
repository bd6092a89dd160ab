"""Editors' report, section and version pages through the test client, as each role.

Creating and editing reports and sections (bad input: 400, a translated message, the typed text
kept; stale revisions: a conflict page), the publish form's three buttons (preview, import,
publish), the conflict page for a stale base version, comparing versions, reading (content note
first, languages), ordering, archiving and the workflow. The `.docx` import goes end to end.
"""

from __future__ import annotations

import io
import re
from types import SimpleNamespace

import pytest
from flask_babel import force_locale, gettext
from sqlalchemy import event, func, select

from portal.accounts.models import User
from portal.extensions import db
from portal.reports import services
from portal.reports.models import (
    Report,
    ReportStatus,
    Section,
    SectionState,
    SectionTransition,
    SectionVersion,
)
from tests.conftest import AuthActions
from tests.reports.docx_builder import EXPECTED_MARKDOWN_LINES, LINK_URL, report_draft_docx
from tests.reports.pages import Page, location, path_of

INTRO_V1 = "# Introduction\n\nSurvivors wrote this introduction as paid experts."
INTRO_V2 = "# Introduction\n\nSurvivors wrote and reviewed this introduction as paid experts."
INTRO_FR = "# Introduction\n\nDes survivantes ont écrit cette introduction."
NOTE = "Describes debt bondage, without graphic detail."


def translated(app, message: str, locale: str, **variables) -> str:
    with app.test_request_context(), force_locale(locale):
        return gettext(message, **variables)


def signed_in(app, user_id: int):
    client = app.test_client()
    AuthActions(client, app).login_as(user_id)
    return client


@pytest.fixture
def world(app, editor, admin, consultant):
    """A report with an introduction (two versions, a content note) and an empty section."""
    with app.test_request_context():
        author = db.session.get(User, editor)
        report = services.create_report(
            author,
            title_en="2027 Trafficking in Persons Report",
            title_fr="Rapport 2027",
            year=2027,
        )
        intro = services.create_section(
            author, report, title_en="Introduction", title_fr="Présentation", content_note_en=NOTE
        )
        services.publish_version(
            author, intro, body_en=INTRO_V1, body_fr=INTRO_FR, change_summary=None, based_on=0
        )
        services.publish_version(
            author,
            intro,
            body_en=INTRO_V2,
            body_fr=INTRO_FR,
            change_summary="Reviewed, too.",
            based_on=1,
        )
        empty = services.create_section(author, report, title_en="Recommendations")
        db.session.commit()
        return SimpleNamespace(
            editor=editor,
            admin=admin,
            consultant=consultant,
            report=report.id,
            intro=intro.id,
            empty=empty.id,
        )


@pytest.fixture
def editor_client(app, world):
    return signed_in(app, world.editor)


def load(model, object_id):
    db.session.expire_all()
    return db.session.get(model, object_id)


# Reports -----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["editor", "admin"])
def test_editors_and_admins_create_a_report(app, client, auth, world, role):
    auth.login_as(getattr(world, role))
    form = client.get("/reports/new")
    assert form.status_code == 200
    assert Page(form).value("year")  # next year, suggested
    response = client.post_form(
        "/reports/new",
        {
            "title_en": "  2028 Trafficking in Persons Report ",
            "title_fr": "Rapport 2028 sur la traite des personnes",
            "year": "2028",
            "description_en": "Next year's report.",
            "description_fr": "",
            "revision": "0",
        },
    )
    assert response.status_code == 302
    report_id = int(re.fullmatch(r"/reports/(\d+)", path_of(response))[1])
    with app.app_context():
        report = db.session.get(Report, report_id)
        assert (report.title_en, report.year) == ("2028 Trafficking in Persons Report", 2028)
        assert report.created_by_id == getattr(world, role)
    page = Page(client.get(path_of(response)))
    assert "The report is created. Add its sections next." in page.alerts()
    assert "2028 Trafficking in Persons Report" in page.main
    index = Page(client.get("/reports"))
    assert "2028 Trafficking in Persons Report" in index.main
    assert "2027 Trafficking in Persons Report" in index.main


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"title_en": "T" * 201}, "title_en", "A title has at most 200 characters."),
        ({"title_en": "   "}, "title_en", "Please enter a title in English."),
        ({"year": "1800"}, "year", "Please enter a year such as 2027."),
        ({"year": "2101"}, "year", "Please enter a year such as 2027."),
        ({"year": "next year"}, "year", None),
        ({"description_en": "d" * 5001}, "description_en", "Please use at most 5000 characters."),
    ],
)
def test_bad_report_input_is_refused_and_the_typed_text_kept(
    app, editor_client, world, changes, field, message
):
    data = {
        "title_en": "A report of my own",
        "title_fr": "Un rapport à moi",
        "year": "2028",
        "description_en": "What I wrote at length.",
        "description_fr": "Ce que j'ai écrit.",
        "revision": "0",
        **changes,
    }
    response = editor_client.post_form("/reports/new", data)
    assert response.status_code == 400
    page = Page(response)
    assert page.errors(), "an error message is shown"
    if message:
        assert translated(app, message, "en", count=5000) in page.errors()
    for name, typed in data.items():
        if name != "revision" and not (name == "title_en" and typed.strip() == ""):
            assert page.value(name) == typed.strip() or page.value(name) == typed, name
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Report)) == 1


def test_report_errors_are_in_french_for_a_french_reader(app, editor_client, world):
    editor_client.post_form("/language", {"locale": "fr", "next": "/"})
    response = editor_client.post_form(
        "/reports/new", {"title_en": "Mon rapport", "year": "1800", "revision": "0"}
    )
    assert response.status_code == 400
    page = Page(response)
    assert page.one("html").attrs["lang"] == "fr"
    assert translated(app, "Please enter a year such as 2027.", "fr") in page.errors()
    assert page.value("title_en") == "Mon rapport"


def test_edit_report_and_a_stale_revision_is_a_conflict(app, client, auth, world):
    auth.login_as(world.editor)
    form = Page(client.get(f"/reports/{world.report}/edit"))
    assert form.value("revision") == "1"
    other = signed_in(app, world.admin)
    saved = other.post_form(
        f"/reports/{world.report}/edit",
        {"title_en": "Renamed by someone else", "year": "2027", "revision": "1"},
    )
    assert saved.status_code == 302
    mine = {
        "title_en": "My new title",
        "title_fr": "Mon titre",
        "year": "2027",
        "description_en": "My careful description.",
        "revision": "1",
    }
    response = client.post_form(f"/reports/{world.report}/edit", mine)
    assert response.status_code == 409
    page = Page(response)
    assert "Someone else changed this report while you were editing it." in page.main
    assert "Renamed by someone else" in page.main  # what is saved now
    assert page.value("title_en") == "My new title"
    assert page.value("description_en") == "My careful description."
    assert page.value("revision") == "2"
    with app.app_context():
        assert load(Report, world.report).title_en == "Renamed by someone else"
    again = client.post_form(f"/reports/{world.report}/edit", {**mine, "revision": "2"})
    assert again.status_code == 302
    with app.app_context():
        report = load(Report, world.report)
        assert (report.title_en, report.revision) == ("My new title", 3)


def test_archive_and_reactivate_a_report(app, editor_client, world):
    response = editor_client.post_form(f"/reports/{world.report}/status", {"archive": "1"})
    assert path_of(response) == f"/reports/{world.report}"
    with app.app_context():
        assert load(Report, world.report).status is ReportStatus.ARCHIVED
    assert "2027 Trafficking" not in Page(editor_client.get("/reports")).main
    assert "2027 Trafficking" in Page(editor_client.get("/reports?show=archived")).main
    page = Page(editor_client.get(f"/reports/{world.report}"))
    assert "New section" not in page.main
    editor_client.post_form(f"/reports/{world.report}/status", {"archive": "0"})
    with app.app_context():
        assert load(Report, world.report).status is ReportStatus.ACTIVE


@pytest.mark.parametrize(
    ("url", "french"),
    [
        ("/reports", "Rapport 2027"),
        ("/reports/{report}", "Présentation"),
        ("/sections/{intro}", "Présentation"),
        ("/sections/{intro}/read?continue=1", "Présentation"),
        ("/sections/{intro}/compare", "Présentation"),
        ("/sections/{intro}/publish", "Présentation"),
        ("/sections/{intro}/edit", "Rapport 2027"),
        ("/sections/{intro}/assign", "Présentation"),
    ],
)
def test_bilingual_titles_follow_the_readers_language(editor_client, world, url, french):
    """A French reader sees the French titles; one with no French title is marked lang="en"."""
    url = url.format(report=world.report, intro=world.intro)
    assert french not in Page(editor_client.get(url)).main
    editor_client.post_form("/language", {"locale": "fr", "next": "/"})
    page = Page(editor_client.get(url))
    assert page.one("html").attrs["lang"] == "fr"
    assert french in page.main
    if url == f"/reports/{world.report}":
        assert "Rapport 2027" in page.main and "Persons Report" not in page.main
        # "Recommendations" has no French title: shown in English, and marked as English.
        row = page.one("tr", id=f"section-{world.empty}")
        (link,) = [n for n in row.iter() if n.tag == "a"]
        assert [(n.tag, n.attrs, n.text()) for n in link.iter()][1:] == [
            ("span", {"lang": "en"}, "Recommendations")
        ]


# Sections ----------------------------------------------------------------------------------


def test_editor_creates_a_section_with_a_content_note(app, editor_client, world):
    response = editor_client.post_form(
        f"/reports/{world.report}/sections/new",
        {
            "title_en": "Topic box: forced labour at sea",
            "title_fr": "Encadré : le travail forcé en mer",
            "content_note_en": "Describes confinement at sea.",
            "content_note_fr": "Décrit l'enfermement en mer.",
            "revision": "0",
        },
    )
    assert response.status_code == 302
    section_id = int(re.fullmatch(r"/sections/(\d+)/publish", path_of(response))[1])
    with app.app_context():
        section = db.session.get(Section, section_id)
        assert (section.position, section.state) == (3, SectionState.DRAFT)
        assert section.content_note_fr == "Décrit l'enfermement en mer."
    publish_page = Page(editor_client.get(path_of(response)))
    assert "The section is created. Write or import its first version." in publish_page.alerts()
    section_page = Page(editor_client.get(f"/sections/{section_id}"))
    assert "Describes confinement at sea." in section_page.main
    dashboard = Page(editor_client.get(f"/reports/{world.report}"))
    row = dashboard.one("tr", id=f"section-{section_id}")
    assert "Topic box: forced labour at sea" in row.text() and "Content note" in row.text()


def test_bad_section_input_is_refused_and_the_typed_text_kept(app, editor_client, world):
    data = {
        "title_en": "x" * 201,
        "title_fr": "Mon titre",
        "content_note_en": "A note I took time to write.",
        "content_note_fr": "n" * 1001,
        "revision": "0",
    }
    response = editor_client.post_form(f"/reports/{world.report}/sections/new", data)
    assert response.status_code == 400
    page = Page(response)
    assert "A title has at most 200 characters." in page.errors()
    assert "Please use at most 1000 characters." in page.errors()
    assert all(page.value(name) == value for name, value in data.items() if name != "revision")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Section)) == 2


def test_edit_section_and_a_stale_revision_is_a_conflict(app, editor_client, world):
    form = Page(editor_client.get(f"/sections/{world.intro}/edit"))
    revision = form.value("revision")
    assert form.value("content_note_en") == NOTE
    other = signed_in(app, world.admin)
    assert (
        other.post_form(
            f"/sections/{world.intro}/edit",
            {"title_en": "Introduction (theirs)", "revision": revision},
        ).status_code
        == 302
    )
    mine = {
        "title_en": "Introduction (mine)",
        "content_note_en": "My rewritten note.",
        "revision": revision,
    }
    response = editor_client.post_form(f"/sections/{world.intro}/edit", mine)
    assert response.status_code == 409
    page = Page(response)
    assert "Someone else changed this section while you were editing it." in page.main
    assert "Introduction (theirs)" in page.main
    assert page.value("title_en") == "Introduction (mine)"
    assert page.value("content_note_en") == "My rewritten note."
    assert page.value("revision") == str(int(revision) + 1)
    with app.app_context():
        assert load(Section, world.intro).title_en == "Introduction (theirs)"


def test_reorder_sections_from_the_dashboard(app, editor_client, world):
    response = editor_client.post_form(f"/sections/{world.empty}/move", {"direction": "up"})
    assert location(response) == f"/reports/{world.report}#section-{world.empty}"
    rows = Page(editor_client.get(f"/reports/{world.report}")).all("tr", cls=None)
    order = [r.attrs["id"] for r in rows if (r.attrs.get("id") or "").startswith("section-")]
    assert order == [f"section-{world.empty}", f"section-{world.intro}"]
    refused = editor_client.post_form(
        f"/sections/{world.empty}/move", {"direction": "up"}, follow_redirects=True
    )
    assert "This section cannot move further in that direction." in Page(refused).alerts()


def test_archive_and_restore_a_section(app, editor_client, world):
    editor_client.post_form(f"/sections/{world.intro}/archive", {"archive": "1"})
    page = Page(editor_client.get(f"/sections/{world.intro}"))
    assert "The section is archived. It stays readable and can be restored." in page.alerts()
    assert "Restore the section" in page.main
    assert "Write a new version" not in page.main
    # Still readable, every version.
    assert (
        "paid experts"
        in Page(editor_client.get(f"/sections/{world.intro}/versions/1?continue=1")).main
    )
    editor_client.post_form(f"/sections/{world.intro}/archive", {"archive": "0"})
    with app.app_context():
        assert not load(Section, world.intro).is_archived


def test_workflow_moves_from_the_section_page(app, editor_client, world):
    page = Page(editor_client.get(f"/sections/{world.intro}"))
    buttons = [b.attrs["value"] for b in page.all("button", name="to_state")]
    assert buttons == ["in_review"]
    response = editor_client.post_form(
        f"/sections/{world.intro}/transition",
        {"to_state": "in_review", "note": "Ready for the consultants."},
        follow_redirects=True,
    )
    page = Page(response)
    assert "The section is now “In review”." in page.alerts()
    assert "Ready for the consultants." in page.main  # in the history
    with app.app_context():
        row = db.session.scalars(select(SectionTransition)).one()
        assert (row.actor_id, row.to_state) == (world.editor, SectionState.IN_REVIEW)
    refused = Page(
        editor_client.post_form(
            f"/sections/{world.intro}/transition", {"to_state": "final"}, follow_redirects=True
        )
    )
    assert "A section that is “In review” cannot become “Final”." in refused.alerts()
    no_version = Page(
        editor_client.post_form(
            f"/sections/{world.empty}/transition", {"to_state": "in_review"}, follow_redirects=True
        )
    )
    assert "Publish a first version before sending the section for review." in no_version.alerts()
    with app.app_context():
        assert load(Section, world.intro).state is SectionState.IN_REVIEW
        assert load(Section, world.empty).state is SectionState.DRAFT


def test_a_transition_to_nothing_known_is_a_bad_request(app, editor_client, world):
    assert (
        editor_client.post_form(f"/sections/{world.intro}/transition", {"to_state": "deleted"})
    ).status_code == 400
    long_note = editor_client.post_form(
        f"/sections/{world.intro}/transition",
        {"to_state": "in_review", "note": "n" * 501},
        follow_redirects=True,
    )
    assert "Please keep the note under 500 characters." in Page(long_note).alerts()
    with app.app_context():
        assert load(Section, world.intro).state is SectionState.DRAFT


# Publishing --------------------------------------------------------------------------------


def publish_form(world, **fields) -> dict:
    return {
        "body_en": "",
        "body_fr": "",
        "change_summary": "",
        "document_language": "en",
        "based_on": "0",
        **fields,
    }


def version_numbers(app, section_id: int) -> list[int]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(SectionVersion.number)
                .where(SectionVersion.section_id == section_id)
                .order_by(SectionVersion.number)
            )
        )


def test_publish_page_starts_from_the_latest_version(editor_client, world):
    page = Page(editor_client.get(f"/sections/{world.intro}/publish"))
    assert page.value("based_on") == "2"
    assert page.value("body_en") == INTRO_V2
    assert page.value("body_fr") == INTRO_FR
    assert "publishing makes version 3" in page.main
    empty = Page(editor_client.get(f"/sections/{world.empty}/publish"))
    assert empty.value("based_on") == "0" and empty.value("body_en") == ""


def test_preview_shows_the_rendered_text_and_saves_nothing(app, editor_client, world):
    body_en = (
        "# Heading\n\nSome **bold** text.<script>alert(1)</script>\n\n[bad](javascript:alert(1))"
    )
    response = editor_client.post_form(
        f"/sections/{world.empty}/publish",
        publish_form(world, body_en=body_en, body_fr="Du *texte*.", preview="Preview"),
    )
    assert response.status_code == 200
    page = Page(response)
    preview = page.one("section", **{"aria-labelledby": "preview-heading"})
    html = "".join(str(c) for c in preview.children)
    tags = {node.tag for node in preview.iter()}
    assert {"h1", "strong", "em"} <= tags
    assert "script" not in tags
    assert not any(
        (node.attrs.get("href") or "").startswith("javascript") for node in preview.iter()
    ), html
    assert [n.attrs["id"].split("-")[0] for n in preview.iter() if n.tag == "h1"] == ["en"]
    assert page.value("body_en") == body_en and page.value("body_fr") == "Du *texte*."
    assert version_numbers(app, world.empty) == []


@pytest.mark.parametrize("language", ["en", "fr"])
def test_import_a_markdown_file_into_one_box_keeping_the_other(app, editor_client, world, language):
    other = "fr" if language == "en" else "en"
    typed = {"en": "My English draft, typed by hand.", "fr": "Mon brouillon, tapé à la main."}
    imported = "# Imported\n\nFrom a *file*.\n"
    response = editor_client.post_form(
        f"/sections/{world.empty}/publish",
        publish_form(
            world,
            body_en=typed["en"],
            body_fr=typed["fr"],
            change_summary="My summary",
            document_language=language,
            import_document="Import into the text",
            document=(io.BytesIO(imported.encode()), "draft.md"),
        ),
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    page = Page(response)
    assert page.value(f"body_{language}") == imported
    assert page.value(f"body_{other}") == typed[other]
    assert page.value("change_summary") == "My summary"
    assert "The file is imported into the text below. Check it, then publish." in page.alerts()
    assert version_numbers(app, world.empty) == []  # nothing published yet


@pytest.mark.parametrize(
    ("filename", "content", "message"),
    [
        (
            "setup.exe",
            b"MZ\x90\x00binary",
            "Only Word (.docx) and Markdown (.md) files can be imported.",
        ),
        ("draft.md", b"", "That file is empty."),
        (
            "draft.docx",
            b"PK\x03\x04 this is not really a zip archive",
            "That file seems to be damaged and could not be read.",
        ),
        (
            "draft.md",
            "Café".encode("latin-1"),
            "That text file is not in UTF-8; please save it as UTF-8 and try again.",
        ),
        ("draft.md", b" \n\n ", "That file has no text to import."),
        (None, b"", "Please choose a file to import."),
    ],
)
def test_a_bad_upload_is_explained_and_both_boxes_are_kept(
    app, editor_client, world, filename, content, message
):
    data = publish_form(
        world,
        body_en="Paragraphs I wrote before trying the import.",
        body_fr="Des paragraphes écrits avant l'import.",
        import_document="Import into the text",
    )
    if filename:
        data["document"] = (io.BytesIO(content), filename)
    response = editor_client.post_form(
        f"/sections/{world.empty}/publish", data, content_type="multipart/form-data"
    )
    assert response.status_code == 400
    page = Page(response)
    assert translated(app, message, "en") in page.errors()
    assert page.value("body_en") == "Paragraphs I wrote before trying the import."
    assert page.value("body_fr") == "Des paragraphes écrits avant l'import."
    assert version_numbers(app, world.empty) == []


def test_a_bad_upload_message_is_translated(app, editor_client, world):
    editor_client.post_form("/language", {"locale": "fr", "next": "/"})
    response = editor_client.post_form(
        f"/sections/{world.empty}/publish",
        publish_form(
            world,
            body_en="Kept.",
            import_document="Import into the text",
            document=(io.BytesIO(b"MZ"), "virus.exe"),
        ),
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    expected = translated(app, "Only Word (.docx) and Markdown (.md) files can be imported.", "fr")
    assert expected in Page(response).errors()


def test_publish_creates_the_next_version(app, editor_client, world):
    response = editor_client.post_form(
        f"/sections/{world.intro}/publish",
        publish_form(
            world,
            body_en=INTRO_V2 + "\n\nA third paragraph.",
            body_fr=INTRO_FR,
            change_summary="Added a paragraph.",
            based_on="2",
            publish="Publish version",
        ),
    )
    assert path_of(response) == f"/sections/{world.intro}"
    assert version_numbers(app, world.intro) == [1, 2, 3]
    page = Page(editor_client.get(f"/sections/{world.intro}"))
    assert "Version 3 is published." in page.alerts()
    assert "Added a paragraph." in page.main
    assert "Translation out of date" in page.main
    with app.app_context():
        version = services.version_by_number(db.session.get(Section, world.intro), 3)
        assert version.author_id == world.editor
        assert version.french_out_of_date


def test_publish_with_french_marked_current(app, editor_client, world):
    editor_client.post_form(
        f"/sections/{world.intro}/publish",
        publish_form(
            world,
            body_en=INTRO_V2 + " More.",
            body_fr=INTRO_FR,
            french_current="y",
            based_on="2",
            publish="Publish version",
        ),
    )
    with app.app_context():
        version = services.version_by_number(db.session.get(Section, world.intro), 3)
        assert not version.french_out_of_date


@pytest.mark.parametrize(
    ("body_en", "message"),
    [("   ", "The English text is required."), (INTRO_V2, "Nothing changed since version 2.")],
)
def test_publish_refusals_keep_the_text(app, editor_client, world, body_en, message):
    response = editor_client.post_form(
        f"/sections/{world.intro}/publish",
        publish_form(world, body_en=body_en, body_fr=INTRO_FR, based_on="2", publish="Publish"),
    )
    assert response.status_code == 400
    page = Page(response)
    assert message in page.errors()
    assert page.value("body_fr") == INTRO_FR
    assert version_numbers(app, world.intro) == [1, 2]


def test_a_stale_base_version_shows_the_conflict_page(app, editor_client, world):
    mine = "# Introduction\n\nMy own rewrite, started from version one."
    response = editor_client.post_form(
        f"/sections/{world.intro}/publish",
        publish_form(
            world,
            body_en=mine,
            body_fr="Ma réécriture.",
            change_summary="My rewrite",
            based_on="1",
            publish="Publish version",
        ),
    )
    assert response.status_code == 409
    page = Page(response)
    assert "Version 2 was published while you were writing." in page.main
    assert page.value("body_en") == mine
    assert page.value("body_fr") == "Ma réécriture."
    assert page.value("change_summary") == "My rewrite"
    assert page.value("based_on") == "2"
    latest = page.one("section", **{"aria-labelledby": "latest-heading"})
    assert "Version 2 as published" in latest.text()
    assert "wrote and reviewed this introduction" in latest.text()
    diff = page.one("div", cls="portal-diff")
    assert diff.attrs["lang"] == "en"
    assert any(node.tag == "ins" for node in diff.iter())
    assert version_numbers(app, world.intro) == [1, 2]
    # Publishing again from the conflict page, now based on version 2, works.
    again = editor_client.post_form(
        f"/sections/{world.intro}/publish",
        publish_form(world, body_en=mine, body_fr="Ma réécriture.", based_on="2", publish="P"),
    )
    assert again.status_code == 302
    assert version_numbers(app, world.intro) == [1, 2, 3]


def test_publishing_on_a_final_section_is_refused(app, editor_client, world):
    with app.app_context():
        db.session.get(Section, world.intro).state = SectionState.FINAL
        db.session.commit()
    response = editor_client.post_form(
        f"/sections/{world.intro}/publish",
        publish_form(world, body_en="Changed.", based_on="2", publish="Publish version"),
    )
    assert response.status_code == 400
    assert "This section is final or archived; no new version can be published." in (
        Page(response).errors()
    )
    assert "Write a new version" not in Page(editor_client.get(f"/sections/{world.intro}")).main


def test_docx_import_end_to_end(app, editor_client, world):
    """A Word file through the publish form: imported, checked, published, then read."""
    response = editor_client.post_form(
        f"/sections/{world.empty}/publish",
        publish_form(
            world,
            body_fr="Le français, écrit à la main.",
            import_document="Import into the text",
            document=(io.BytesIO(report_draft_docx()), "Recommendations draft.docx"),
        ),
        content_type="multipart/form-data",
    )
    assert response.status_code == 200, Page(response).errors()
    page = Page(response)
    markdown = page.value("body_en")
    lines = [line for line in markdown.splitlines() if line.strip()]
    assert lines == EXPECTED_MARKDOWN_LINES
    assert page.value("body_fr") == "Le français, écrit à la main."

    published = editor_client.post_form(
        f"/sections/{world.empty}/publish",
        publish_form(
            world,
            body_en=markdown,
            body_fr=page.value("body_fr"),
            change_summary="Imported from Word.",
            based_on=page.value("based_on"),
            publish="Publish version",
        ),
    )
    assert published.status_code == 302
    reading = Page(editor_client.get(f"/sections/{world.empty}/read?lang=en"))
    article = reading.one("article")
    assert article.attrs["lang"] == "en"
    by_tag = {}
    for node in article.iter():
        by_tag.setdefault(node.tag, []).append(node)
    assert [n.text() for n in by_tag["h1"]] == ["Findings from the consultations"]
    assert [n.text() for n in by_tag["h2"]] == ["What survivors told us"]
    assert [n.text() for n in by_tag["strong"]] == ["paid advisory roles"]
    assert [n.text() for n in by_tag["em"]] == ["early involvement"]
    assert [n.text() for n in by_tag["li"]] == ["Fair pay for expertise", "Time to review drafts"]
    (link,) = [a for a in by_tag["a"] if "portal-annotate" not in a.classes()]
    assert link.attrs["href"] == LINK_URL and link.attrs["rel"] == "noopener noreferrer"
    assert "Nothing about us without us." in by_tag["blockquote"][0].text()
    # Every block has an id to anchor annotations on.
    for tag in ("h1", "h2", "p", "li", "blockquote"):
        assert all(n.attrs.get("id", "").startswith("en-") for n in by_tag[tag]), tag


# Reading and comparing ---------------------------------------------------------------------


def test_reading_shows_the_content_note_first(editor_client, world):
    page = Page(editor_client.get(f"/sections/{world.intro}/read"))
    assert NOTE in page.main
    assert "paid experts" not in page.main
    (link,) = [a for a in page.all("a") if a.text().strip() == "Continue to the text"]
    assert "continue=1" in link.attrs["href"]
    opened = Page(editor_client.get(link.attrs["href"]))
    assert "wrote and reviewed this introduction" in opened.main
    assert NOTE not in opened.main


def test_reading_in_french_and_side_by_side(editor_client, world):
    french = Page(editor_client.get(f"/sections/{world.intro}/read?continue=1&lang=fr"))
    (article,) = french.all("article")
    assert article.attrs["lang"] == "fr" and "Des survivantes" in article.text()
    assert "Translation out of date" in french.main
    both = Page(editor_client.get(f"/sections/{world.intro}/read?continue=1&lang=both"))
    assert [a.attrs["lang"] for a in both.all("article")] == ["en", "fr"]
    no_french = Page(editor_client.get(f"/sections/{world.intro}/read?continue=1&lang=zz"))
    assert [a.attrs["lang"] for a in no_french.all("article")] == ["en"]


def test_every_version_stays_readable(editor_client, world):
    first = Page(editor_client.get(f"/sections/{world.intro}/versions/1?continue=1"))
    assert "Survivors wrote this introduction" in first.main
    assert "Not the latest version" in first.main
    asked = Page(editor_client.get(f"/sections/{world.intro}/read?version=1&continue=1"))
    assert "Survivors wrote this introduction" in asked.main
    assert editor_client.get(f"/sections/{world.intro}/versions/9").status_code == 404
    empty = Page(editor_client.get(f"/sections/{world.empty}/read"))
    assert "There is no version of this section yet." in empty.main


def test_compare_marks_insertions_and_deletions_for_everyone(editor_client, world):
    response = editor_client.get(f"/sections/{world.intro}/compare?from=1&to=2&lang=en")
    assert response.status_code == 200
    page = Page(response)
    diff = page.one("div", cls="portal-diff")
    inserted = [n for n in diff.iter() if n.tag == "ins"]
    assert [re.sub(r"\s+", " ", n.text()).strip() for n in inserted] == [
        "[inserted:] and reviewed [end of insertion]"
    ]
    labels = [
        n.text().strip()
        for n in inserted[0].iter()
        if n.tag == "span" and "usa-sr-only" in n.classes()
    ]
    assert labels == ["[inserted:]", "[end of insertion]"]
    assert "1 word added, 0 words removed" not in page.main  # "and reviewed" is two words
    assert "2 words added, 0 words removed." in page.main
    back = Page(editor_client.get(f"/sections/{world.intro}/compare?from=2&to=1"))
    deleted = [n for n in back.one("div", cls="portal-diff").iter() if n.tag == "del"]
    assert len(deleted) == 1 and "[deleted:]" in deleted[0].text()
    assert "and reviewed" in deleted[0].text() and "[end of deletion]" in deleted[0].text()


def test_compare_defaults_languages_and_bad_numbers(editor_client, world):
    page = Page(editor_client.get(f"/sections/{world.intro}/compare"))
    assert "Version 1 compared with version 2" in page.main
    french = Page(editor_client.get(f"/sections/{world.intro}/compare?lang=fr"))
    assert french.one("div", cls="portal-diff").attrs["lang"] == "fr"
    assert "0 words added, 0 words removed." in french.main
    assert editor_client.get(f"/sections/{world.intro}/compare?from=1&to=7").status_code == 404
    single = editor_client.post_form(
        f"/sections/{world.empty}/publish", publish_form(world, body_en="Only one.", publish="P")
    )
    assert single.status_code == 302
    redirect = editor_client.get(f"/sections/{world.empty}/compare")
    assert redirect.status_code == 302 and path_of(redirect) == f"/sections/{world.empty}/read"


# The dashboard -----------------------------------------------------------------------------


def test_the_report_dashboard_lists_sections_and_filters(editor_client, world):
    page = Page(editor_client.get(f"/reports/{world.report}"))
    assert "2 sections" in page.main
    filtered = Page(editor_client.get(f"/reports/{world.report}?q=recomm"))
    assert "1 section" in filtered.main and "Introduction" not in filtered.one("table").text()
    assert filtered.value("q") == "recomm"
    nothing = Page(editor_client.get(f"/reports/{world.report}?q=zzz"))
    assert "No section matches." in nothing.main
    # A filter that does not validate is ignored rather than failing.
    odd = editor_client.get(f"/reports/{world.report}?state=bogus&consultant=abc&page=-3")
    assert odd.status_code == 200 and "2 sections" in Page(odd).main
    # ...and the filter keeps its choices, so the editor can filter again.
    assert ("offered", "Offered") in Page(odd).options("state")
    assert ("", "Any consultant") in Page(odd).options("consultant")
    assert (str(world.consultant), "Amara") in Page(odd).options("consultant")


def test_the_report_dashboard_query_count_does_not_grow(app, editor_client, world, make_user):
    """Hundreds of sections: the page takes as many statements for 30 sections as for 120."""
    from datetime import date

    from portal.assignments.models import Assignment, AssignmentState

    consultants = [world.consultant, make_user("consultant"), make_user("consultant")]

    def build(size: int) -> int:
        with app.app_context():
            report = Report(title_en=f"Big {size}", year=2027, revision=1)
            db.session.add(report)
            db.session.flush()
            sections = [
                Section(report_id=report.id, title_en=f"S{n}", position=n, revision=1)
                for n in range(size)
            ]
            db.session.add_all(sections)
            db.session.flush()
            db.session.add_all(
                Assignment(
                    section_id=section.id,
                    consultant_id=consultant,
                    state=list(AssignmentState)[n % len(AssignmentState)],
                    due_on=date(2027, 1, 1 + n % 28),
                )
                for n, section in enumerate(sections)
                for consultant in consultants
            )
            db.session.commit()
            return report.id

    def count(report_id: int) -> int:
        statements = []

        def listener(conn, cursor, statement, *args):
            statements.append(statement)

        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", listener)
        try:
            response = editor_client.get(f"/reports/{report_id}")
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        assert response.status_code == 200
        assert len(list(Page(response).all("td", cls="portal-order"))) == 25  # a full page
        return len(statements)

    small, large = build(30), build(120)
    assert count(small) == count(large)
