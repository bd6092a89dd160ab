"""Admins manage the photo and narrative checklists: add, edit until answered, retire and restore,
delete only what no one answered; consultants see the active criteria, with their sources, in
their own language."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask_babel import force_locale, gettext
from sqlalchemy import select

from portal.accounts.models import User
from portal.assignments import services as assignments
from portal.extensions import db
from portal.media.models import ChecklistAnswer, ChecklistCriterion, ItemKind, MediaItem
from portal.models import utcnow
from portal.reports.models import Section
from tests.media.conftest import (
    add_narrative,
    add_photo,
    audit_events,
    form_answers,
    review_form,
    sign,
    signed_in,
    users,
)
from tests.reports.pages import Page, squash
from tests.test_access_matrix import database_fingerprint

NEW = {
    "text_en": "Setting: the place shown cannot be traced to a shelter.",
    "text_fr": "Lieu : l'endroit montré ne permet pas de retrouver un refuge.",
    "sources": "Safe House Project guidance",
}


def translated(app, message: str, locale: str, **variables) -> str:
    with app.test_request_context(), force_locale(locale):
        return squash(gettext(message, **variables))


def criteria(app, kind: str = "photo", *, retired: bool = False) -> list[ChecklistCriterion]:
    with app.app_context():
        stmt = select(ChecklistCriterion).where(ChecklistCriterion.kind == kind)
        if not retired:
            stmt = stmt.where(ChecklistCriterion.retired_at.is_(None))
        rows = list(db.session.scalars(stmt.order_by(ChecklistCriterion.position)))
        db.session.expunge_all()
        return rows


def added(app, admin_client, kind: str = "photo", **fields) -> ChecklistCriterion:
    response = admin_client.post_form(f"/admin/checklists/{kind}/new", NEW | fields)
    assert response.status_code == 302, Page(response).errors()
    return max(criteria(app, kind), key=lambda c: c.id)


@pytest.fixture
def photo(app, world):
    with app.test_request_context():
        return add_photo(users(app, world).editor, users(app, world).section).id


def answer(app, world, photo_id: int) -> None:
    """Amara answers the whole photo checklist as it is now."""
    with app.test_request_context():
        sign(db.session.get(User, world.amara), db.session.get(MediaItem, photo_id))


def test_an_admin_adds_a_criterion_and_consultants_are_asked_it(app, world, admin, photo):
    client = signed_in(app, admin)
    page = Page(client.get("/admin/checklists"))
    for kind in ("photo", "narrative"):
        rows = criteria(app, kind)
        assert len(rows) == {"photo": 7, "narrative": 5}[kind]
        for row in rows:
            assert squash(row.text_en) in page.main
            assert squash(row.text_fr) in page.main
    before = criteria(app)
    criterion = added(app, client)
    assert (criterion.text_en, criterion.text_fr, criterion.sources) == (
        NEW["text_en"],
        NEW["text_fr"],
        NEW["sources"],
    )
    assert criterion.position == max(c.position for c in before) + 1
    assert criterion.kind is ItemKind.PHOTO
    assert [e[1] for e in audit_events(app, "checklist.criterion_added")] == [str(criterion.id)]
    listing = Page(client.get("/admin/checklists")).main
    assert NEW["text_en"] in listing and "Sources: Safe House Project guidance" in listing
    review = Page(signed_in(app, world.amara).get(f"/items/{photo}/review")).main
    assert NEW["text_en"] in review
    assert "Sources: Safe House Project guidance" in review
    narrative_review_asks = criteria(app, "narrative")
    assert criterion.id not in {c.id for c in narrative_review_asks}


def test_a_new_criterion_needs_both_languages_and_keeps_what_was_typed(app, world, admin):
    client = signed_in(app, admin)
    before = database_fingerprint(app)
    response = client.post_form(
        "/admin/checklists/narrative/new", {"text_en": "", "text_fr": NEW["text_fr"]}
    )
    page = Page(response)
    assert response.status_code == 400
    assert "Please write the criterion in English." in page.errors()
    assert page.value("text_fr") == NEW["text_fr"]
    assert database_fingerprint(app) == before
    assert client.get("/admin/checklists/video/new").status_code == 404


def test_a_criterion_can_be_edited_until_it_is_answered(app, world, admin, photo):
    client = signed_in(app, admin)
    criterion = added(app, client)
    url = f"/admin/checklists/criteria/{criterion.id}/edit"
    response = client.post_form(url, NEW | {"text_en": "Setting: no shelter can be traced."})
    assert response.status_code == 302
    [edited] = [c for c in criteria(app) if c.id == criterion.id]
    assert edited.text_en == "Setting: no shelter can be traced."
    assert len(audit_events(app, "checklist.criterion_changed")) == 1

    assert f'href="{url}"' in client.get("/admin/checklists").get_data(as_text=True)

    answer(app, world, photo)
    page = Page(client.get(url))
    message = (
        "Consultants have already answered this criterion, so its wording cannot change. "
        "Retire it and add a new one instead."
    )
    assert message in page.alerts()
    listing = client.get("/admin/checklists").get_data(as_text=True)
    assert f'href="{url}"' not in listing  # no "Change the wording" link any more
    assert f'action="/admin/checklists/criteria/{criterion.id}/delete"' not in listing
    before = database_fingerprint(app)
    response = client.post_form(url, NEW | {"text_en": "A quiet rewording after the fact."})
    assert response.status_code == 400
    assert message in Page(response).errors()
    assert Page(response).value("text_en") == "A quiet rewording after the fact."
    assert database_fingerprint(app) == before


def test_only_a_criterion_no_one_answered_can_be_deleted(app, world, admin, photo):
    client = signed_in(app, admin)
    answered = criteria(app)[0]
    answer(app, world, photo)
    before = database_fingerprint(app)
    response = client.post_form(f"/admin/checklists/criteria/{answered.id}/delete")
    assert response.status_code == 302
    shown = Page(client.get(response.headers["Location"])).alerts()
    assert (
        "Consultants have already answered this criterion: it can be retired, not deleted." in shown
    )
    assert database_fingerprint(app) == before
    assert answered.id in {c.id for c in criteria(app)}

    unused = added(app, client)
    response = client.post_form(f"/admin/checklists/criteria/{unused.id}/delete")
    assert response.status_code == 302
    assert "The criterion is deleted." in Page(client.get("/admin/checklists")).alerts()
    assert unused.id not in {c.id for c in criteria(app, retired=True)}
    assert [e[1] for e in audit_events(app, "checklist.criterion_deleted")] == [str(unused.id)]
    review = Page(signed_in(app, world.amara).get(f"/items/{photo}/review"))
    assert NEW["text_en"] not in review.main


def test_retiring_and_restoring_a_criterion(app, world, admin, photo):
    client = signed_in(app, admin)
    criterion = criteria(app)[1]
    answer(app, world, photo)
    url = f"/admin/checklists/criteria/{criterion.id}/retire"
    assert client.post_form(url, {"retired": "1"}).status_code == 302
    assert criterion.id not in {c.id for c in criteria(app)}
    listing = Page(client.get("/admin/checklists")).main
    assert "Retired" in listing and squash(criterion.text_en) in listing
    with app.app_context():
        answers = db.session.scalars(
            select(ChecklistAnswer).where(ChecklistAnswer.criterion_id == criterion.id)
        ).all()
        assert len(answers) == 1  # the earlier answer is kept
    river = signed_in(app, world.river)
    assert squash(criterion.text_en) not in Page(river.get(f"/items/{photo}/review")).main
    # River can decide without it.
    form = review_form(river, photo) | form_answers(app) | {"decision": "approve"}
    assert f"answer_{criterion.id}" not in form
    assert river.post_form(f"/items/{photo}/review", form).status_code == 302

    assert client.post_form(url, {"retired": "0"}).status_code == 302
    assert criterion.id in {c.id for c in criteria(app)}
    assert squash(criterion.text_en) in Page(river.get(f"/items/{photo}/review")).main
    assert [e[0] for e in audit_events(app, "checklist.criterion_re")] == [
        "checklist.criterion_retired",
        "checklist.criterion_restored",
    ]
    # Retiring twice changes nothing more.
    assert client.post_form(url, {"retired": "0"}).status_code == 302
    assert len(audit_events(app, "checklist.criterion_re")) == 2


def test_the_review_form_shows_the_active_criteria_with_their_sources(app, world, photo):
    with app.test_request_context():
        narrative = add_narrative(users(app, world).editor, users(app, world).section).id
    amara = signed_in(app, world.amara)
    for item, kind in ((photo, "photo"), (narrative, "narrative")):
        page = Page(amara.get(f"/items/{item}/review"))
        legends = [squash(node.text()) for node in page.all("legend")]
        rows = criteria(app, kind)
        for number, row in enumerate(rows, start=1):
            assert f"{number}. {squash(row.text_en)}" in legends, row.text_en
            assert squash(f"Sources: {row.sources}") in page.main
        for other in criteria(app, "narrative" if kind == "photo" else "photo"):
            assert squash(other.text_en) not in page.main


def test_a_french_speaking_consultant_reads_the_checklist_in_french(app, world, make_user, photo):
    amina = make_user("consultant", display_name="Amina", locale="fr")
    with app.test_request_context():
        people = users(app, world)
        offer = assignments.assign_section(
            people.editor,
            db.session.get(Section, world.section),
            db.session.get(User, amina),
            due_on=utcnow().date() + timedelta(days=7),
        )
        assignments.accept(db.session.get(User, amina), offer)
        db.session.commit()
    page = Page(signed_in(app, amina).get(f"/items/{photo}/review"))
    assert translated(app, "Review and decide", "fr") != "Review and decide"
    assert translated(app, "Review and decide", "fr") in page.main
    for row in criteria(app):
        assert squash(row.text_fr) in page.main
        assert squash(row.text_en) not in page.main
        sources = translated(app, "Sources: %(sources)s", "fr", sources=row.sources)
        assert sources in page.main
    meets = translated(app, "Meets", "fr")
    assert meets != "Meets" and meets in page.main
