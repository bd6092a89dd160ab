"""Photo and narrative rules, without a browser: versions and stale sign-offs, the most cautious
decision, withdrawals, immutability in the database, consent, checklists and the audit trail."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import exc, func, select, text

from portal.audit.models import AuditEvent
from portal.errors import DomainError
from portal.extensions import db
from portal.media import services
from portal.media.models import (
    FINGERPRINT_FIELDS,
    Answer,
    ChecklistAnswer,
    ChecklistCriterion,
    ConsentRecord,
    ConsentState,
    ItemKind,
    MediaVersion,
    SignOff,
    SignOffDecision,
    fingerprint,
)
from portal.models import utcnow
from portal.reports.services import EditConflict
from tests.media.conftest import (
    PHOTO_FIELDS,
    add_narrative,
    add_photo,
    all_answers,
    consent,
    current_fields,
    image_fields,
    jpeg_bytes,
    publish,
    region,
    sign,
    users,
)

D = SignOffDecision
TODAY = date(2026, 6, 15)


@pytest.fixture
def ctx(app, world):
    with app.test_request_context():
        yield users(app, world)
        db.session.rollback()


def reload(obj):
    db.session.expire_all()
    return db.session.get(type(obj), obj.id)


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def events(action: str) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
        )
    )


def queue_of(person) -> dict[int, bool]:
    return {item.id: again for item, _version, again in services.review_queue(person)}


# Versions, fingerprints and stale sign-offs ----------------------------------------------------

PHOTO_CHANGES = {
    "caption_en": "A new caption.",
    "caption_fr": "Une nouvelle légende.",
    "alt_en": "New alt text.",
    "alt_fr": "Nouveau texte de remplacement.",
    "credit": "Photo: someone else",
    "provenance": "Bought from an agency.",
    "staged": True,
    "content_note_en": "Shows a workplace.",
    "content_note_fr": "Montre un lieu de travail.",
}
NARRATIVE_CHANGES = {
    "title_en": "A new title",
    "title_fr": "Un nouveau titre",
    "body_en": "A different story.",
    "body_fr": "Une autre histoire.",
    "content_note_en": "Describes debt bondage.",
    "content_note_fr": "Décrit la servitude pour dettes.",
}


def test_every_fingerprinted_photo_field_makes_a_version_and_asks_again(ctx):
    item = add_photo(ctx.editor, ctx.section)
    changes = [(name, {name: value}) for name, value in PHOTO_CHANGES.items()]
    changes.append(("image_sha256", image_fields(jpeg_bytes(colour=(10, 200, 30)))))
    for name, change in changes:
        before = item.latest
        decided = sign(ctx.amara, item)
        assert queue_of(ctx.amara).get(item.id) is None, name
        version = publish(ctx.editor, item, **change)
        assert version is not None, name
        assert version.number == before.number + 1, name
        assert version.content_sha256 != before.content_sha256, name
        assert getattr(version, name) != getattr(before, name), name
        decisions = services.item_decisions(item)
        assert [s.id for s in decisions.stale] == [decided.id], name
        assert decisions.current == [] and decisions.state is None, name
        assert queue_of(ctx.amara)[item.id] is True, f"{name}: Amara is not asked again"
        assert queue_of(ctx.river)[item.id] is False, name  # never decided: asked, not "again"
        # The decision is kept as given, on the version it was given on.
        assert (reload(decided).version_id, decided.content_sha256) == (
            before.id,
            before.content_sha256,
        ), name
    assert count(MediaVersion, MediaVersion.item_id == item.id) == len(changes) + 1
    assert len(events("photo.version_published")) == len(changes)
    for version in reload(item).versions:  # each keeps the fingerprint of its own content
        content = {name: getattr(version, name) for name in FINGERPRINT_FIELDS}
        assert version.content_sha256 == fingerprint(ItemKind.PHOTO, content), version.number


def test_every_fingerprinted_narrative_field_makes_a_version_and_asks_again(ctx):
    item = add_narrative(ctx.editor, ctx.section)
    consent(ctx.editor, item)
    for name, value in NARRATIVE_CHANGES.items():
        decided = sign(ctx.river, item, D.APPROVE_WITH_CHANGES)
        version = publish(ctx.editor, item, **{name: value})
        assert version is not None and getattr(version, name) == value, name
        decisions = services.item_decisions(item)
        assert [s.id for s in decisions.stale] == [decided.id], name
        assert queue_of(ctx.river)[item.id] is True, name
    assert count(MediaVersion, MediaVersion.item_id == item.id) == len(NARRATIVE_CHANGES) + 1
    # A decision on the newest version is current again and leaves the queue.
    again = sign(ctx.river, item)
    decisions = services.item_decisions(item)
    assert ([s.id for s in decisions.current], decisions.stale) == ([again.id], [])
    assert item.id not in queue_of(ctx.river)
    # Every version keeps the fingerprint of its own content; narratives have no photo columns.
    versions = reload(item).versions
    for version in versions:
        content = {name: getattr(version, name) for name in NARRATIVE_CHANGES}
        assert version.content_sha256 == fingerprint(ItemKind.NARRATIVE, content)
        assert (version.caption_en, version.image_sha256) == (None, None)
    assert len({v.content_sha256 for v in versions}) == len(versions)
    assert (reload(item).identifiable_people, reload(item).needs_consent) == (False, True)


def test_what_is_not_a_new_version(ctx):
    item = add_photo(ctx.editor, ctx.section)
    decided = sign(ctx.amara, item)
    # No change at all, or only spaces around a field: refused, nothing saved.
    for changes in ({}, {"caption_en": f"  {PHOTO_FIELDS['caption_en']}\n"}):
        with pytest.raises(DomainError, match="Nothing changed"):
            publish(ctx.editor, item, **changes)
        db.session.rollback()
    item = reload(item)
    assert ([v.number for v in item.versions], item.revision) == ([1], 1)
    # Only the identifiable-people flag: no version, the decision stays current.
    result = services.publish_item_version(
        ctx.editor,
        item,
        expected_revision=item.revision,
        fields=current_fields(item),
        identifiable=True,
    )
    db.session.commit()
    assert result is None
    item = reload(item)
    assert item.identifiable_people is True
    assert [v.number for v in item.versions] == [1]
    assert item.revision == 2  # an editor who loaded the older form is told about the change
    assert [s.id for s in services.item_decisions(item).current] == [decided.id]
    assert [e.details for e in events("photo.identifiable_changed")] == [{"identifiable": True}]
    assert events("photo.version_published") == []
    # Saving from an older revision is a conflict.
    with pytest.raises(EditConflict):
        services.publish_item_version(
            ctx.editor,
            item,
            expected_revision=1,
            fields=current_fields(item) | {"caption_en": "Third."},
            identifiable=True,
        )
    db.session.rollback()
    assert [v.number for v in reload(item).versions] == [1]


def test_fingerprint_covers_the_image_and_the_texts():
    base = {"image_sha256": "a" * 64, "caption_en": "A caption.", "staged": False}
    same = fingerprint(ItemKind.PHOTO, dict(base))
    assert same == fingerprint(ItemKind.PHOTO, dict(base))
    assert len(same) == 64
    assert fingerprint(ItemKind.PHOTO, base | {"image_sha256": "b" * 64}) != same
    assert fingerprint(ItemKind.PHOTO, base | {"caption_en": "A caption!"}) != same
    assert fingerprint(ItemKind.PHOTO, base | {"staged": True}) != same
    assert fingerprint(ItemKind.NARRATIVE, base) != same
    # Columns that only locate the stored files are not part of what a reviewer judges.
    assert fingerprint(ItemKind.PHOTO, base | {"image_name": "elsewhere"}) == same


# The most cautious decision ------------------------------------------------------------------

CAUTION = [
    (D.APPROVE, D.APPROVE, D.APPROVE),
    (D.APPROVE, D.APPROVE_WITH_CHANGES, D.APPROVE_WITH_CHANGES),
    (D.APPROVE_WITH_CHANGES, D.APPROVE, D.APPROVE_WITH_CHANGES),
    (D.NOT_APPROVED, D.APPROVE_WITH_CHANGES, D.NOT_APPROVED),
    (D.APPROVE, D.NOT_APPROVED, D.NOT_APPROVED),
    (D.NOT_APPROVED, D.APPROVE, D.NOT_APPROVED),
    (D.APPROVE, None, D.APPROVE),
    (None, D.APPROVE_WITH_CHANGES, D.APPROVE_WITH_CHANGES),
    (None, None, None),
]


def test_the_state_is_the_most_cautious_current_decision(ctx):
    for amara, river, expected in CAUTION:
        item = add_photo(ctx.editor, ctx.section)
        for person, decision in ((ctx.amara, amara), (ctx.river, river)):
            if decision is not None:
                sign(person, item, decision)
        assert services.item_decisions(item).state is expected, (amara, river)
    # A later decision on the same version replaces the person's earlier one.
    item = add_photo(ctx.editor, ctx.section)
    sign(ctx.amara, item, D.NOT_APPROVED)
    sign(ctx.amara, item, D.APPROVE)
    assert services.item_decisions(item).state is D.APPROVE
    assert count(SignOff, SignOff.item_id == item.id) == 2


def test_withdrawn_and_stale_decisions_do_not_count(ctx):
    item = add_photo(ctx.editor, ctx.section)
    refusal = sign(ctx.river, item, D.NOT_APPROVED)
    sign(ctx.amara, item, D.APPROVE)
    assert services.item_decisions(item).state is D.NOT_APPROVED
    services.withdraw_sign_off(ctx.river, refusal)
    db.session.commit()
    assert services.item_decisions(item).state is D.APPROVE
    # River refuses again; then a new version makes both decisions stale.
    sign(ctx.river, item, D.NOT_APPROVED)
    publish(ctx.editor, item, caption_en="Cropped.")
    assert services.item_decisions(item).state is None
    sign(ctx.amara, item, D.APPROVE)
    decisions = services.item_decisions(item)
    assert decisions.state is D.APPROVE
    assert {s.consultant_id for s in decisions.stale} == {ctx.river.id}


# Withdrawing a decision ----------------------------------------------------------------------


def test_withdrawal_is_a_new_record_and_the_decision_stays_as_it_was(ctx):
    item = add_photo(ctx.editor, ctx.section)
    decided = sign(ctx.amara, item, D.APPROVE_WITH_CHANGES, reasons="Crop the left side.")

    def facts(row):
        return (
            row.decision,
            row.version_id,
            row.content_sha256,
            row.reasons,
            row.created_at,
            row.submission_key,
            [(a.criterion_id, a.answer) for a in row.answers],
        )

    before = facts(decided)
    with pytest.raises(DomainError, match="Only your own decision"):
        services.withdraw_sign_off(ctx.river, decided)
    db.session.rollback()
    withdrawal = services.withdraw_sign_off(ctx.amara, reload(decided))
    db.session.commit()
    assert withdrawal.id != decided.id
    assert withdrawal.decision is D.WITHDRAWN
    assert (withdrawal.withdraws_id, withdrawal.consultant_id) == (decided.id, ctx.amara.id)
    assert (withdrawal.version_id, withdrawal.content_sha256) == before[1:3]
    assert facts(reload(decided)) == before
    assert count(SignOff) == 2
    assert services.item_decisions(item).state is None
    assert queue_of(ctx.amara)[item.id] is False
    # A second withdrawal is told the same record, not given another.
    second = services.withdraw_sign_off(ctx.amara, reload(decided))
    db.session.commit()
    assert second.id == withdrawal.id
    assert count(SignOff) == 2
    assert len(events("sign_off.withdrawn")) == 1
    # A withdrawal is not itself withdrawn; a replaced decision is not withdrawn either.
    with pytest.raises(DomainError, match="Only your own decision"):
        services.withdraw_sign_off(ctx.amara, reload(withdrawal))
    db.session.rollback()
    replaced = sign(ctx.amara, reload(item), D.APPROVE)
    latest = sign(ctx.amara, reload(item), D.NOT_APPROVED)
    with pytest.raises(DomainError, match="already replaced"):
        services.withdraw_sign_off(ctx.amara, reload(replaced))
    db.session.rollback()
    assert services.item_decisions(reload(item)).current == [reload(latest)]
    assert count(SignOff) == 4


# Immutability in the database ----------------------------------------------------------------

IMMUTABLE = {
    "media_versions": "UPDATE media_versions SET caption_en = 'Rewritten'",
    "sign_offs": "UPDATE sign_offs SET decision = 'approve', reasons = 'Rewritten'",
    "checklist_answers": "UPDATE checklist_answers SET answer = 'meets', note = 'Rewritten'",
}


def test_the_database_refuses_to_change_versions_sign_offs_and_answers(ctx):
    item = add_photo(ctx.editor, ctx.section)
    answers = all_answers(ItemKind.PHOTO)
    first = next(iter(answers))
    answers[first] = services.AnswerGiven(Answer.DOES_NOT_MEET, "Faces are visible.")
    sign(ctx.amara, item, D.NOT_APPROVED, answers=answers)
    services.withdraw_sign_off(ctx.amara, db.session.scalar(select(SignOff)))
    db.session.commit()

    def snapshot(table):
        return db.session.execute(text(f"SELECT * FROM {table} ORDER BY id")).all()  # noqa: S608

    for table, update in IMMUTABLE.items():
        before = snapshot(table)
        assert before, f"{table} should have rows to protect"
        for sql in (update, f"DELETE FROM {table}"):  # noqa: S608
            with pytest.raises(exc.DBAPIError):
                db.session.execute(text(sql))
                db.session.commit()
            db.session.rollback()
            assert snapshot(table) == before, sql


# Consent --------------------------------------------------------------------------------------


def test_consent_dates(ctx):
    item = add_narrative(ctx.editor, ctx.section)
    # Three years by default; from 29 February, to 28 February.
    assert consent(ctx.editor, item, given_on=date(2025, 3, 10)).expires_on == date(2028, 3, 10)
    assert services.default_expiry(date(2024, 2, 29)) == date(2027, 2, 28)
    leap = consent(ctx.editor, item, given_on=date(2024, 2, 29), given_by="Participant B")
    assert leap.expires_on == date(2027, 2, 28)
    assert [e.details["expires_on"] for e in events("consent.recorded")] == [
        "2028-03-10",
        "2027-02-28",
    ]
    # Exactly three years is allowed; a day more is not.
    assert consent(ctx.editor, item, given_on=date(2025, 1, 31), expires_on=date(2028, 1, 31))
    refused = [
        ("at most three years", {"given_on": date(2025, 1, 31), "expires_on": date(2028, 2, 1)}),
        ("at most three years", {"given_on": date(2024, 2, 29), "expires_on": date(2027, 3, 1)}),
        # The expiry must come after the date consent was given.
        ("must come after", {"given_on": date(2025, 5, 5), "expires_on": date(2025, 5, 5)}),
        ("must come after", {"given_on": date(2025, 5, 5), "expires_on": date(2025, 5, 4)}),
        ("must come after", {"given_on": date(2025, 5, 5), "expires_on": date(2024, 1, 1)}),
        # Consent cannot be given in the future.
        ("cannot be in the future", {"given_on": utcnow().date() + timedelta(days=1)}),
        ("cannot be in the future", {"given_on": TODAY + timedelta(days=1), "today": TODAY}),
    ]
    for message, dates in refused:
        with pytest.raises(DomainError, match=message):
            consent(ctx.editor, item, **dates)
        db.session.rollback()
    assert consent(ctx.editor, item, given_on=TODAY, today=TODAY).expires_on == date(2029, 6, 15)
    assert count(ConsentRecord) == 4


def state_on(item, day: date) -> ConsentState:
    return services.item_consent(reload(item), today=day).state


def test_consent_states_of_an_item(ctx):
    plain = add_photo(ctx.editor, ctx.section)
    identifiable = add_photo(ctx.editor, ctx.section, identifiable=True)
    narrative = add_narrative(ctx.editor, ctx.section)
    assert state_on(plain, TODAY) is ConsentState.NOT_NEEDED
    assert not services.item_consent(plain).blocks
    assert state_on(identifiable, TODAY) is ConsentState.MISSING
    assert state_on(narrative, TODAY) is ConsentState.MISSING
    assert services.item_consent(narrative).blocks

    row = consent(ctx.editor, narrative, given_on=date(2026, 1, 1), today=TODAY)
    expires = row.expires_on  # 2029-01-01
    assert state_on(narrative, TODAY) is ConsentState.VALID
    assert services.item_consent(reload(narrative), today=TODAY).expires_on == expires
    assert state_on(narrative, expires - timedelta(days=61)) is ConsentState.VALID
    assert state_on(narrative, expires - timedelta(days=60)) is ConsentState.EXPIRING
    assert state_on(narrative, expires - timedelta(days=1)) is ConsentState.EXPIRING
    assert state_on(narrative, expires) is ConsentState.EXPIRED
    assert services.item_consent(reload(narrative), today=expires).blocks
    assert not services.item_consent(reload(narrative), today=expires - timedelta(days=1)).blocks

    assert services.withdraw_consent(ctx.editor, row, today=TODAY) is True
    db.session.commit()
    assert state_on(narrative, TODAY) is ConsentState.WITHDRAWN
    assert services.withdraw_consent(ctx.editor, reload(row)) is False  # told, not repeated
    db.session.commit()
    assert reload(row).withdrawn_on == TODAY
    assert len(events("consent.withdrawn")) == 1

    # A photo needing no consent, with a withdrawn record, is withdrawn all the same.
    services.withdraw_consent(ctx.editor, consent(ctx.editor, plain))
    db.session.commit()
    assert state_on(plain, TODAY) is ConsentState.WITHDRAWN
    # One withdrawn record among several makes the item withdrawn.
    consent(ctx.editor, identifiable, given_by="Person one")
    assert state_on(identifiable, TODAY) is ConsentState.VALID
    services.withdraw_consent(ctx.editor, consent(ctx.editor, identifiable, given_by="Person two"))
    db.session.commit()
    assert state_on(identifiable, TODAY) is ConsentState.WITHDRAWN


def test_a_renewal_replaces_a_withdrawn_or_expired_consent_once(ctx):
    item = add_narrative(ctx.editor, ctx.section)
    other = add_narrative(ctx.editor, ctx.section, title_en="Another story")
    old = consent(ctx.editor, item, given_on=date(2022, 1, 10))  # expired 2025-01-10
    assert services.item_consent(reload(item)).state is ConsentState.EXPIRED
    renewal = consent(ctx.editor, item, given_by="Participant A", replaces=old)
    summary = services.item_consent(reload(item))
    assert summary.state is ConsentState.VALID
    assert dict((c.id, s) for c, s in summary.records) == {
        old.id: ConsentState.RENEWED,
        renewal.id: ConsentState.VALID,
    }
    services.withdraw_consent(ctx.editor, renewal)
    db.session.commit()
    assert services.item_consent(reload(item)).state is ConsentState.WITHDRAWN
    consent(ctx.editor, item, replaces=reload(renewal))
    assert services.item_consent(reload(item)).state is ConsentState.VALID
    assert [e.details["renews"] for e in events("consent.recorded")] == [None, old.id, renewal.id]
    # A record is renewed once, and only by a record of its own item.
    with pytest.raises(DomainError, match="already renewed"):
        consent(ctx.editor, item, replaces=reload(old))
    db.session.rollback()
    with pytest.raises(DomainError, match="another item"):
        consent(ctx.editor, other, replaces=reload(old))
    db.session.rollback()
    assert count(ConsentRecord) == 3


def test_approval_waits_for_consent_but_not_approved_can_be_said(ctx):
    for problem in ("missing", "withdrawn", "expired"):
        item = add_photo(ctx.editor, ctx.section, identifiable=True)
        if problem == "withdrawn":
            services.withdraw_consent(ctx.editor, consent(ctx.editor, item))
            db.session.commit()
        elif problem == "expired":
            consent(ctx.editor, item, given_on=date(2020, 5, 1))
        for decision in (D.APPROVE, D.APPROVE_WITH_CHANGES):
            with pytest.raises(DomainError, match="cannot be approved"):
                sign(ctx.amara, reload(item), decision)
            db.session.rollback()
        assert count(SignOff, SignOff.item_id == item.id) == 0, problem
        refusal = sign(ctx.amara, reload(item), D.NOT_APPROVED, reasons="No consent on record.")
        assert refusal.decision is D.NOT_APPROVED, problem
        assert count(SignOff, SignOff.item_id == item.id) == 1, problem
    # Consent that expires soon still counts.
    item = add_narrative(ctx.editor, ctx.section)
    consent(ctx.editor, item, given_on=utcnow().date() - timedelta(days=3 * 365 - 20))
    assert services.item_consent(reload(item)).state is ConsentState.EXPIRING
    assert sign(ctx.amara, reload(item)).decision is D.APPROVE


# Checklists and sign-offs --------------------------------------------------------------------


def test_every_active_criterion_is_answered_and_unmet_points_have_a_note(ctx):
    item = add_photo(ctx.editor, ctx.section)
    answers = all_answers(ItemKind.PHOTO)
    assert len(answers) == 7  # the shared guide's photo checklist
    first = next(iter(answers))
    incomplete = {k: v for k, v in answers.items() if k != first}
    for wrong in (incomplete, all_answers(ItemKind.NARRATIVE)):
        with pytest.raises(DomainError, match="answer every point"):
            sign(ctx.amara, item, answers=wrong)
        db.session.rollback()
    for note in (None, "   "):
        unmet = answers | {first: services.AnswerGiven(Answer.DOES_NOT_MEET, note)}
        with pytest.raises(DomainError, match="add a note"):
            sign(ctx.amara, item, D.NOT_APPROVED, answers=unmet)
        db.session.rollback()
    assert count(SignOff) == 0 and count(ChecklistAnswer) == 0
    answers = all_answers(ItemKind.PHOTO, Answer.NOT_APPLICABLE)
    answers[first] = services.AnswerGiven(Answer.DOES_NOT_MEET, "  Names the village.  ")
    row = sign(ctx.amara, item, D.NOT_APPROVED, answers=answers)
    saved = {a.criterion_id: (a.answer, a.note) for a in row.answers}
    assert saved[first] == (Answer.DOES_NOT_MEET, "Names the village.")
    assert len(saved) == len(answers)
    assert {a for a, _note in saved.values()} == {Answer.DOES_NOT_MEET, Answer.NOT_APPLICABLE}


def test_retired_criteria_are_not_asked_and_their_answers_are_kept(ctx):
    item = add_photo(ctx.editor, ctx.section)
    first = sign(ctx.amara, item)
    criterion = db.session.get(ChecklistCriterion, next(iter(all_answers(ItemKind.PHOTO))))
    services.retire_criterion(ctx.editor, criterion, True)
    db.session.commit()
    assert criterion.id not in {c.id for c in services.criteria(ItemKind.PHOTO)}
    assert criterion.id in {c.id for c in services.criteria(ItemKind.PHOTO, include_retired=True)}
    # River answers only the active criteria; an answer to the retired one is not stored.
    answers = all_answers(ItemKind.PHOTO)
    assert criterion.id not in answers
    row = sign(ctx.river, item, answers=answers)
    assert {a.criterion_id for a in row.answers} == set(answers)
    extra = answers | {criterion.id: services.AnswerGiven(Answer.MEETS)}
    later = sign(ctx.river, item, answers=extra)
    assert criterion.id not in {a.criterion_id for a in later.answers}
    assert criterion.id in {a.criterion_id for a in reload(first).answers}
    with pytest.raises(DomainError):
        services.delete_criterion(ctx.editor, criterion)
    db.session.rollback()


def test_sign_offs_need_a_working_assignment_and_the_version_on_screen(ctx):
    item = add_photo(ctx.editor, ctx.section)
    for person in (ctx.offered, ctx.nobody):
        with pytest.raises(DomainError, match="accepted this section"):
            sign(person, item)
        db.session.rollback()
    publish(ctx.editor, item, caption_en="Second.")
    with pytest.raises(DomainError, match="changed since you opened"):
        services.submit_sign_off(
            ctx.amara,
            item,
            version_number=1,
            decision=D.APPROVE,
            reasons=None,
            answers=all_answers(ItemKind.PHOTO),
            submission_key="k" * 32,
        )
    db.session.rollback()
    with pytest.raises(DomainError, match="say what should change"):
        sign(ctx.amara, item, D.APPROVE_WITH_CHANGES, reasons="  ")
    db.session.rollback()
    assert count(SignOff) == 0


def test_the_same_submission_key_records_once(ctx):
    item = add_photo(ctx.editor, ctx.section)
    kwargs = dict(
        version_number=1,
        decision=D.APPROVE,
        reasons=None,
        answers=all_answers(ItemKind.PHOTO),
        submission_key="same-form",
    )
    first = services.submit_sign_off(ctx.amara, item, **kwargs)
    db.session.commit()
    again = services.submit_sign_off(ctx.amara, item, **kwargs)
    db.session.commit()
    assert again.id == first.id
    with pytest.raises(DomainError, match="already used"):
        services.submit_sign_off(ctx.river, item, **kwargs)
    db.session.rollback()
    assert count(SignOff) == 1
    assert count(ChecklistAnswer) == len(kwargs["answers"])
    assert len(events("sign_off.recorded")) == 1


# Audit trail ---------------------------------------------------------------------------------

SECRET_CAPTION = "Rosa at the shelter door on Elm Street"
SECRET_BODY = "They took my passport at the airport in Lagos"
SECRET_NAME = "Rosa Delgado-Marquez"
SECRET_SCOPE = "Only the printed report, never social media"
SECRET_NOTE = "Her tattoo identifies her"
SECRET_REASONS = "Blur the street sign behind her"
SECRET_CHECK = "The door number is readable"


def test_state_changes_are_audited_without_the_sensitive_words(ctx):
    photo = add_photo(
        ctx.editor, ctx.section, identifiable=True, caption_en=SECRET_CAPTION, alt_en=SECRET_NOTE
    )
    # A refused change leaves no event.
    events_before = count(AuditEvent)
    for refused in (lambda: sign(ctx.amara, photo), lambda: publish(ctx.editor, photo)):
        with pytest.raises(DomainError):
            refused()
        db.session.rollback()
    assert count(AuditEvent) == events_before
    narrative = add_narrative(ctx.editor, ctx.section, body_en=SECRET_BODY, title_en=SECRET_BODY)
    publish(ctx.editor, photo, caption_fr=SECRET_CAPTION, content_note_en=SECRET_NOTE)
    publish(ctx.editor, narrative, body_fr=SECRET_BODY)
    photo_consent = consent(ctx.editor, photo, given_by=SECRET_NAME, scope=SECRET_SCOPE)
    consent(ctx.editor, narrative, given_by=SECRET_NAME, scope=SECRET_SCOPE)
    services.withdraw_consent(ctx.editor, photo_consent)
    db.session.commit()
    answers = all_answers(ItemKind.PHOTO)
    answers[next(iter(answers))] = services.AnswerGiven(Answer.DOES_NOT_MEET, SECRET_CHECK)
    refusal = sign(ctx.amara, photo, D.NOT_APPROVED, reasons=SECRET_REASONS, answers=answers)
    services.withdraw_sign_off(ctx.amara, refusal)
    db.session.commit()
    added = region(ctx.amara, photo, note=SECRET_NOTE)
    services.delete_region(ctx.amara, added)
    db.session.commit()

    rows = list(db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))
    actions = [row.action for row in rows]
    for action in (
        "photo.added",
        "narrative.added",
        "photo.version_published",
        "narrative.version_published",
        "consent.recorded",
        "consent.withdrawn",
        "sign_off.recorded",
        "sign_off.withdrawn",
        "region.added",
        "region.removed",
    ):
        assert action in actions, action
    by_action = {row.action: row for row in rows}
    assert (by_action["photo.added"].actor_id, by_action["photo.added"].object_id) == (
        ctx.editor.id,
        str(photo.id),
    )
    assert by_action["sign_off.recorded"].details["decision"] == "not_approved"
    assert by_action["sign_off.recorded"].details["sha256"] == reload(photo).latest.content_sha256
    assert by_action["region.added"].actor_id == ctx.amara.id
    secrets = (
        SECRET_CAPTION,
        SECRET_BODY,
        SECRET_NAME,
        SECRET_SCOPE,
        SECRET_NOTE,
        SECRET_REASONS,
        SECRET_CHECK,
        "Rosa",
        "passport",
    )
    for row in rows:
        for secret in secrets:
            assert secret not in row.detail, f"{row.action} carries {secret!r}"
            assert secret not in (row.object_id or "")
