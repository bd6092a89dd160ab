"""Photo and narrative pages through the test client: the upload form's limits, sanitised
narratives, content notes, consent, the consultant's queue, notes on areas of a photo, decisions
on the version on screen, and messages in French."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask_babel import force_locale, gettext
from sqlalchemy import select

from portal.accounts.models import User
from portal.assignments import services as assignments
from portal.extensions import db
from portal.media import services, views
from portal.media.models import ConsentRecord, MediaItem, PhotoRegion, SignOff
from portal.models import utcnow
from portal.reports.models import Section
from tests.media.conftest import (
    NARRATIVE_FIELDS,
    PHOTO_FIELDS,
    add_narrative,
    add_photo,
    audit_events,
    consent,
    count_rows,
    edit_revision,
    form_answers,
    publish,
    review_form,
    signed_in,
    upload,
    users,
)
from tests.reports.pages import Page, squash

SCRIPT_BODY = (
    "I left in **March**.\n\n"
    "<script>document.title='owned'</script>\n\n"
    '<img src="x" onerror="alert(1)">\n\n'
    "[Read more](javascript:alert(2)) and [the charity](https://example.org/help)."
)


def translated(app, message: str, locale: str, **variables) -> str:
    with app.test_request_context(), force_locale(locale):
        return squash(gettext(message, **variables))


def only(app, model):
    with app.app_context():
        row = db.session.scalars(select(model)).one()
        db.session.expunge(row)
        return row


@pytest.fixture
def items(app, world):
    """A plain photo and a narrative (with consent) in the world's section."""
    with app.test_request_context():
        people = users(app, world)
        photo = add_photo(people.editor, people.section)
        narrative = add_narrative(people.editor, people.section)
        consent(people.editor, narrative)
        return world, photo.id, narrative.id


# The upload form -----------------------------------------------------------------------------


def test_the_upload_form_says_its_limits_before_the_upload(app, world):
    editor = signed_in(app, world.editor)
    page = Page(editor.get(f"/sections/{world.section}/photos/new"))
    hint = page.one(id="image-hint")
    assert squash(hint.text()) == (
        "JPEG, PNG or WebP, up to 15 MB and 40 million pixels. Location data and other hidden "
        "details are removed from the file."
    )
    file_input = page.one("input", name="image")
    assert file_input.attrs["accept"] == "image/jpeg,image/png,image/webp"
    assert file_input.attrs["data-max-bytes"] == str(15 * 1024 * 1024)
    assert file_input.attrs["aria-describedby"] == "image-hint"
    # The limit said follows the request size limit, less room for the form's other fields.
    app.config["MAX_CONTENT_LENGTH"] = 5 * 1024 * 1024
    page = Page(editor.get(f"/sections/{world.section}/photos/new"))
    assert "JPEG, PNG or WebP, up to 4 MB" in squash(page.one(id="image-hint").text())
    assert page.one("input", name="image").attrs["data-max-bytes"] == str(
        5 * 1024 * 1024 - 512 * 1024
    )


def test_a_photo_is_added_and_shown(app, world):
    editor = signed_in(app, world.editor)
    response = upload(editor, world.section, staged=True)
    assert response.status_code == 302
    item = only(app, MediaItem)
    assert response.headers["Location"] == f"/items/{item.id}"
    page = Page(editor.get(f"/items/{item.id}"))
    assert "The photo is added as version 1." in page.alerts()
    # An English reader sees the English caption and alt text (the French are for French readers).
    for name in ("caption_en", "alt_en", "credit", "provenance"):
        assert squash(PHOTO_FIELDS[name]) in page.main, name
    assert PHOTO_FIELDS["caption_fr"] not in page.main
    assert "Staged or re-enacted photo" in page.main
    [image] = [img for img in page.all("img") if "data-region-image" in img.attrs]
    assert image.attrs["src"] == f"/items/{item.id}/versions/1/display"
    assert image.attrs["alt"] == PHOTO_FIELDS["alt_en"]
    assert [e[0] for e in audit_events(app, "photo.")] == ["photo.added"]


# Narratives ----------------------------------------------------------------------------------


def test_a_narratives_markdown_is_rendered_and_sanitised(app, world):
    editor = signed_in(app, world.editor)
    response = editor.post_form(
        f"/sections/{world.section}/narratives/new",
        NARRATIVE_FIELDS | {"body_en": SCRIPT_BODY},
    )
    assert response.status_code == 302
    item = only(app, MediaItem)
    for client in (editor, signed_in(app, world.amara)):
        html = client.get(f"/items/{item.id}").get_data(as_text=True)
        page = Page(html)
        assert "<strong>March</strong>" in html
        # Raw HTML in the story is shown as text, never as markup.
        assert "<script>document" not in html and '<img src="x"' not in html
        for script in page.all("script"):
            assert script.attrs.get("src", "").startswith("/static/"), script.attrs
            assert not script.text().strip()
        for node in page.all():
            assert not any(name.startswith("on") for name in node.attrs), node.attrs
        hrefs = [a.attrs.get("href") or "" for a in page.all("a")]
        assert not any(href.strip().lower().startswith("javascript") for href in hrefs)
        link = next(a for a in page.all("a") if a.attrs.get("href") == "https://example.org/help")
        assert "noopener" in link.attrs.get("rel", "")
        assert "Read more" in page.main  # the link's words stay, inert


def test_a_narrative_with_a_content_note_shows_the_note_first(app, world):
    with app.test_request_context():
        people = users(app, world)
        item = add_narrative(
            people.editor,
            people.section,
            body_en="They kept my papers in a locked drawer.",
            content_note_en="Describes confinement and debt.",
        ).id
    amara = signed_in(app, world.amara)
    first = Page(amara.get(f"/items/{item}"))
    assert "Describes confinement and debt." in first.main
    assert "They kept my papers" not in first.html
    button = next(a for a in first.all("a") if "Continue to the story" in a.text())
    assert button.attrs["href"] == f"/items/{item}?continue=1"
    story = Page(amara.get(button.attrs["href"]))
    assert "They kept my papers in a locked drawer." in story.main
    assert "Describes confinement and debt." in story.main  # still said, above the story
    # The queue marks it too, before it is opened.
    assert "Content note" in Page(amara.get("/")).main
    # Without a note, the story is shown at once.
    with app.test_request_context():
        plain = add_narrative(users(app, world).editor, users(app, world).section).id
    page = Page(amara.get(f"/items/{plain}"))
    assert "Now I lead a cooperative." in page.main
    assert "Continue to the story" not in page.main


def test_a_photo_with_a_content_note_is_concealed_until_shown(app, world):
    editor = signed_in(app, world.editor)
    assert upload(editor, world.section, content_note_en="Shows a scar.").status_code == 302
    item = only(app, MediaItem)
    for client in (editor, signed_in(app, world.amara)):
        page = Page(client.get(f"/items/{item.id}"))
        wrapper = page.one(cls="portal-sensitive")
        assert "data-sensitive" in wrapper.attrs
        concealed = page.one(cls="is-concealed")
        assert "portal-sensitive__media" in concealed.classes()
        assert "Shows a scar." in page.main
        assert any("data-reveal" in b.attrs for b in page.all("button"))
    review = Page(signed_in(app, world.amara).get(f"/items/{item.id}/review"))
    concealed = review.one(cls="is-concealed")
    assert [node.attrs.get("class") for node in concealed.iter() if node.tag == "img"] == [
        "portal-photo-review"
    ]
    # No thumbnail of it is shown in lists before the reader chooses.
    section_page = signed_in(app, world.amara).get(f"/sections/{world.section}/read?continue=1")
    assert f"/items/{item.id}/versions/1/thumb" not in section_page.get_data(as_text=True)
    # A photo without a content note is shown as it is.
    assert upload(editor, world.section).status_code == 302
    with app.app_context():
        plain = max(db.session.scalars(select(MediaItem.id)))
    page = Page(signed_in(app, world.amara).get(f"/items/{plain}"))
    assert list(page.all(cls="is-concealed")) == []
    assert not any("data-sensitive" in node.attrs for node in page.all())


# Consent -------------------------------------------------------------------------------------


def test_consent_defaults_to_three_years_and_is_withdrawn_in_one_step(app, world):
    with app.test_request_context():
        item = add_photo(users(app, world).editor, users(app, world).section, identifiable=True).id
    editor = signed_in(app, world.editor)
    form = Page(editor.get(f"/items/{item}/consent"))
    assert "left empty, it is three years" in form.main
    assert "No consent recorded" in Page(editor.get(f"/items/{item}")).main
    given = utcnow().date() - timedelta(days=10)
    response = editor.post_form(
        f"/items/{item}/consent",
        {"given_by": "Participant A", "given_on": given.isoformat(), "scope": "The report"},
    )
    assert response.status_code == 302
    record = only(app, ConsentRecord)
    assert record.expires_on == given.replace(year=given.year + 3)
    page = Page(editor.get(f"/items/{item}"))
    assert "The consent is recorded." in page.alerts()
    assert "Consent given" in page.main
    withdraw = page.one("form", action=f"/consent/{record.id}/withdraw")
    assert withdraw.attrs["method"] == "post"

    response = editor.post_form(f"/consent/{record.id}/withdraw")
    assert response.status_code == 302
    page = Page(editor.get(response.headers["Location"].split("#")[0]))
    assert any("The withdrawal is recorded." in alert for alert in page.alerts())
    assert "Consent withdrawn" in page.main
    assert list(page.all("form", action=f"/consent/{record.id}/withdraw")) == []
    assert only(app, ConsentRecord).withdrawn_on == utcnow().date()
    # A second click is told, not repeated.
    response = editor.post_form(f"/consent/{record.id}/withdraw")
    page = Page(editor.get(response.headers["Location"].split("#")[0]))
    assert "This consent was already withdrawn." in page.alerts()
    assert len(audit_events(app, "consent.withdrawn")) == 1
    amara = Page(signed_in(app, world.amara).get(f"/items/{item}"))
    assert "Consent withdrawn" in amara.main


CONSENT_TYPED = {"given_by": "Participant B", "given_on": "2025-01-10", "scope": "Print only"}


def test_a_consent_form_with_a_bad_date_keeps_what_was_typed(app, items):
    world, _, narrative = items
    editor = signed_in(app, world.editor)
    tomorrow = (utcnow().date() + timedelta(days=1)).isoformat()
    for change, message in (
        (
            {"expires_on": "2025-01-10"},
            "The expiry date must come after the date consent was given.",
        ),
        ({"given_on": tomorrow}, "The date consent was given cannot be in the future."),
    ):
        typed = CONSENT_TYPED | change
        response = editor.post_form(f"/items/{narrative}/consent", typed)
        page = Page(response)
        assert response.status_code == 400, change
        assert message in page.errors()
        for name, value in typed.items():
            assert page.value(name) == value, name
    assert count_rows(app, ConsentRecord) == 1


def test_a_consent_longer_than_three_years_is_refused_on_the_form(app, items):
    world, _, narrative = items
    editor = signed_in(app, world.editor)
    typed = CONSENT_TYPED | {"expires_on": "2028-01-11"}
    response = editor.post_form(f"/items/{narrative}/consent", typed)
    page = Page(response)
    assert response.status_code == 400
    assert "Consent can last at most three years from the date it was given." in page.errors()
    for name, value in typed.items():
        assert page.value(name) == value, name
    assert count_rows(app, ConsentRecord) == 1


# The consultant's side -----------------------------------------------------------------------


def test_a_consultants_dashboard_lists_what_waits_for_their_decision(app, items):
    world, photo, narrative = items
    amara = signed_in(app, world.amara)
    page = Page(amara.get("/"))
    assert "Photos and narratives waiting for your decision" in page.main
    links = {a.attrs.get("href") for a in page.all("a")}
    assert {f"/items/{photo}", f"/items/{narrative}"} <= links
    assert "Changed: please look again" not in page.main
    form = review_form(amara, photo) | form_answers(app) | {"decision": "approve"}
    assert amara.post_form(f"/items/{photo}/review", form).status_code == 302
    links = {a.attrs.get("href") for a in Page(amara.get("/")).all("a")}
    assert f"/items/{photo}" not in links and f"/items/{narrative}" in links
    with app.test_request_context():
        publish(users(app, world).editor, db.session.get(MediaItem, photo), caption_en="New.")
    page = Page(amara.get("/"))
    assert f"/items/{photo}" in {a.attrs.get("href") for a in page.all("a")}
    assert "Changed: please look again" in page.main
    item_page = Page(amara.get(f"/items/{photo}"))
    assert "This item changed since your decision on version 1." in item_page.main
    # A consultant only offered the section is not asked yet.
    pending = Page(signed_in(app, world.offered).get("/")).main
    assert "waiting for your decision" not in pending


def test_decisions_the_form_refuses_keep_what_was_chosen(app, world, items):
    _, photo, _ = items
    amara = signed_in(app, world.amara)
    # Missing answers and an unmet point without its note.
    answers = form_answers(app)
    first, second = list(answers)[:2]
    form = review_form(amara, photo) | answers | {first: "does_not_meet"}
    del form[second]
    form |= {"decision": "not_approved", "reasons": "The faces can be recognised."}
    response = amara.post_form(f"/items/{photo}/review", form)
    page = Page(response)
    assert response.status_code == 400
    assert "Please answer this point." in page.errors()
    assert "Please say briefly why this point is not met." in page.errors()
    assert page.value("reasons") == "The faces can be recognised."
    assert page.value("decision") == "not_approved"
    assert page.value(first) == "does_not_meet"
    # A decision on a version that changed since the page was opened.
    form = review_form(amara, photo) | form_answers(app) | {"decision": "approve"}
    with app.test_request_context():
        publish(users(app, world).editor, db.session.get(MediaItem, photo), caption_en="New.")
    response = amara.post_form(f"/items/{photo}/review", form)
    assert response.status_code == 400
    assert (
        "This item changed since you opened this page. Please look at it again."
        in Page(response).errors()
    )
    assert count_rows(app, SignOff) == 0
    # Approval while consent is missing; "Not approved" can still be said.
    with app.test_request_context():
        item = add_photo(users(app, world).editor, users(app, world).section, identifiable=True).id
    review = Page(amara.get(f"/items/{item}/review"))
    assert "No consent recorded" in review.main
    form = review_form(amara, item) | form_answers(app) | {"decision": "approve"}
    response = amara.post_form(f"/items/{item}/review", form)
    assert response.status_code == 400
    assert any("cannot be approved" in error for error in Page(response).errors())
    refusal = form | {"decision": "not_approved", "reasons": "No consent yet."}
    assert amara.post_form(f"/items/{item}/review", refusal).status_code == 302
    assert only(app, SignOff).decision.value == "not_approved"


def test_a_note_on_an_area_is_saved_and_bad_coordinates_keep_the_note(app, items):
    world, photo, _ = items
    river = signed_in(app, world.river)
    note = "The logo on the van names the company."
    before = Page(river.get(f"/items/{photo}"))
    key = before.value("submission_key")
    bad = {"x": "50", "y": "10", "width": "60", "height": "20", "note": note, "submission_key": key}
    response = river.post_form(f"/items/{photo}/regions", bad)
    page = Page(response)
    assert response.status_code == 400
    assert "The area goes past the edge of the photo; please make it smaller." in page.errors()
    assert page.value("note") == note
    assert (page.value("x"), page.value("width")) == ("50", "60")  # as typed
    assert count_rows(app, PhotoRegion) == 0
    for wrong in ({"x": "-1"}, {"width": "0"}, {"y": "abc"}, {"note": "  "}):
        response = river.post_form(f"/items/{photo}/regions", bad | {"width": "20"} | wrong)
        assert response.status_code == 400, wrong
        assert Page(response).errors(), wrong
    assert count_rows(app, PhotoRegion) == 0
    good = bad | {"width": "20"}
    response = river.post_form(f"/items/{photo}/regions", good)
    assert response.status_code == 302
    page = Page(river.get(f"/items/{photo}"))
    assert note in page.main
    assert "50.0% from the left, 10.0% from the top, 20.0% wide, 20.0% high" in page.main
    region = only(app, PhotoRegion)
    assert region.media_fragment == "xywh=percent:50.0,10.0,20.0,20.0"
    # River removes it again; the button is hers only.
    assert (
        "Remove my note on area 1"
        not in Page(signed_in(app, world.amara).get(f"/items/{photo}")).main
    )
    assert river.post_form(f"/regions/{region.id}/delete").status_code == 302
    assert count_rows(app, PhotoRegion) == 0


# French --------------------------------------------------------------------------------------


def test_a_french_editor_is_told_in_french_why_an_upload_was_refused(app, world, make_user):
    french = make_user("editor", display_name="Élise", locale="fr")
    client = signed_in(app, french)
    response = upload(client, world.section, b"<svg onload='alert(1)'/>", "photo.svg")
    assert response.status_code == 400
    english = str(views.IMAGE_MESSAGES["wrong_type"])
    with app.test_request_context(), force_locale("fr"):
        message = squash(str(views.IMAGE_MESSAGES["wrong_type"]))
    assert message != squash(english)  # the catalog has it in French
    assert message in Page(response).errors()
    hint = translated(
        app,
        "JPEG, PNG or WebP, up to %(mb)d MB and %(megapixels)d million pixels. Location data "
        "and other hidden details are removed from the file.",
        "fr",
        mb=15,
        megapixels=40,
    )
    assert hint.startswith("JPEG, PNG ou WebP")
    assert hint in squash(Page(response).one(id="image-hint").text())
    assert Page(response).value("caption_en") == PHOTO_FIELDS["caption_en"]


def test_a_french_consultant_reads_states_and_messages_in_french(app, world, make_user):
    amina = make_user("consultant", display_name="Amina", locale="fr")
    with app.test_request_context():
        people = users(app, world)
        person = db.session.get(User, amina)
        offer = assignments.assign_section(
            people.editor,
            db.session.get(Section, world.section),
            person,
            due_on=utcnow().date() + timedelta(days=7),
        )
        assignments.accept(person, offer)
        item = add_photo(people.editor, people.section, identifiable=True)
        row = consent(people.editor, item)
        services.withdraw_consent(people.editor, row)
        db.session.commit()
        item_id = item.id
    client = signed_in(app, amina)
    page = Page(client.get(f"/items/{item_id}"))
    withdrawn = translated(app, "Consent withdrawn", "fr")
    assert withdrawn != "Consent withdrawn" and withdrawn in page.main
    assert PHOTO_FIELDS["caption_fr"] in page.main  # the French caption, not the English one
    dashboard = Page(client.get("/")).main
    heading = translated(app, "Photos and narratives waiting for your decision", "fr")
    assert heading != "Photos and narratives waiting for your decision"
    assert heading in dashboard
    bad = {"x": "90", "y": "0", "width": "20", "height": "10", "note": "Le logo."}
    response = client.post_form(f"/items/{item_id}/regions", bad)
    assert response.status_code == 400
    edge = translated(
        app, "The area goes past the edge of the photo; please make it smaller.", "fr"
    )
    assert edge.startswith("La zone") and edge in Page(response).errors()


def test_the_edit_form_of_a_narrative_keeps_its_text_and_says_the_next_version(app, items):
    world, _, narrative = items
    editor = signed_in(app, world.editor)
    page = Page(editor.get(f"/items/{narrative}/edit"))
    assert page.value("body_en") == NARRATIVE_FIELDS["body_en"]
    assert page.value("revision") == "1"
    assert "Saving makes version 2." in page.main
    response = editor.post_form(
        f"/items/{narrative}/edit",
        NARRATIVE_FIELDS | {"revision": edit_revision(editor, narrative), "body_en": ""},
    )
    assert response.status_code == 400
    assert "Please write the story in English." in Page(response).errors()
    assert Page(response).value("title_en") == NARRATIVE_FIELDS["title_en"]
