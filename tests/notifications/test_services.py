"""Notification services against the database (SQLite, and PostgreSQL when set).

Every kind the portal raises reaches the right person, and its e-mail carries no excerpt of
anything sensitive (trauma-informed.md, privacy); a notification and its e-mail commit with the
event or not at all (R4); each person's choices (in the portal only, at once, daily digest) hold.
"""

from __future__ import annotations

import html
import io
import uuid

import pytest
from flask import g
from PIL import Image
from sqlalchemy import select

from portal.accounts.models import User
from portal.assignments import services as assignments
from portal.assignments.models import Assignment
from portal.extensions import db
from portal.media import services as media
from portal.media.models import Answer, ItemKind, MediaItem, SignOffDecision
from portal.notifications import services
from portal.notifications.models import (
    DeliveryMode,
    Notification,
    NotificationKind,
    OutboxMessage,
)
from portal.notifications.reminders import send_reminders
from portal.reports import services as reports
from portal.reports.models import Section
from portal.review import services as review
from portal.review.models import Annotation, AnnotationKind, Decision
from tests.notifications.conftest import (
    SECTION_TEXT,
    SECTION_TITLE_EN,
    SECTION_TITLE_FR,
    add_section,
    count,
    day,
    deliver,
    offer,
    rows,
)

K = NotificationKind

# What must never leave the portal in an e-mail ------------------------------------------------

SECOND_TITLE = "Orchard of Second Chances"
NEW_TEXT = "Workers described the locked dormitory and the night shifts at the cannery."
DECLINE_REASON = "This section is too close to what happened to my sister."
EXTENSION_REASON = "I have a court hearing next week."
COMMENT = "Please remove the street name, it could identify a survivor."
REPLY = "We replaced the street name with the region."
DECISION_SUMMARY = "The second paragraph lingers on the injuries."
CAPTION_EN = "A survivor-led cooperative meets in the back room of the bakery."
CAPTION_FR = "Une coopérative dirigée par des survivantes se réunit dans la boulangerie."
NEW_CAPTION = "The cooperative's weekly meeting, faces turned away from the camera."
ALT_TEXT = "Five people around a table covered in ledgers."
NARRATIVE_TITLE = "Building a life after the farm"
NARRATIVE_BODY = "I worked on the tomato farm for three years before I could leave."
NEW_NARRATIVE_BODY = "I worked on the tomato farm for three years; now I lead a cooperative."
CONSENT_GIVER = "Yolanda Brightwater"
SECRETS = (
    SECTION_TITLE_EN,
    SECTION_TITLE_FR,
    SECTION_TEXT,
    NEW_TEXT,
    "locked dormitory",
    SECOND_TITLE,
    DECLINE_REASON,
    EXTENSION_REASON,
    COMMENT,
    REPLY,
    DECISION_SUMMARY,
    CAPTION_EN,
    CAPTION_FR,
    NEW_CAPTION,
    ALT_TEXT,
    NARRATIVE_TITLE,
    NARRATIVE_BODY,
    NEW_NARRATIVE_BODY,
    "tomato farm",
    CONSENT_GIVER,
    # Legal names are for admins only (security.md Z5).
    "Amara Okafor",
    "Sophie Tremblay",
)


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (180, 120, 60)).save(buffer, "JPEG")
    return buffer.getvalue()


def stored_image() -> dict:
    from portal.media import storage
    from portal.media.imaging import process_image

    image = process_image(jpeg(), max_bytes=10**7, max_pixels=10**7)
    return {
        "image_name": storage.store(image),
        "image_sha256": image.sha256,
        "image_format": image.format,
        "width": image.width,
        "height": image.height,
    }


def approve(consultant: User, item: MediaItem) -> None:
    answers = {c.id: media.AnswerGiven(Answer.MEETS) for c in media.criteria(item.kind)}
    media.submit_sign_off(
        consultant,
        item,
        version_number=item.latest.number,
        decision=SignOffDecision.APPROVE,
        reasons=None,
        answers=answers,
        submission_key=uuid.uuid4().hex,
    )


def new_item_version(editor: User, item: MediaItem, **changes) -> None:
    from portal.media.models import FINGERPRINT_FIELDS

    latest = item.latest
    names = (*FINGERPRINT_FIELDS, "image_name", "image_format", "width", "height")
    media.publish_item_version(
        editor,
        item,
        expected_revision=item.revision,
        fields={name: getattr(latest, name) for name in names} | changes,
        identifiable=item.identifiable_people,
    )


def raise_every_kind(app, ids) -> None:
    """Every event the portal notifies about, through the domain services, each committed."""
    second = add_section(app, ids.editor, ids.report, SECOND_TITLE)
    amara_job = offer(app, ids.editor, ids.section, ids.amara, day(10))  # offered
    river_job = offer(app, ids.editor, ids.section, ids.river, day(10))
    river_late = offer(app, ids.editor, second, ids.river, day(5))
    with app.app_context():
        editor = db.session.get(User, ids.editor)
        amara = db.session.get(User, ids.amara)
        river = db.session.get(User, ids.river)
        section = db.session.get(Section, ids.section)
        job = db.session.get(Assignment, amara_job)
        assignments.accept(amara, job)
        assignments.accept(river, db.session.get(Assignment, river_late))
        assignments.decline(
            river, db.session.get(Assignment, river_job), DECLINE_REASON
        )  # declined
        db.session.commit()

        assignments.request_extension(amara, job, until=day(20), reason=EXTENSION_REASON)
        assignments.answer_extension(editor, job, grant=True)  # extension answered
        db.session.commit()

        comment = review.create_annotation(
            amara, section, language="en", kind=AnnotationKind.COMMENT, body=COMMENT, start=0, end=7
        )
        review.reply(editor, comment, REPLY)  # reply
        db.session.commit()
        review.mark_addressed(editor, comment, 1)  # addressed
        db.session.commit()

        photo = media.add_item(
            editor,
            section,
            ItemKind.PHOTO,
            {"caption_en": CAPTION_EN, "caption_fr": CAPTION_FR, "alt_en": ALT_TEXT}
            | stored_image(),
        )
        narrative = media.add_item(
            editor,
            section,
            ItemKind.NARRATIVE,
            {"title_en": NARRATIVE_TITLE, "body_en": NARRATIVE_BODY},
        )
        media.record_consent(
            editor,
            narrative,
            given_by=CONSENT_GIVER,
            given_on=day(0),
            scope="The 2027 report, print and online",
            uses_allowed=None,
            expires_on=day(30),
        )
        db.session.commit()
        approve(amara, photo)
        approve(amara, narrative)
        review.submit_decision(
            amara,
            section,
            version_number=1,
            decision=Decision.CHANGES_REQUESTED,
            summary=DECISION_SUMMARY,
            submission_key=uuid.uuid4().hex,
        )
        db.session.commit()

        new_item_version(editor, photo, caption_en=NEW_CAPTION)  # asked again (photo)
        new_item_version(editor, narrative, body_en=NEW_NARRATIVE_BODY)  # asked again (narrative)
        reports.publish_version(  # asked again (section)
            editor, section, body_en=NEW_TEXT, body_fr=None, change_summary=None, based_on=1
        )
        db.session.commit()

    with app.test_request_context():
        # Amara's work is due in 2 days, River's second section is 13 days late, and the
        # narrative's consent expires in 12 days.
        counts = send_reminders(day(18))  # due soon, overdue, consent expiring
        db.session.commit()
    assert counts == {"due_soon": 1, "overdue": 1, "consent_expiring": 1, "skipped_away": 0}


def set_every_mode(app, user_ids, mode: DeliveryMode) -> None:
    with app.app_context():
        for user_id in user_ids:
            user = db.session.get(User, user_id)
            services.set_preferences(user, dict.fromkeys(NotificationKind, mode))
        db.session.commit()


@pytest.mark.parametrize("mode", [DeliveryMode.IMMEDIATE, DeliveryMode.DIGEST])
def test_every_kind_reaches_its_person_and_no_e_mail_quotes_anything(app, section_world, mode):
    ids = section_world
    set_every_mode(app, [ids.editor, ids.amara, ids.river], mode)
    raise_every_kind(app, ids)

    expected = {
        K.ASSIGNMENT_OFFERED: {ids.amara: 1, ids.river: 2},
        K.DECLINED: {ids.editor: 1},
        K.EXTENSION_ANSWERED: {ids.amara: 1},
        K.REPLY: {ids.amara: 1},
        K.ADDRESSED: {ids.amara: 1},
        K.ASKED_AGAIN: {ids.amara: 3},  # the section, the photo and the narrative
        K.DUE_SOON: {ids.amara: 1},
        K.OVERDUE: {ids.editor: 1},
        K.CONSENT_EXPIRING: {ids.editor: 1},
    }
    notifications = rows(app, Notification)
    found: dict = {}
    for n in notifications:
        per_user = found.setdefault(n.kind, {})
        per_user[n.user_id] = per_user.get(n.user_id, 0) + 1
    assert found == expected

    # In the portal, the words may name the section (the reader is signed in and may see it).
    with app.test_request_context():
        for n in notifications:
            words = services.text_of(db.session.merge(n, load=False))
            assert SECTION_TITLE_EN in words or SECOND_TITLE in words, (n.kind, words)

    if mode is DeliveryMode.DIGEST:
        assert count(app, OutboxMessage) == 0
        with app.test_request_context():
            assert services.send_digests() == 3  # Amara, River and the editor
            db.session.commit()
    messages = rows(app, OutboxMessage)
    assert len(messages) == (len(notifications) if mode is DeliveryMode.IMMEDIATE else 3)
    for message in messages:
        assert "https://portal.example.org/" in message.text_body
        for secret in SECRETS:
            for part in (message.subject, message.text_body, html.unescape(message.html_body)):
                assert secret.lower() not in part.lower(), (secret, message.subject)


def test_a_notification_and_its_e_mail_commit_with_the_event_or_not_at_all(app, section_world):
    ids = section_world
    with app.test_request_context():
        assignments.assign_section(
            db.session.get(User, ids.editor),
            db.session.get(Section, ids.section),
            db.session.get(User, ids.amara),
            due_on=day(10),
        )
        db.session.flush()
        assert db.session.scalars(select(Notification)).all()  # written in the transaction
        db.session.rollback()
    assert count(app, Assignment) == 0
    assert count(app, Notification) == 0
    assert count(app, OutboxMessage) == 0

    offer(app, ids.editor, ids.section, ids.amara, day(10))
    (notification,) = rows(app, Notification)
    (message,) = rows(app, OutboxMessage)
    assert (notification.user_id, notification.kind) == (ids.amara, K.ASSIGNMENT_OFFERED)
    assert message.user_id == ids.amara


def test_nothing_is_sent_for_a_transaction_that_rolled_back(app, section_world, smtp):
    ids = section_world
    with app.test_request_context():
        assignments.assign_section(
            db.session.get(User, ids.editor),
            db.session.get(Section, ids.section),
            db.session.get(User, ids.amara),
            due_on=day(10),
        )
        queued = list(g.portal_outbox)
        db.session.rollback()
    assert queued  # the after-response sender would be given these ids
    assert deliver(app, ids=queued) == {"sent": 0, "retry": 0, "failed": 0}
    assert smtp.messages == []


def test_the_daily_digest_gathers_a_persons_notifications_once(app, section_world):
    ids = section_world
    other = add_section(app, ids.editor, ids.report, SECOND_TITLE)
    with app.app_context():
        for user_id in (ids.amara, ids.river):
            services.set_preferences(
                db.session.get(User, user_id), {K.ASSIGNMENT_OFFERED: DeliveryMode.DIGEST}
            )
        db.session.commit()
    first = offer(app, ids.editor, ids.section, ids.amara, day(10))
    second = offer(app, ids.editor, other, ids.amara, day(12))
    offer(app, ids.editor, ids.section, ids.river, day(10))
    assert count(app, Notification) == 3
    assert count(app, OutboxMessage) == 0  # nothing at once

    with app.test_request_context():
        assert services.send_digests() == 2
        db.session.commit()
    messages = {m.user_id: m for m in rows(app, OutboxMessage)}
    assert set(messages) == {ids.amara, ids.river}
    digest = messages[ids.amara]
    assert digest.subject == "Your daily summary — Survivor Advisory Council Portal"
    for assignment_id in (first, second):
        assert f"https://portal.example.org/assignments/{assignment_id}" in digest.text_body
        assert f'href="https://portal.example.org/assignments/{assignment_id}"' in (
            digest.html_body
        )
    assert digest.text_body.count("The editors offered you a section to review.") == 2
    assert all(n.digested_at is not None for n in rows(app, Notification))

    with app.test_request_context():
        assert services.send_digests() == 0
        db.session.commit()
    assert count(app, OutboxMessage) == 2

    # What was read in the portal in the meantime is left out of the next digest.
    offer(app, ids.editor, other, ids.river, day(12))
    with app.app_context():
        services.mark_all_read(db.session.get(User, ids.river))
        db.session.commit()
    with app.test_request_context():
        assert services.send_digests() == 0
    assert count(app, OutboxMessage) == 2


def test_switching_to_the_digest_does_not_e_mail_again_what_was_sent_at_once(app, section_world):
    ids = section_world
    offer(app, ids.editor, ids.section, ids.amara, day(10))  # e-mailed at once (the default)
    assert count(app, OutboxMessage) == 1
    with app.app_context():
        services.set_preferences(
            db.session.get(User, ids.amara), {K.ASSIGNMENT_OFFERED: DeliveryMode.DIGEST}
        )
        db.session.commit()
    with app.test_request_context():
        services.send_digests()
        db.session.commit()
    assert count(app, OutboxMessage) == 1


def test_no_notification_for_a_deactivated_account(app, section_world):
    ids = section_world
    offer(app, ids.editor, ids.section, ids.amara, day(10))
    with app.app_context():
        job = db.session.scalar(select(Assignment))
        db.session.get(User, ids.editor).active = False
        assignments.decline(db.session.get(User, ids.amara), job)
        db.session.commit()
    assert count(app, Notification, Notification.kind == K.DECLINED) == 0
    assert count(app, OutboxMessage, OutboxMessage.user_id == ids.editor) == 0


def test_a_withdrawn_consultant_is_not_asked_again_about_a_photo(app, section_world):
    ids = section_world
    job = offer(app, ids.editor, ids.section, ids.amara, day(10))
    with app.app_context():
        editor = db.session.get(User, ids.editor)
        amara = db.session.get(User, ids.amara)
        section = db.session.get(Section, ids.section)
        assignments.accept(amara, db.session.get(Assignment, job))
        photo = media.add_item(
            editor, section, ItemKind.PHOTO, {"caption_en": CAPTION_EN} | stored_image()
        )
        db.session.commit()
        approve(amara, photo)
        assignments.withdraw(editor, db.session.get(Assignment, job))
        db.session.commit()
        new_item_version(editor, photo, caption_en=NEW_CAPTION)
        db.session.commit()
    assert count(app, Notification, Notification.kind == K.ASKED_AGAIN) == 0


def test_a_reply_to_ones_own_comment_notifies_nobody(app, section_world):
    ids = section_world
    job = offer(app, ids.editor, ids.section, ids.amara, day(10))
    with app.app_context():
        amara = db.session.get(User, ids.amara)
        assignments.accept(amara, db.session.get(Assignment, job))
        comment = review.create_annotation(
            amara,
            db.session.get(Section, ids.section),
            language="en",
            kind=AnnotationKind.COMMENT,
            body=COMMENT,
            start=0,
            end=7,
        )
        review.reply(amara, comment, "And one more thing.")
        db.session.commit()
        comment_id = comment.id
    assert count(app, Notification, Notification.kind == K.REPLY) == 0
    with app.app_context():
        editor = db.session.get(User, ids.editor)
        review.reply(editor, db.session.get(Annotation, comment_id), REPLY)
        db.session.commit()
    (reply,) = rows(app, Notification, Notification.kind == K.REPLY)
    assert reply.user_id == ids.amara
    assert reply.link == f"/annotations/{comment_id}"
