"""Z3 and Z4 for photos and narratives: every media object answers 404 to consultants it is not
for, exactly like an id that does not exist, showing none of its words; editors' and admins'
routes answer 403 to consultants; refused requests change nothing; extra form fields are ignored.

A consultant only offered the section reads its text, photos and narratives (as the section's
own text, from the offer on) but cannot review, decide, mark areas or see others' notes.
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
from portal.media import services
from portal.media.models import (
    Answer,
    ConsentRecord,
    ItemKind,
    MediaItem,
    MediaVersion,
    PhotoRegion,
    SignOff,
    SignOffDecision,
)
from portal.models import utcnow
from portal.reports.models import Section
from portal.review import services as review
from tests.media.conftest import (
    MISSING_ID,
    PHOTO_FIELDS,
    add_narrative,
    add_photo,
    all_answers,
    consent,
    form_answers,
    jpeg_bytes,
    post_multipart,
    region,
    review_form,
    sign,
    signed_in,
    users,
)
from tests.test_access_matrix import database_fingerprint

CAPTION = "Ana at the Rosewood shelter door"
ALT = "A woman in a red scarf at a blue door numbered 14"
TITLE = "How I left the Pine Road house"
BODY = "My employer kept my passport in the office safe on Pine Road"
CONSENT_NAME = "Ana Rosewood-Pereira"
SCOPE = "Printed report only, never on social media"
REGION_NOTE = "The door number 14 identifies the shelter"
REASONS = "Blur the door number first"
CHECK_NOTE = "House number readable"
SIBLING_CAPTION = "Sol photographed at the harbour market"
SIBLING_NOTE = "The stall sign names the market"
SECRETS = (
    CAPTION,
    ALT,
    TITLE,
    BODY,
    CONSENT_NAME,
    SCOPE,
    REGION_NOTE,
    REASONS,
    CHECK_NOTE,
    SIBLING_CAPTION,
    SIBLING_NOTE,
    "Rosewood",
    "Pine Road",
)


@pytest.fixture
def media(app, world, make_user):
    """Section A (Amara and River accepted, Pending offered): an identifiable photo with consent,
    Amara's refusal with a checklist note and her note on an area, and a narrative with consent.
    Section B (Sol accepted): a photo with Sol's decision and note."""
    sol = make_user("consultant", display_name="Sol", email="sol@example.org")
    with app.test_request_context():
        people = users(app, world)
        person = db.session.get(User, sol)
        offer = assignments.assign_section(
            people.editor,
            people.other_section,
            person,
            due_on=utcnow().date() + timedelta(days=9),
        )
        assignments.accept(person, offer)
        db.session.commit()
        photo = add_photo(
            people.editor, people.section, identifiable=True, caption_en=CAPTION, alt_en=ALT
        )
        photo_consent = consent(people.editor, photo, given_by=CONSENT_NAME, scope=SCOPE)
        answers = all_answers(ItemKind.PHOTO)
        answers[next(iter(answers))] = services.AnswerGiven(Answer.DOES_NOT_MEET, CHECK_NOTE)
        refusal = sign(
            people.amara, photo, SignOffDecision.NOT_APPROVED, reasons=REASONS, answers=answers
        )
        note = region(people.amara, photo, REGION_NOTE)
        narrative = add_narrative(people.editor, people.section, title_en=TITLE, body_en=BODY)
        narrative_consent = consent(people.editor, narrative, given_by=CONSENT_NAME, scope=SCOPE)
        sibling = add_photo(
            people.editor, people.other_section, caption_en=SIBLING_CAPTION, alt_en=SIBLING_NOTE
        )
        sibling_sign_off = sign(person, sibling)
        sibling_region = region(person, sibling, SIBLING_NOTE)
        return SimpleNamespace(
            **vars(world),
            sol=sol,
            photo=photo.id,
            narrative=narrative.id,
            consent=photo_consent.id,
            narrative_consent=narrative_consent.id,
            sign_off=refusal.id,
            region=note.id,
            sibling=sibling.id,
            sibling_sign_off=sibling_sign_off.id,
            sibling_region=sibling_region.id,
            criterion=next(iter(answers)),
        )


def body(response) -> str:
    return response.get_data(as_text=True)


def leaks(response) -> list[str]:
    text = body(response).lower()
    return [secret for secret in SECRETS if secret.lower() in text]


def normalised(response) -> str:
    """The page without what differs between any two requests (tokens, the current address)."""
    text = re.sub(r'name="csrf_token"[^>]*value="[^"]*"', "", body(response))
    return re.sub(r'name="next" value="[^"]*"', "", text)


def review_data(app, kind: str = "photo") -> dict:
    return form_answers(app, kind) | {
        "version_number": "1",
        "submission_key": "probe-" + kind,
        "decision": "approve",
    }


REGION_DATA = {
    "x": "10",
    "y": "10",
    "width": "20",
    "height": "20",
    "note": "A probe.",
    "submission_key": "probe-region",
}


def object_urls(app, item: int, sign_off: int, note: int) -> list[tuple]:
    """Routes of one item and its objects that a consultant reaches only when it is theirs."""
    return [
        ("GET", f"/items/{item}", {}),
        ("GET", f"/items/{item}?version=1", {}),
        ("GET", f"/items/{item}/versions/1/full", {}),
        ("GET", f"/items/{item}/versions/1/display", {}),
        ("GET", f"/items/{item}/versions/1/thumb", {}),
        ("GET", f"/items/{item}/review", {}),
        ("POST", f"/items/{item}/review", review_data(app)),
        ("POST", f"/items/{item}/regions", REGION_DATA),
        ("POST", f"/sign-offs/{sign_off}/withdraw", {"decision": "approve"}),
        ("POST", f"/regions/{note}/delete", {}),
    ]


def working_urls(app, m) -> list[tuple]:
    """What needs an accepted assignment: reviewing, deciding and marking areas."""
    return [
        ("GET", f"/items/{m.photo}/review", {}),
        ("POST", f"/items/{m.photo}/review", review_data(app)),
        ("GET", f"/items/{m.narrative}/review", {}),
        ("POST", f"/items/{m.narrative}/review", review_data(app, "narrative")),
        ("POST", f"/items/{m.photo}/regions", REGION_DATA),
        ("POST", f"/sign-offs/{m.sign_off}/withdraw", {}),
        ("POST", f"/regions/{m.region}/delete", {}),
    ]


def editorial_urls(m) -> list[tuple]:
    """Routes for editors (and admins): a consultant is refused by role, whatever the id."""
    return [
        ("GET", f"/sections/{m.section}/photos/new", {}),
        ("POST", f"/sections/{m.section}/narratives/new", {"title_en": "x", "body_en": "x"}),
        ("GET", f"/items/{m.photo}/edit", {}),
        ("POST", f"/items/{m.photo}/edit", PHOTO_FIELDS | {"revision": "1", "caption_en": "x"}),
        ("POST", f"/items/{m.narrative}/remove", {}),
        ("GET", f"/items/{m.photo}/consent", {}),
        (
            "POST",
            f"/items/{m.photo}/consent",
            {"given_by": "x", "given_on": "2026-01-01", "scope": "x"},
        ),
        ("POST", f"/consent/{m.consent}/withdraw", {}),
        ("GET", f"/reports/{m.report}/clearance", {}),
        ("GET", f"/reports/{m.report}/clearance.csv", {}),
        ("GET", f"/reports/{m.report}/clearance?consultant={m.amara}", {}),
        ("GET", "/admin/checklists", {}),
        ("GET", "/admin/checklists/photo/new", {}),
        ("POST", "/admin/checklists/photo/new", {"text_en": "x", "text_fr": "x"}),
        ("GET", f"/admin/checklists/criteria/{m.criterion}/edit", {}),
        ("POST", f"/admin/checklists/criteria/{m.criterion}/edit", {"text_en": "x"}),
        ("POST", f"/admin/checklists/criteria/{m.criterion}/retire", {"retired": "1"}),
        ("POST", f"/admin/checklists/criteria/{m.criterion}/delete", {}),
    ]


def send(client, method: str, url: str, data: dict, token: str):
    if method == "GET":
        return client.get(url)
    return client.post(url, data={"csrf_token": token} | data)


def missing_variant(url: str) -> str:
    return re.sub(
        r"/(items|sign-offs|regions|consent|criteria|sections)/\d+", rf"/\1/{MISSING_ID}", url
    )


def probe(app, client, urls, expected: int = 404) -> None:
    token = client.csrf_token()
    before = database_fingerprint(app)
    for method, url, data in urls:
        response = send(client, method, url, data, token)
        assert response.status_code == expected, f"{method} {url}: {response.status_code}"
        assert leaks(response) == [], f"{method} {url} shows {leaks(response)}"
        missing = send(client, method, missing_variant(url), data, token)
        assert missing.status_code == expected, f"{method} {missing_variant(url)}"
        assert normalised(response) == normalised(missing), f"{method} {url} differs from a miss"
    assert database_fingerprint(app) == before, "a refused request changed the database"


def section_a_urls(app, m) -> list[tuple]:
    return [
        *object_urls(app, m.photo, m.sign_off, m.region),
        ("GET", f"/items/{m.narrative}", {}),
        ("GET", f"/items/{m.narrative}?continue=1", {}),
        ("GET", f"/items/{m.narrative}/review", {}),
    ]


def test_a_consultant_not_on_the_section_finds_none_of_its_media(app, media):
    for who in ("nobody", "sol"):
        probe(app, signed_in(app, getattr(media, who)), section_a_urls(app, media))


def test_a_consultant_finds_nothing_of_another_sections_media(app, media):
    urls = object_urls(app, media.sibling, media.sibling_sign_off, media.sibling_region)
    probe(app, signed_in(app, media.amara), urls)


def test_a_consultant_cannot_use_another_consultants_decision_or_note(app, media):
    river = signed_in(app, media.river)
    probe(
        app,
        river,
        [
            ("POST", f"/sign-offs/{media.sign_off}/withdraw", {}),
            ("POST", f"/regions/{media.region}/delete", {}),
        ],
    )
    with app.app_context():
        assert db.session.get(PhotoRegion, media.region) is not None


def test_editors_and_admins_routes_are_refused_by_role(app, media):
    for who in ("nobody", "offered", "amara"):
        probe(app, signed_in(app, getattr(media, who)), editorial_urls(media), expected=403)
    admin_only = [url for url in editorial_urls(media) if url[1].startswith("/admin/")]
    probe(app, signed_in(app, media.editor), admin_only, expected=403)


def test_missing_ids_are_404_for_editors(app, media):
    editor = signed_in(app, media.editor)
    token = editor.csrf_token()
    urls = [
        *section_a_urls(app, media),
        ("GET", f"/items/{MISSING_ID}/edit", {}),
        ("POST", f"/items/{MISSING_ID}/remove", {}),
        ("GET", f"/items/{MISSING_ID}/consent", {}),
        ("POST", f"/consent/{MISSING_ID}/withdraw", {}),
        ("GET", f"/reports/{MISSING_ID}/clearance", {}),
        ("GET", f"/reports/{MISSING_ID}/clearance.csv", {}),
        ("GET", f"/sections/{MISSING_ID}/photos/new", {}),
        ("GET", f"/items/{media.photo}/versions/{MISSING_ID}/full", {}),
        ("GET", f"/items/{media.photo}/versions/1/original", {}),
        ("GET", f"/items/{media.photo}?version={MISSING_ID}", {}),
    ]
    before = database_fingerprint(app)
    for method, url, data in urls:
        if "/review" in url or "/sign-offs/" in url:
            continue  # consultants' routes: an editor is refused by role
        response = send(editor, method, missing_variant(url), data, token)
        assert response.status_code == 404, f"{method} {missing_variant(url)}"
    assert database_fingerprint(app) == before


def test_a_consultant_only_offered_reads_but_cannot_review_or_see_others_notes(app, media):
    pending = signed_in(app, media.offered)
    probe(app, pending, working_urls(app, media))
    before = database_fingerprint(app)
    page = pending.get(f"/items/{media.photo}")
    assert page.status_code == 200
    assert CAPTION in body(page)
    for hidden in (REGION_NOTE, REASONS, CHECK_NOTE):
        assert hidden not in body(page)
    assert "Review and decide" not in body(page)
    assert f'action="/items/{media.photo}/regions"' not in body(page)
    assert pending.get(f"/items/{media.photo}/versions/1/thumb").status_code == 200
    assert database_fingerprint(app) == before


def test_archived_items_are_404_to_consultants(app, media):
    editor = signed_in(app, media.editor)
    assert editor.post_form(f"/items/{media.photo}/remove").status_code == 302
    amara = signed_in(app, media.amara)
    probe(app, amara, object_urls(app, media.photo, media.sign_off, media.region))
    assert CAPTION not in body(amara.get("/"))
    page = editor.get(f"/items/{media.photo}")
    assert page.status_code == 200
    assert "This item was removed from the section." in body(page)
    assert editor.get(f"/items/{media.photo}/versions/1/full").status_code == 200
    assert editor.get(f"/items/{media.photo}/edit").status_code == 404
    assert editor.get(f"/items/{media.photo}/consent").status_code == 404


def test_independent_review_hides_other_consultants_notes_on_photos(app, media):
    with app.test_request_context():
        river = db.session.get(User, media.river)
        photo = db.session.get(MediaItem, media.photo)
        own = region(river, photo, "River's own note on the scarf").id
    river_client = signed_in(app, media.river)
    shared = body(river_client.get(f"/items/{media.photo}"))
    assert REGION_NOTE in shared  # while review is shared, notes on the photo are shared
    # Decisions never are: only editors read Amara's reasons and checklist notes.
    assert REASONS not in shared and CHECK_NOTE not in shared
    editors = body(signed_in(app, media.editor).get(f"/items/{media.photo}"))
    assert REASONS in editors and CHECK_NOTE in editors
    with app.test_request_context():
        review.set_independent_review(
            db.session.get(User, media.editor), db.session.get(Section, media.section), True
        )
        db.session.commit()
    independent = body(river_client.get(f"/items/{media.photo}"))
    assert REGION_NOTE not in independent
    assert "River&#39;s own note on the scarf" in independent
    assert f"region-{own}" in independent and f"region-{media.region}" not in independent
    amaras = body(signed_in(app, media.amara).get(f"/items/{media.photo}"))
    assert REGION_NOTE in amaras and "own note on the scarf" not in amaras
    editors = body(signed_in(app, media.editor).get(f"/items/{media.photo}"))
    assert REGION_NOTE in editors and "own note on the scarf" in editors
    # River's decision page never shows Amara's reasons or checklist notes.
    review_page = body(river_client.get(f"/items/{media.photo}/review"))
    assert REASONS not in review_page and CHECK_NOTE not in review_page


# Mass assignment (Z4) ------------------------------------------------------------------------


def test_extra_fields_do_not_change_what_an_editor_saves(app, media):
    editor = signed_in(app, media.editor)
    response = post_multipart(
        editor,
        f"/sections/{media.section}/photos/new",
        PHOTO_FIELDS
        | {
            "caption_en": "Mine.",
            "image": (jpeg_bytes(), "x.jpg"),
            "identifiable_people": "1",
            "author_id": str(media.amara),
            "created_by_id": str(media.amara),
            "section_id": str(media.other_section),
            "content_sha256": "0" * 64,
            "image_sha256": "0" * 64,
            "image_name": "../../etc/passwd",
            "version_id": "1",
            "number": "7",
            "archived_at": "2020-01-01",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        item = db.session.scalars(
            select(MediaItem).join(MediaVersion).where(MediaVersion.caption_en == "Mine.")
        ).one()
        version = item.latest
        assert (item.section_id, item.created_by_id) == (media.section, media.editor)
        assert item.identifiable_people is False and item.archived_at is None
        assert (version.number, version.author_id) == (1, media.editor)
        assert version.content_sha256 != "0" * 64 and version.image_sha256 != "0" * 64
        assert re.fullmatch(r"[0-9a-f]{32}", version.image_name)
    response = editor.post_form(
        f"/items/{media.narrative}/consent",
        {
            "given_by": "Participant B",
            "given_on": "2026-01-05",
            "scope": "The report",
            "recorded_by_id": str(media.amara),
            "item_id": str(media.photo),
            "withdrawn_on": "2026-01-06",
            "replaces_id": str(media.consent),
        },
    )
    assert response.status_code == 302
    with app.app_context():
        row = db.session.scalars(
            select(ConsentRecord).where(ConsentRecord.given_by == "Participant B")
        ).one()
        assert (row.item_id, row.recorded_by_id) == (media.narrative, media.editor)
        assert row.withdrawn_on is None and row.replaces_id is None
    response = editor.post_form(
        f"/items/{media.narrative}/edit",
        {
            "title_en": TITLE,
            "body_en": "A new telling.",
            "revision": "1",
            "author_id": str(media.amara),
            "number": "9",
            "content_sha256": "0" * 64,
            "kind": "photo",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        item = db.session.get(MediaItem, media.narrative)
        version = item.latest
        assert item.kind is ItemKind.NARRATIVE
        assert (version.number, version.author_id) == (2, media.editor)
        assert version.content_sha256 != "0" * 64


def test_extra_fields_do_not_change_what_a_consultant_sends(app, media):
    amara = signed_in(app, media.amara)
    form = review_form(amara, media.narrative)
    response = amara.post_form(
        f"/items/{media.narrative}/review",
        form
        | form_answers(app, "narrative")
        | {
            "decision": "approve",
            "consultant_id": str(media.river),
            "item_id": str(media.photo),
            "version_id": "1",
            "content_sha256": "0" * 64,
            "withdraws_id": str(media.sign_off),
            "created_at": "2020-01-01T00:00:00",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        row = db.session.scalars(
            select(SignOff).where(SignOff.submission_key == form["submission_key"])
        ).one()
        item = db.session.get(MediaItem, media.narrative)
        assert (row.consultant_id, row.item_id) == (media.amara, media.narrative)
        assert (row.version_id, row.content_sha256) == (item.latest.id, item.latest.content_sha256)
        assert row.withdraws_id is None and row.created_at.year == utcnow().year
    response = amara.post_form(
        f"/items/{media.photo}/regions",
        REGION_DATA
        | {
            "submission_key": "mine-region",
            "author_id": str(media.river),
            "item_id": str(media.sibling),
            "version_id": "999",
            "image_sha256": "0" * 64,
        },
    )
    assert response.status_code == 302
    with app.app_context():
        row = db.session.scalars(
            select(PhotoRegion).where(PhotoRegion.submission_key == "mine-region")
        ).one()
        item = db.session.get(MediaItem, media.photo)
        assert (row.author_id, row.item_id) == (media.amara, media.photo)
        assert (row.version_id, row.image_sha256) == (item.latest.id, item.latest.image_sha256)
        assert (row.x, row.y, row.width, row.height) == (0.1, 0.1, 0.2, 0.2)
    response = amara.post_form(
        f"/sign-offs/{media.sign_off}/withdraw",
        {"decision": "approve", "consultant_id": str(media.river), "withdraws_id": "1"},
    )
    assert response.status_code == 302
    with app.app_context():
        row = db.session.scalars(select(SignOff).where(SignOff.withdraws_id.is_not(None))).one()
        assert row.decision is SignOffDecision.WITHDRAWN
        assert (row.consultant_id, row.withdraws_id) == (media.amara, media.sign_off)
