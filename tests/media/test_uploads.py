"""Photo uploads through the views: metadata never reaches the disk, hostile files are refused
with a clear message and leave nothing behind, and replacing a photo versions it (security.md
F1-F4)."""

from __future__ import annotations

import functools
import io

import pytest
from PIL import Image
from sqlalchemy import select

from portal.extensions import db
from portal.media import views
from portal.media.imaging import process_image
from portal.media.models import MediaItem, MediaVersion
from tests.media.conftest import (
    PHOTO_FIELDS,
    audit_events,
    count_rows,
    edit_revision,
    jpeg_bytes,
    photo_files,
    post_multipart,
    signed_in,
    upload,
)
from tests.media.hostile import HOSTILE_LIMITS, hostile_uploads, renamed_but_valid
from tests.media.test_imaging import COMMENT_TEXT, _jpeg_with_everything
from tests.reports.pages import Page

FORBIDDEN = (b"Exif", b"GPS", b"http://ns.adobe.com", b"adobe:ns:meta", COMMENT_TEXT, b"SecretCam")


def only_item(app) -> MediaItem:
    with app.app_context():
        item = db.session.scalars(select(MediaItem)).one()
        db.session.expunge(item)
        return item


def versions(app, item_id: int) -> list[tuple[int, str, str]]:
    with app.app_context():
        rows = db.session.execute(
            select(MediaVersion.number, MediaVersion.image_sha256, MediaVersion.image_name)
            .where(MediaVersion.item_id == item_id)
            .order_by(MediaVersion.number)
        ).all()
        return [tuple(row) for row in rows]


# Metadata ------------------------------------------------------------------------------------


def test_no_metadata_reaches_the_disk_or_the_browser(app, world):
    original = _jpeg_with_everything()
    for needle in (b"Exif", b"GPS", b"http://ns.adobe.com", COMMENT_TEXT):
        assert needle in original, needle  # the fixture carries what must be removed
    editor = signed_in(app, world.editor)
    response = upload(editor, world.section, original, "IMG_0001.jpg")
    assert response.status_code == 302, Page(response).errors()
    item = only_item(app)

    files = photo_files(app)
    assert len(files) == 3, files  # the full image and two WebP derivatives
    assert sorted(path.suffix for path in files) == [".jpg", ".webp", ".webp"]
    for path in files:
        data = path.read_bytes()
        for needle in FORBIDDEN:
            assert needle not in data, f"{path.name} carries {needle!r}"
        assert "IMG_0001" not in path.name  # names are the server's, not the browser's
        assert path.stat().st_mode & 0o077 == 0, oct(path.stat().st_mode)

    assert len(versions(app, item.id)) == 1
    with app.app_context():
        version = db.session.scalars(select(MediaVersion)).one()
        # The EXIF orientation (6) was applied to the pixels before the tag was dropped.
        assert (version.width, version.height) == (20, 40)
        assert version.image_format == "JPEG"
    expected_types = {"full": "image/jpeg", "display": "image/webp", "thumb": "image/webp"}
    amara = signed_in(app, world.amara)
    for size, mimetype in expected_types.items():
        for client in (editor, amara):
            response = client.get(f"/items/{item.id}/versions/1/{size}")
            assert response.status_code == 200, size
            assert response.mimetype == mimetype
            assert response.headers["Cache-Control"] == "private, no-store"
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            assert response.headers["Content-Disposition"].startswith("inline;")
            body = response.get_data()
            for needle in FORBIDDEN:
                assert needle not in body, f"{size} carries {needle!r}"
            picture = Image.open(io.BytesIO(body))
            assert picture.size == (20, 40)
            assert not picture.getexif()
            assert "comment" not in picture.info and "xmp" not in picture.info
    assert editor.get(f"/items/{item.id}/versions/1/original").status_code == 404
    assert editor.get(f"/items/{item.id}/versions/2/full").status_code == 404


# Hostile uploads -----------------------------------------------------------------------------


@pytest.fixture
def corpus_limits(monkeypatch):
    """The app's upload view with the corpus's limits (2 MB, 4 million pixels, 8000 px a side)."""
    monkeypatch.setattr(views, "MAX_PHOTO_BYTES", HOSTILE_LIMITS["max_bytes"])
    monkeypatch.setattr(views, "MAX_PHOTO_PIXELS", HOSTILE_LIMITS["max_pixels"])
    monkeypatch.setattr(
        views,
        "process_image",
        functools.partial(process_image, max_side=HOSTILE_LIMITS["max_side"]),
    )


def expected_message(app, reason: str) -> str:
    with app.test_request_context():
        mb = HOSTILE_LIMITS["max_bytes"] // (1024 * 1024)
        megapixels = HOSTILE_LIMITS["max_pixels"] // 1_000_000
        return str(views.IMAGE_MESSAGES[reason]) % {"mb": mb, "megapixels": megapixels}


def test_every_hostile_upload_is_refused_and_leaves_nothing(app, world, corpus_limits):
    uploads = hostile_uploads()
    assert len(uploads) >= 30
    editor = signed_in(app, world.editor)
    token = editor.csrf_token()
    typed = {
        "caption_en": "Caption typed before the upload <b>kept</b>",
        "credit": "Credit typed before the upload",
        "content_note_en": "A note typed before the upload",
    }
    failures = []
    for hostile in uploads:
        response = upload(
            editor, world.section, hostile.data, hostile.filename, csrf_token=token, **typed
        )
        page = Page(response)
        expected = expected_message(app, hostile.reason)
        problems = []
        if response.status_code != 400:
            problems.append(f"status {response.status_code}")
        if expected not in page.errors():
            problems.append(f"errors {page.errors()}")
        if not any("Nothing you typed was lost" in alert for alert in page.alerts()):
            problems.append(f"alerts {page.alerts()}")
        for name, value in (PHOTO_FIELDS | typed).items():
            if page.value(name) != value:
                problems.append(f"{name} = {page.value(name)!r}")
        if problems:
            failures.append((hostile.id, problems))
    assert failures == []
    assert count_rows(app, MediaItem) == 0
    assert count_rows(app, MediaVersion) == 0
    assert photo_files(app) == []
    assert audit_events(app, "photo.") == []


def test_the_corpus_limits_are_stricter_than_the_apps_own(app, world):
    """Each corpus entry is refused under the real limits too (except the two that are only too
    many pixels for the corpus), with a message and no trace."""
    editor = signed_in(app, world.editor)
    token = editor.csrf_token()
    # Within the real limits (40 million pixels, 20000 px a side), these two are photos.
    pixels_only = {"png-over-max-pixels", "jpeg-side-too-long"}
    for hostile in hostile_uploads():
        if hostile.id in pixels_only:
            continue
        response = upload(editor, world.section, hostile.data, hostile.filename, csrf_token=token)
        assert response.status_code == 400, hostile.id
        assert len(Page(response).errors()) == 1, hostile.id
    assert count_rows(app, MediaItem) == 0
    assert photo_files(app) == []


def test_a_valid_photo_with_a_misleading_name_is_accepted_as_what_it_is(app, world):
    valid = renamed_but_valid()
    editor = signed_in(app, world.editor)
    response = upload(editor, world.section, valid.data, valid.filename)
    assert response.status_code == 302
    item = only_item(app)
    full = editor.get(f"/items/{item.id}/versions/1/full")
    assert full.mimetype == "image/png"
    assert Image.open(io.BytesIO(full.get_data())).format == "PNG"
    assert sorted(path.suffix for path in photo_files(app)) == [".png", ".webp", ".webp"]


def test_an_upload_without_a_file_or_a_caption_keeps_the_typed_fields(app, world):
    editor = signed_in(app, world.editor)
    response = post_multipart(
        editor,
        f"/sections/{world.section}/photos/new",
        PHOTO_FIELDS | {"caption_en": "Typed, no file"},
    )
    page = Page(response)
    assert response.status_code == 400
    assert "Please choose a photo to upload." in page.errors()
    assert page.value("caption_en") == "Typed, no file"
    # A good photo with a field missing: refused, and its files are not kept.
    response = upload(editor, world.section, caption_en="", credit="Typed credit")
    assert response.status_code == 400
    assert "Please write a caption in English." in Page(response).errors()
    assert Page(response).value("credit") == "Typed credit"
    assert count_rows(app, MediaItem) == 0
    assert photo_files(app) == []


def test_hostile_replacements_are_refused_and_the_item_is_unchanged(app, world, corpus_limits):
    editor = signed_in(app, world.editor)
    assert upload(editor, world.section).status_code == 302
    item = only_item(app)
    files = photo_files(app)
    revision = edit_revision(editor, item.id)
    token = editor.csrf_token()
    one_per_reason = {hostile.reason: hostile for hostile in hostile_uploads()}
    for hostile in one_per_reason.values():
        response = post_multipart(
            editor,
            f"/items/{item.id}/edit",
            PHOTO_FIELDS
            | {
                "caption_en": "A changed caption",
                "revision": revision,
                "csrf_token": token,
                "image": (hostile.data, hostile.filename),
            },
        )
        page = Page(response)
        assert response.status_code == 400, hostile.id
        assert expected_message(app, hostile.reason) in page.errors(), hostile.id
        assert page.value("caption_en") == "A changed caption", hostile.id
    assert len(versions(app, item.id)) == 1
    assert photo_files(app) == files


# Replacing the image --------------------------------------------------------------------------


def edit(client, item_id: int, data: bytes | None = None, **fields):
    form = PHOTO_FIELDS | {"revision": edit_revision(client, item_id)} | fields
    if data is not None:
        form["image"] = (data, "replacement.jpg")
    return post_multipart(client, f"/items/{item_id}/edit", form)


def test_replacing_the_image_makes_a_version_with_a_new_image(app, world):
    editor = signed_in(app, world.editor)
    assert upload(editor, world.section).status_code == 302
    item = only_item(app)
    first_files = photo_files(app)
    response = edit(editor, item.id, jpeg_bytes(size=(80, 60), colour=(20, 40, 200)))
    assert response.status_code == 302, Page(response).errors()
    [(_, sha1, name1), (number, sha2, name2)] = versions(app, item.id)
    assert number == 2
    assert sha2 != sha1 and name2 != name1
    assert len(photo_files(app)) == 6 and set(first_files) <= set(photo_files(app))
    old = Image.open(io.BytesIO(editor.get(f"/items/{item.id}/versions/1/full").get_data()))
    new = Image.open(io.BytesIO(editor.get(f"/items/{item.id}/versions/2/full").get_data()))
    assert (old.size, new.size) == ((64, 48), (80, 60))
    [event] = [e for e in audit_events(app, "photo.version_published")]
    assert '"image_changed": true' in event[2]


def test_the_same_image_again_with_a_new_caption_reuses_the_stored_files(app, world):
    editor = signed_in(app, world.editor)
    assert upload(editor, world.section).status_code == 302
    item = only_item(app)
    files = photo_files(app)
    response = edit(editor, item.id, jpeg_bytes(), caption_en="Only the caption changed.")
    assert response.status_code == 302, Page(response).errors()
    [(_, sha1, name1), (number, sha2, name2)] = versions(app, item.id)
    assert (number, sha2, name2) == (2, sha1, name1)
    assert photo_files(app) == files  # nothing new written, nothing left over
    assert editor.get(f"/items/{item.id}/versions/2/display").status_code == 200
    [event] = audit_events(app, "photo.version_published")
    assert '"image_changed": false' in event[2]
    # The same image and the same text again is not a new version.
    response = edit(editor, item.id, jpeg_bytes(), caption_en="Only the caption changed.")
    assert response.status_code == 400
    assert "Nothing changed, so no new version was made." in Page(response).alerts()
    assert len(versions(app, item.id)) == 2
    assert photo_files(app) == files


def test_a_replacement_refused_as_a_conflict_leaves_no_files(app, world, make_user):
    first = signed_in(app, world.editor)
    second = signed_in(app, make_user("editor", display_name="Jo"))
    assert upload(first, world.section).status_code == 302
    item = only_item(app)
    files = photo_files(app)
    stale = edit_revision(second, item.id)
    assert edit(first, item.id, caption_en="Saved first.").status_code == 302
    response = post_multipart(
        second,
        f"/items/{item.id}/edit",
        PHOTO_FIELDS
        | {
            "caption_en": "Saved second.",
            "revision": stale,
            "image": (jpeg_bytes(colour=(1, 2, 3)), "new.jpg"),
        },
    )
    assert response.status_code == 409
    assert Page(response).value("caption_en") == "Saved second."
    assert len(versions(app, item.id)) == 2
    assert photo_files(app) == files
