"""Accepting a suggested rewording: the editor gets the next version's text and confirms it."""

from __future__ import annotations

import re
from datetime import timedelta

from portal.accounts.models import User
from portal.assignments.services import accept, assign_section
from portal.extensions import db
from portal.models import utcnow
from portal.reports import services as reports
from portal.review.models import Annotation, AnnotationKind, AnnotationState
from portal.review.services import create_annotation

BODY = "Survivors should be paid for their expertise.\n\nNothing about us without us."


def _suggestion(app, editor_id: int, consultant_id: int) -> tuple[int, int]:
    with app.test_request_context():
        editor = db.session.get(User, editor_id)
        consultant = db.session.get(User, consultant_id)
        report = reports.create_report(editor, title_en="Report", year=2027)
        section = reports.create_section(editor, report, title_en="Intro")
        reports.publish_version(
            editor, section, body_en=BODY, body_fr=None, change_summary=None, based_on=0
        )
        assignment = assign_section(
            editor, section, consultant, due_on=utcnow().date() + timedelta(days=5)
        )
        accept(consultant, assignment)
        text = "Survivors should be paid for their expertise."
        start = 0
        annotation = create_annotation(
            consultant,
            section,
            language="en",
            kind=AnnotationKind.SUGGESTION,
            body="Say who pays.",
            replacement="Survivors should be paid fairly for their expertise.",
            start=start,
            end=start + len(text),
        )
        db.session.commit()
        return section.id, annotation.id


def _textarea(page: str, name: str) -> str:
    match = re.search(rf"<textarea[^>]*name=\"{name}\"[^>]*>\r?\n?(.*?)</textarea>", page, re.S)
    assert match, name
    return match.group(1).replace("&#34;", '"').replace("&#39;", "'")


def test_the_rewording_fills_the_next_version_and_is_marked_addressed(
    app, client, auth, editor, consultant
):
    section_id, annotation_id = _suggestion(app, editor, consultant)
    auth.login("editor@example.org")
    thread = client.get(f"/annotations/{annotation_id}").get_data(as_text=True)
    assert "Use this rewording in a new version" in thread
    page = client.get(f"/sections/{section_id}/publish?suggestion={annotation_id}")
    html = page.get_data(as_text=True)
    body = _textarea(html, "body_en")
    assert body.startswith("Survivors should be paid fairly for their expertise.")
    assert "Nothing about us without us." in body
    assert f'name="suggestion" type="hidden" value="{annotation_id}"' in html
    published = client.post_form(
        f"/sections/{section_id}/publish",
        {
            "body_en": body,
            "body_fr": "",
            "based_on": "1",
            "suggestion": str(annotation_id),
            "change_summary": "Applied a suggestion.",
            "publish": "Publish version",
        },
    )
    assert published.status_code == 302
    with app.app_context():
        annotation = db.session.get(Annotation, annotation_id)
        assert annotation.state is AnnotationState.ADDRESSED
        assert annotation.addressed_in == 2


def test_a_passage_that_cannot_be_placed_is_left_to_the_editor(
    app, client, auth, editor, consultant
):
    section_id, annotation_id = _suggestion(app, editor, consultant)
    with app.test_request_context():
        section = db.session.get(Annotation, annotation_id).section
        reports.publish_version(
            db.session.get(User, editor),
            section,
            body_en="Survivors should be *paid* for their expertise.\n\nMore text.",
            body_fr=None,
            change_summary=None,
            based_on=1,
        )
        db.session.commit()
    auth.login("editor@example.org")
    html = client.get(f"/sections/{section_id}/publish?suggestion={annotation_id}").get_data(
        as_text=True
    )
    assert "was not applied" in html
    assert "Survivors should be *paid* for their expertise." in _textarea(html, "body_en")
    assert 'name="suggestion" type="hidden" value=""' in html
