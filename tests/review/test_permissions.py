"""Z3 and Z4 for review: annotations and decisions reach only the consultants working on a section.

A consultant with no assignment on the section, or whose assignment was declined or withdrawn
(even one who wrote a comment there before), gets 404 for every review URL of the section and of
its annotations (annotate, thread, reply, resolve, reopen, confirm, decision), exactly as for an
id that does not exist, and the page shows neither the comment nor the words it is about. A
consultant only offered the section reads it but cannot annotate, decide or open threads. Under
independent review another consultant's threads are 404 too. Within a shared review a consultant
cannot resolve, reopen or confirm someone else's comment. Extra form fields are ignored.
"""

from __future__ import annotations

import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from portal.accounts.models import User
from portal.assignments import services as assignments
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
    SectionDecision,
)
from tests.conftest import AuthActions
from tests.test_access_matrix import database_fingerprint

TITLE = "Confidential topic box on forced labour"
BODY_EN = (
    "Workers on the Hillside farm were held by recruitment debts.\n\n"
    "Their papers were kept by the foreman."
)
QUOTE = "held by recruitment debts"
COMMENT = "This identifies the Hillside farm and its foreman"
OWN_COMMENT = "My earlier remark about seized papers"
OWN_QUOTE = "papers were kept by the foreman"
SIBLING_COMMENT = "River's remark on the sibling"
SECRETS = (TITLE, QUOTE, COMMENT, OWN_COMMENT, OWN_QUOTE, SIBLING_COMMENT, "recruitment debts")
MISSING = 987654


@pytest.fixture
def world(app, editor, consultant, consultant2, make_user):
    """Section A: Amara and River accepted, Amara's comment (addressed) and River's; a consultant
    who commented and then declined, one who commented and was withdrawn, one only offered the
    section, one with nothing. Section B: River's, with her comment."""
    ids = SimpleNamespace(
        editor=editor,
        amara=consultant,
        river=consultant2,
        declined=make_user("consultant", display_name="Leaver"),
        withdrawn=make_user("consultant", display_name="Withdrawn"),
        offered=make_user("consultant", display_name="Pending"),
        nobody=make_user("consultant", display_name="Stranger"),
    )
    with app.test_request_context():
        people = SimpleNamespace(**{k: db.session.get(User, v) for k, v in vars(ids).items()})
        report = reports.create_report(people.editor, title_en="2027 Report", year=2027)
        section = reports.create_section(people.editor, report, title_en=TITLE)
        sibling = reports.create_section(people.editor, report, title_en="Sibling section")
        for target in (section, sibling):
            reports.publish_version(
                people.editor,
                target,
                body_en=BODY_EN,
                body_fr=None,
                change_summary=None,
                based_on=0,
            )
        due = utcnow().date() + timedelta(days=10)
        offers = {}
        for name in ("amara", "river", "declined", "withdrawn", "offered"):
            offers[name] = assignments.assign_section(
                people.editor, section, getattr(people, name), due_on=due
            )
            if name != "offered":
                assignments.accept(getattr(people, name), offers[name])
        assignments.accept(
            people.river,
            assignments.assign_section(people.editor, sibling, people.river, due_on=due),
        )
        db.session.flush()

        def comment(person, target, words, body, kind=AnnotationKind.COMMENT):
            text = services.plain_text(services.latest_version(target), "en")
            start = text.index(words)
            return services.create_annotation(
                person,
                target,
                language="en",
                kind=kind,
                body=body,
                start=start,
                end=start + len(words),
            )

        amaras = comment(people.amara, section, QUOTE, COMMENT, AnnotationKind.CONCERN)
        services.mark_addressed(people.editor, amaras, 1)
        rivers = comment(people.river, section, "foreman", "River's own remark.")
        own = {
            name: comment(getattr(people, name), section, OWN_QUOTE, OWN_COMMENT)
            for name in ("declined", "withdrawn")
        }
        for annotation in own.values():
            services.mark_addressed(people.editor, annotation, 1)
        sibling_note = comment(people.river, sibling, QUOTE, SIBLING_COMMENT)
        assignments.decline(people.declined, offers["declined"])
        assignments.withdraw(people.editor, offers["withdrawn"])
        db.session.commit()
        return SimpleNamespace(
            **vars(ids),
            section=section.id,
            sibling=sibling.id,
            amaras=amaras.id,
            rivers=rivers.id,
            own=own["declined"].id,
            own_withdrawn=own["withdrawn"].id,
            sibling_note=sibling_note.id,
        )


def client_for(app, user_id: int):
    client = app.test_client()
    AuthActions(client, app).login_as(user_id)
    return client


def body(response) -> str:
    return response.get_data(as_text=True)


def leaks(response) -> list[str]:
    text = body(response).lower()
    return [secret for secret in SECRETS if secret.lower() in text]


def normalised(response) -> str:
    """The page without what differs between any two requests (tokens, the current address)."""
    text = re.sub(r'name="csrf_token"[^>]*value="[^"]*"', "", body(response))
    return re.sub(r'name="next" value="[^"]*"', "", text)


def section_urls(section: int) -> list[tuple[str, str, dict]]:
    return [
        ("GET", f"/sections/{section}/annotate?language=en&start=0&end=7", {}),
        (
            "POST",
            f"/sections/{section}/annotate",
            {
                "language": "en",
                "start": "0",
                "end": "7",
                "kind": "comment",
                "body": "A probe.",
            },
        ),
        ("GET", f"/sections/{section}/decision", {}),
        (
            "POST",
            f"/sections/{section}/decision",
            {
                "version_number": "1",
                "submission_key": "probe",
                "decision": "approve",
            },
        ),
    ]


def annotation_urls(annotation: int) -> list[tuple[str, str, dict]]:
    return [
        ("GET", f"/annotations/{annotation}", {}),
        ("POST", f"/annotations/{annotation}/reply", {"body": "A probe."}),
        ("POST", f"/annotations/{annotation}/resolve", {}),
        ("POST", f"/annotations/{annotation}/reopen", {}),
        ("POST", f"/annotations/{annotation}/confirm", {}),
    ]


def request(client, method: str, url: str, data: dict):
    return client.get(url) if method == "GET" else client.post_form(url, data)


def assert_not_found(client, method: str, url: str, data: dict) -> None:
    response = request(client, method, url, data)
    assert response.status_code == 404, f"{method} {url}: {response.status_code}"
    assert leaks(response) == [], f"{method} {url} shows {leaks(response)}"
    missing_url = re.sub(r"/(sections|annotations)/\d+", rf"/\1/{MISSING}", url)
    missing = request(client, method, missing_url, data)
    assert missing.status_code == 404
    assert normalised(response) == normalised(missing), f"{method} {url} differs from a missing id"


def probe(app, client, urls) -> None:
    before = database_fingerprint(app)
    for method, url, data in urls:
        assert_not_found(client, method, url, data)
    assert database_fingerprint(app) == before, "a refused request changed the database"


@pytest.mark.parametrize("who", ["nobody", "declined", "withdrawn"])
def test_a_consultant_not_on_the_section_finds_no_review_url(app, world, who):
    client = client_for(app, getattr(world, who))
    urls = section_urls(world.section) + section_urls(world.sibling)
    for annotation in (world.amaras, world.rivers, world.sibling_note):
        urls += annotation_urls(annotation)
    probe(app, client, urls)


@pytest.mark.parametrize(("who", "own"), [("declined", "own"), ("withdrawn", "own_withdrawn")])
def test_after_leaving_a_section_even_ones_own_comments_are_gone(app, world, who, own):
    """She could resolve, reopen and confirm her comment while she worked on the section."""
    probe(app, client_for(app, getattr(world, who)), annotation_urls(getattr(world, own)))


def test_a_consultant_only_offered_the_section_cannot_review_it_yet(app, world):
    client = client_for(app, world.offered)
    # The text is readable from the offer on, the comments are not.
    reading = client.get(f"/sections/{world.section}/read?continue=1")
    assert reading.status_code == 200 and "Hillside farm" in body(reading)
    assert COMMENT not in body(reading)
    before = database_fingerprint(app)
    for method, url, data in section_urls(world.section) + annotation_urls(world.amaras):
        response = request(client, method, url, data)
        assert response.status_code == 404, f"{method} {url}: {response.status_code}"
        assert COMMENT not in body(response)
    assert database_fingerprint(app) == before


def test_a_consultant_on_one_section_finds_nothing_of_another(app, world):
    probe(
        app,
        client_for(app, world.amara),
        section_urls(world.sibling) + annotation_urls(world.sibling_note),
    )


def test_independent_review_hides_another_consultants_threads(app, world):
    with app.test_request_context():
        services.set_independent_review(
            db.session.get(User, world.editor), db.session.get(Section, world.section), True
        )
        db.session.commit()
    probe(app, client_for(app, world.river), annotation_urls(world.amaras))
    # Her own thread and the section stay hers.
    river = client_for(app, world.river)
    assert river.get(f"/annotations/{world.rivers}").status_code == 200
    assert river.get(f"/sections/{world.section}/decision").status_code == 200


def annotation_state(app, annotation_id: int) -> AnnotationState:
    with app.app_context():
        return db.session.get(Annotation, annotation_id).state


@pytest.mark.parametrize(
    ("action", "message"),
    [
        ("resolve", "Only the editors and the author of a comment can resolve it."),
        ("reopen", "Only the editors and the author of a comment can reopen it."),
        ("confirm", "Only the author of the comment can confirm it was addressed."),
    ],
)
def test_a_consultant_cannot_close_or_reopen_another_consultants_comment(
    app, world, action, message
):
    river = client_for(app, world.river)
    before = database_fingerprint(app)
    response = river.post_form(f"/annotations/{world.amaras}/{action}")
    assert response.status_code == 302
    assert message in body(river.get(response.headers["Location"]))
    assert database_fingerprint(app) == before
    assert annotation_state(app, world.amaras) is AnnotationState.ADDRESSED


def test_a_consultant_cannot_mark_a_comment_addressed(app, world):
    river = client_for(app, world.river)
    before = database_fingerprint(app)
    response = river.post_form(f"/annotations/{world.rivers}/addressed", {"version_number": "1"})
    assert response.status_code == 403
    assert database_fingerprint(app) == before


# Mass assignment (Z4) ------------------------------------------------------------------------


def test_extra_fields_do_not_change_who_wrote_a_comment_or_where_it_is(app, world):
    amara = client_for(app, world.amara)
    response = amara.post_form(
        f"/sections/{world.section}/annotate",
        {
            "language": "en",
            "start": "0",
            "end": "7",
            "kind": "comment",
            "body": "Mine.",
            "replacement": "Smuggled wording.",
            "author_id": str(world.river),
            "state": "resolved",
            "section_id": str(world.sibling),
            "version_id": "999",
            "anchored_version_id": "999",
            "pos_start": "20",
            "pos_end": "40",
            "quote_exact": "forged",
            "anchor_method": "orphan",
            "addressed_in": "3",
            "id": "1",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        annotation = db.session.scalars(select(Annotation).where(Annotation.body == "Mine.")).one()
        assert annotation.author_id == world.amara
        assert annotation.section_id == world.section
        assert annotation.state is AnnotationState.OPEN
        assert (annotation.pos_start, annotation.pos_end, annotation.quote_exact) == (
            0,
            7,
            "Workers",
        )
        assert annotation.anchor_method.value == "exact"
        assert annotation.addressed_in is None
        assert annotation.replacement is None
        assert annotation.version_id == annotation.anchored_version_id
        assert annotation.version.section_id == world.section


def test_extra_fields_do_not_change_who_replied_or_where(app, world):
    river = client_for(app, world.river)
    response = river.post_form(
        f"/annotations/{world.amaras}/reply",
        {"body": "Reply.", "author_id": str(world.editor), "annotation_id": str(world.rivers)},
    )
    assert response.status_code == 302
    with app.app_context():
        reply = db.session.scalars(select(AnnotationReply)).one()
        assert (reply.author_id, reply.annotation_id) == (world.river, world.amaras)


def test_extra_fields_do_not_change_a_decision(app, world):
    amara = client_for(app, world.amara)
    response = amara.post_form(
        f"/sections/{world.section}/decision",
        {
            "version_number": "1",
            "submission_key": "mine-1",
            "decision": "approve",
            "consultant_id": str(world.river),
            "section_id": str(world.sibling),
            "version_id": "999",
            "content_sha256": "0" * 64,
            "created_at": "2020-01-01T00:00:00",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        decision = db.session.scalars(select(SectionDecision)).one()
        section = db.session.get(Section, world.section)
        latest = services.latest_version(section)
        assert (decision.consultant_id, decision.section_id) == (world.amara, world.section)
        assert (decision.version_id, decision.content_sha256) == (
            latest.id,
            latest.content_sha256,
        )
        assert decision.created_at.year == utcnow().year


def test_extra_fields_do_not_change_what_an_editor_marks(app, world):
    editor = client_for(app, world.editor)
    response = editor.post_form(
        f"/annotations/{world.rivers}/addressed",
        {"version_number": "1", "state": "resolved", "annotation_id": str(world.amaras)},
    )
    assert response.status_code == 302
    assert annotation_state(app, world.rivers) is AnnotationState.ADDRESSED
    assert annotation_state(app, world.amaras) is AnnotationState.ADDRESSED  # as it was
    response = editor.post_form(
        f"/sections/{world.section}/independent-review",
        {"independent": "1", "section_id": str(world.sibling)},
    )
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Section, world.section).independent_review
        assert not db.session.get(Section, world.sibling).independent_review
