"""A report section with two consultants at work on it, and photo bytes to upload."""

from __future__ import annotations

import io
from datetime import timedelta
from types import SimpleNamespace

import pytest
from PIL import Image

from portal.accounts.models import User
from portal.assignments import services as assignments
from portal.extensions import db
from portal.models import utcnow
from portal.reports import services as reports


def jpeg_bytes(size=(64, 48), colour=(180, 120, 60)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "JPEG")
    return buffer.getvalue()


PHOTO_FIELDS = {
    "caption_en": "Members of a survivor-led cooperative at their weekly meeting.",
    "caption_fr": "Membres d’une coopérative dirigée par des personnes survivantes.",  # noqa: RUF001
    "alt_en": "Five people around a table covered in papers, seen from behind.",
    "alt_fr": "Cinq personnes autour d’une table couverte de papiers, vues de dos.",  # noqa: RUF001
    "credit": "Photo: Survivor Arts Collective",
    "provenance": "Commissioned for the 2027 report; used with the participants' agreement.",
}


@pytest.fixture
def world(app, editor, consultant, consultant2, make_user):
    """A section with Amara and River accepted, Pending only offered, Stranger not assigned."""
    ids = SimpleNamespace(
        editor=editor,
        amara=consultant,
        river=consultant2,
        offered=make_user("consultant", display_name="Pending"),
        nobody=make_user("consultant", display_name="Stranger"),
    )
    with app.test_request_context():
        people = SimpleNamespace(**{k: db.session.get(User, v) for k, v in vars(ids).items()})
        report = reports.create_report(people.editor, title_en="2027 Report", year=2027)
        section = reports.create_section(people.editor, report, title_en="Introduction")
        other = reports.create_section(people.editor, report, title_en="Other section")
        reports.publish_version(
            people.editor,
            section,
            body_en="Survivors lead this work.",
            body_fr=None,
            change_summary=None,
            based_on=0,
        )
        due = utcnow().date() + timedelta(days=10)
        for name in ("amara", "river", "offered"):
            offer = assignments.assign_section(
                people.editor, section, getattr(people, name), due_on=due
            )
            if name != "offered":
                assignments.accept(getattr(people, name), offer)
        db.session.commit()
        ids.report = report.id
        ids.section = section.id
        ids.other_section = other.id
    return ids


# Helpers shared by the media tests ------------------------------------------------------------
# Service helpers run inside an app or request context the caller opened; view helpers take a
# logged-in test client.

NARRATIVE_FIELDS = {
    "title_en": "Building a life after the farm",
    "title_fr": "Reconstruire sa vie après la ferme",
    "body_en": "I worked on the farm for **three years**.\n\nNow I lead a cooperative.",
    "body_fr": "J'ai travaillé à la ferme pendant **trois ans**.",
}
MISSING_ID = 987654


def signed_in(app, user_id: int):
    """A new test client signed in as this account (the sign-in throttle is reset first)."""
    from portal.extensions import limiter
    from tests.conftest import AuthActions

    limiter.reset()
    client = app.test_client()
    AuthActions(client, app).login_as(user_id)
    return client


def image_fields(data: bytes | None = None) -> dict:
    """Process and store a photo as the upload view does; the version columns naming it."""
    from portal.media import storage
    from portal.media.imaging import process_image

    image = process_image(data or jpeg_bytes(), max_bytes=10**7, max_pixels=10**7)
    return {
        "image_name": storage.store(image),
        "image_sha256": image.sha256,
        "image_format": image.format,
        "width": image.width,
        "height": image.height,
    }


def add_photo(actor, section, *, identifiable: bool = False, data: bytes | None = None, **fields):
    """A photo item as version 1 (committed)."""
    from portal.media import services
    from portal.media.models import ItemKind

    values = PHOTO_FIELDS | image_fields(data) | fields
    item = services.add_item(actor, section, ItemKind.PHOTO, values, identifiable=identifiable)
    db.session.commit()
    return item


def add_narrative(actor, section, **fields):
    """A narrative item as version 1 (committed)."""
    from portal.media import services
    from portal.media.models import ItemKind

    item = services.add_item(actor, section, ItemKind.NARRATIVE, NARRATIVE_FIELDS | fields)
    db.session.commit()
    return item


def current_fields(item) -> dict:
    """The latest version's content, as a form would send it back."""
    from portal.media.models import FINGERPRINT_FIELDS

    latest = item.latest
    names = (*FINGERPRINT_FIELDS, "image_name", "image_format", "width", "height")
    return {name: getattr(latest, name) for name in names}


def publish(actor, item, **changes):
    """Save a new version of the item with these changes (committed); returns the version."""
    from portal.media import services

    version = services.publish_item_version(
        actor,
        item,
        expected_revision=item.revision,
        fields=current_fields(item) | changes,
        identifiable=item.identifiable_people,
    )
    db.session.commit()
    return version


def all_answers(kind, answer=None, note: str | None = None) -> dict:
    """Every active criterion of the kind's checklist answered the same way."""
    from portal.media import services
    from portal.media.models import Answer

    given = services.AnswerGiven(answer or Answer.MEETS, note)
    return {c.id: given for c in services.criteria(kind)}


def sign(consultant, item, decision=None, *, reasons: str | None = None, answers=None):
    """The consultant's decision on the item's latest version (committed)."""
    import uuid

    from portal.media import services
    from portal.media.models import SignOffDecision

    decision = decision or SignOffDecision.APPROVE
    if reasons is None and decision is not SignOffDecision.APPROVE:
        reasons = "Please crop the faces."
    row = services.submit_sign_off(
        consultant,
        item,
        version_number=item.latest.number,
        decision=decision,
        reasons=reasons,
        answers=answers if answers is not None else all_answers(item.kind),
        submission_key=uuid.uuid4().hex,
    )
    db.session.commit()
    return row


def consent(actor, item, *, given_by: str = "Participant A", given_on=None, **kwargs):
    """A consent record for the item, given today unless said otherwise (committed)."""
    from portal.media import services

    kwargs.setdefault("scope", "The 2027 report, print and online")
    kwargs.setdefault("uses_allowed", None)
    kwargs.setdefault("expires_on", None)
    row = services.record_consent(
        actor, item, given_by=given_by, given_on=given_on or utcnow().date(), **kwargs
    )
    db.session.commit()
    return row


def region(user, item, note: str = "This face could be recognised.", **box):
    """A note on an area of the photo (committed)."""
    import uuid

    from portal.media import services

    box = {"x": 0.1, "y": 0.2, "width": 0.3, "height": 0.25} | box
    row = services.add_region(user, item, note=note, submission_key=uuid.uuid4().hex, **box)
    db.session.commit()
    return row


def users(app, ids) -> SimpleNamespace:
    """The `world`'s people and sections as objects of the current session."""
    from portal.reports.models import Report, Section

    return SimpleNamespace(
        editor=db.session.get(User, ids.editor),
        amara=db.session.get(User, ids.amara),
        river=db.session.get(User, ids.river),
        offered=db.session.get(User, ids.offered),
        nobody=db.session.get(User, ids.nobody),
        report=db.session.get(Report, ids.report),
        section=db.session.get(Section, ids.section),
        other_section=db.session.get(Section, ids.other_section),
    )


# Through the views ----------------------------------------------------------------------------


def post_multipart(client, url: str, form: dict):
    """POST a multipart form (files as (bytes, filename)), CSRF token added as a browser would.

    The body is encoded in memory: werkzeug's test client spools bodies over 500 KB to a
    temporary file it never closes, which warnings-as-errors would report."""
    from werkzeug.datastructures import FileStorage
    from werkzeug.test import encode_multipart

    values = {}
    for name, value in form.items():
        if isinstance(value, tuple):
            data, filename = value
            value = FileStorage(io.BytesIO(data), filename=filename, content_type="image/jpeg")
        elif isinstance(value, bool):
            if not value:
                continue
            value = "y"
        values[name] = value
    values.setdefault("csrf_token", client.csrf_token())
    boundary, body = encode_multipart(values)
    return client.post(url, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def upload(client, section_id: int, data: bytes | None = None, filename: str = "photo.jpg", **kw):
    """POST the new-photo form with a file (the caption and the other fields filled in)."""
    form = PHOTO_FIELDS | kw | {"image": (jpeg_bytes() if data is None else data, filename)}
    return post_multipart(client, f"/sections/{section_id}/photos/new", form)


def hidden_value(html: str, name: str) -> str:
    """The value of a hidden input, whichever order its attributes come in."""
    import re

    for tag in re.findall(r"<input[^>]*>", html):
        if re.search(rf'name="{re.escape(name)}"', tag):
            found = re.search(r'value="([^"]*)"', tag)
            return found.group(1) if found else ""
    raise AssertionError(f"no input named {name!r} on the page")


def review_form(client, item_id: int) -> dict:
    """The hidden fields of the decision form, as a browser would send them back."""
    page = client.get(f"/items/{item_id}/review")
    assert page.status_code == 200, page.status_code
    html = page.get_data(as_text=True)
    return {
        "submission_key": hidden_value(html, "submission_key"),
        "version_number": hidden_value(html, "version_number"),
    }


def form_answers(app, kind: str = "photo", answer: str = "meets") -> dict:
    """The checklist part of the decision form: every active criterion answered."""
    from sqlalchemy import select

    from portal.media.models import ChecklistCriterion

    with app.app_context():
        ids = db.session.scalars(
            select(ChecklistCriterion.id).where(
                ChecklistCriterion.kind == kind, ChecklistCriterion.retired_at.is_(None)
            )
        ).all()
    return {f"answer_{i}": answer for i in ids}


def edit_revision(client, item_id: int) -> str:
    page = client.get(f"/items/{item_id}/edit")
    assert page.status_code == 200, page.status_code
    return hidden_value(page.get_data(as_text=True), "revision")


def photo_files(app) -> list:
    """Every file under the photos folder (none if it was never made)."""
    from pathlib import Path

    folder = Path(app.config["PORTAL_UPLOAD_DIR"]) / "photos"
    return sorted(path for path in folder.rglob("*") if path.is_file()) if folder.exists() else []


def count_rows(app, model) -> int:
    from sqlalchemy import func, select

    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def audit_events(app, prefix: str = "") -> list:
    """(action, object id, detail) of audit events whose action starts with `prefix`."""
    from sqlalchemy import select

    from portal.audit.models import AuditEvent

    with app.app_context():
        rows = db.session.execute(
            select(AuditEvent.action, AuditEvent.object_id, AuditEvent.detail)
            .where(AuditEvent.action.startswith(prefix))
            .order_by(AuditEvent.seq)
        ).all()
        return [tuple(row) for row in rows]
