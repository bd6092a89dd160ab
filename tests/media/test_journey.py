"""The whole sign-off loop through the views: upload, review, change, asked again, clearance."""

from __future__ import annotations

import io
import re

from sqlalchemy import func, select

from portal.extensions import db
from portal.media.models import ChecklistCriterion, MediaItem, SignOff
from tests.media.conftest import PHOTO_FIELDS, jpeg_bytes


def _upload(client, section_id, data=None, **fields):
    form = PHOTO_FIELDS | fields
    return client.post_form(
        f"/sections/{section_id}/photos/new",
        form | {"image": (io.BytesIO(data or jpeg_bytes()), "cooperative.jpg")},
        content_type="multipart/form-data",
    )


def _answers(app, kind="photo", answer="meets"):
    with app.app_context():
        ids = db.session.scalars(
            select(ChecklistCriterion.id).where(
                ChecklistCriterion.kind == kind, ChecklistCriterion.retired_at.is_(None)
            )
        ).all()
    return {f"answer_{i}": answer for i in ids}


def _review_form(client, item_id):
    page = client.get(f"/items/{item_id}/review").get_data(as_text=True)
    key = re.search(r'name="submission_key"[^>]*value="([0-9a-f]+)"', page) or re.search(
        r'value="([0-9a-f]{32})"', page
    )
    number = re.search(r'name="version_number"[^>]*value="(\d+)"', page) or re.search(
        r'value="(\d+)"[^>]*name="version_number"', page
    )
    return {"submission_key": key.group(1), "version_number": number.group(1)}


def test_photo_loop(app, client, auth, world):
    auth.login_as(world.editor)
    response = _upload(client, world.section)
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        item_id = db.session.scalar(select(MediaItem.id))
    page = client.get(f"/items/{item_id}")
    assert page.status_code == 200
    assert "Survivor Arts Collective" in page.get_data(as_text=True)
    image = client.get(f"/items/{item_id}/versions/1/display")
    assert image.status_code == 200
    assert image.mimetype == "image/webp"
    assert image.headers["Cache-Control"] == "private, no-store"
    auth.logout()

    auth.login_as(world.amara)
    assert "waiting for your decision" in client.get("/").get_data(as_text=True)
    form = _review_form(client, item_id) | _answers(app) | {"decision": "approve"}
    response = client.post_form(f"/items/{item_id}/review", form)
    assert response.status_code == 302, response.get_data(as_text=True)
    again = client.post_form(f"/items/{item_id}/review", form)
    assert again.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(func.count(SignOff.id))) == 1
    assert "waiting for your decision" not in client.get("/").get_data(as_text=True)
    auth.logout()

    auth.login_as(world.editor)
    edit = client.get(f"/items/{item_id}/edit").get_data(as_text=True)
    revision = re.search(r'name="revision"[^>]*value="(\d+)"', edit) or re.search(
        r'value="(\d+)"[^>]*name="revision"', edit
    )
    response = client.post_form(
        f"/items/{item_id}/edit",
        PHOTO_FIELDS | {"caption_en": "A new caption.", "revision": revision.group(1)},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    clearance = client.get(f"/reports/{world.report}/clearance").get_data(as_text=True)
    assert "Amara" in clearance
    csv = client.get(f"/reports/{world.report}/clearance.csv").get_data(as_text=True)
    assert "A new caption." in csv
    auth.logout()

    auth.login_as(world.amara)
    assert "please look again" in client.get("/").get_data(as_text=True)
