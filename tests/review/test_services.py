"""Review services against the database (SQLite, and PostgreSQL when set).

Annotations on a block and on a span (the W3C quote and position selectors), who may annotate,
replies, the resolve / reopen / addressed / confirm cycle (each action recorded with who, when and
the version, together with its audit event: a rollback removes both), carrying annotations into a
new version through `publish_version`, decisions bound to one exact version (once per submission,
concurrent ones included) and independent review.
"""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from portal.accounts.models import User
from portal.assignments import services as assignments
from portal.assignments.models import Assignment, AssignmentState
from portal.audit.models import AuditEvent
from portal.documents.anchoring import CONTEXT_CHARS
from portal.documents.rendering import render_markdown
from portal.errors import DomainError
from portal.extensions import db
from portal.models import utcnow
from portal.reports import services as reports
from portal.reports.models import Section, SectionVersion
from portal.review import services
from portal.review.models import (
    AnchorMethod,
    Annotation,
    AnnotationAction,
    AnnotationKind,
    AnnotationReply,
    AnnotationState,
    Decision,
    SectionDecision,
)

BODY_EN = (
    "# Introduction\n\n"
    "Survivors of trafficking wrote this introduction as paid expert consultants.\n\n"
    "The report describes debt bondage in agriculture and domestic work, and how it ends.\n\n"
    "Recommendations follow in the final chapter of the report."
)
BODY_FR = (
    "# Présentation\n\n"
    "Des survivantes de la traite ont écrit cette introduction comme expertes rémunérées.\n\n"
    "Le rapport décrit la servitude pour dettes dans l'agriculture et le travail domestique.\n\n"
    "Les recommandations suivent dans le dernier chapitre du rapport."
)
NEW_PARAGRAPH = "A new opening paragraph explains who the consultants are."
NEW_PARAGRAPH_FR = "Un nouveau paragraphe d'ouverture présente les consultantes."
DEBT = "debt bondage"
SECTORS = "describes debt bondage in agriculture and domestic work"
PARAGRAPH = "The report describes debt bondage in agriculture and domestic work, and how it ends."
SERVITUDE = "servitude pour dettes"

K = AnnotationKind
S = AnnotationState


@pytest.fixture
def ctx(app, editor, consultant, consultant2, make_user):
    """One section, version 1 in both languages, accepted by Amara and River."""
    ids = SimpleNamespace(
        editor=editor,
        amara=consultant,
        river=consultant2,
        stranger=make_user("consultant", display_name="Stranger"),
    )
    with app.test_request_context():
        people = SimpleNamespace(**{k: db.session.get(User, v) for k, v in vars(ids).items()})
        people.ids = ids
        people.report = reports.create_report(people.editor, title_en="2027 Report", year=2027)
        people.section = reports.create_section(
            people.editor, people.report, title_en="Introduction"
        )
        people.v1 = reports.publish_version(
            people.editor,
            people.section,
            body_en=BODY_EN,
            body_fr=BODY_FR,
            change_summary=None,
            based_on=0,
        )
        for person in (people.amara, people.river):
            assignment = offer(people, person)
            assignments.accept(person, assignment)
        db.session.commit()
        yield people
        db.session.rollback()


def offer(ctx, person: User, section: Section | None = None) -> Assignment:
    return assignments.assign_section(
        ctx.editor, section or ctx.section, person, due_on=utcnow().date() + timedelta(days=14)
    )


def assignment_of(ctx, person: User) -> Assignment:
    return db.session.scalar(
        select(Assignment).where(
            Assignment.section_id == ctx.section.id, Assignment.consultant_id == person.id
        )
    )


def text_of(version: SectionVersion, language: str = "en") -> str:
    return services.plain_text(version, language)


def span(version: SectionVersion, passage: str, language: str = "en") -> dict:
    text = text_of(version, language)
    start = text.index(passage)
    return {"start": start, "end": start + len(passage)}


def block_of(source: str, words: str, language: str = "en"):
    blocks = render_markdown(source, id_prefix=f"{language}-").blocks
    return next(block for block in blocks if words in block.text)


def annotate(ctx, person: User | None = None, *, passage: str = DEBT, language="en", **fields):
    fields.setdefault("kind", K.COMMENT)
    fields.setdefault("body", "Please name the sectors.")
    if "block_id" not in fields and "start" not in fields:
        fields.update(span(services.latest_version(ctx.section), passage, language))
    annotation = services.create_annotation(
        person or ctx.amara, ctx.section, language=language, **fields
    )
    db.session.commit()
    return annotation


def publish(ctx, body_en: str, body_fr: str | None = BODY_FR) -> SectionVersion:
    latest = reports.latest_version(ctx.section)
    version = reports.publish_version(
        ctx.editor,
        ctx.section,
        body_en=body_en,
        body_fr=body_fr,
        change_summary=None,
        based_on=latest.number,
    )
    db.session.commit()
    return version


def reload(obj):
    db.session.expire_all()
    return db.session.get(type(obj), obj.id)


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def audit_actions(prefix: str = "") -> list[str]:
    return list(
        db.session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.action.startswith(prefix))
            .order_by(AuditEvent.seq)
        )
    )


def audit_events(action: str) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
        )
    )


# Creating annotations ------------------------------------------------------------------------


def test_an_annotation_on_a_block_covers_the_blocks_text(ctx):
    block = block_of(BODY_EN, "debt bondage")
    annotation = annotate(ctx, block_id=block.id, body="  Please name the sectors.\n")
    annotation = reload(annotation)
    text = text_of(ctx.v1)
    assert text[annotation.pos_start : annotation.pos_end] == block.text == PARAGRAPH
    assert annotation.quote_exact == PARAGRAPH
    assert (
        annotation.quote_prefix == text[annotation.pos_start - CONTEXT_CHARS : annotation.pos_start]
    )
    assert annotation.quote_suffix == text[annotation.pos_end : annotation.pos_end + CONTEXT_CHARS]
    assert len(annotation.quote_prefix) == len(annotation.quote_suffix) == CONTEXT_CHARS
    assert annotation.block_id == block.id
    assert (annotation.section_id, annotation.author_id, annotation.language) == (
        ctx.section.id,
        ctx.amara.id,
        "en",
    )
    assert annotation.version_id == annotation.anchored_version_id == ctx.v1.id
    assert annotation.body == "Please name the sectors."
    assert annotation.state is S.OPEN
    assert annotation.anchor_method is AnchorMethod.EXACT
    assert annotation.replacement is None
    [event] = audit_events("annotation.created")
    assert (event.actor_id, event.object_type, event.object_id) == (
        ctx.amara.id,
        "annotations",
        str(annotation.id),
    )
    assert event.details == {"kind": "comment", "section_id": ctx.section.id}


def test_an_annotation_on_a_span_keeps_quote_context_and_position(ctx):
    where = span(ctx.v1, DEBT)
    annotation = annotate(ctx, kind=K.SUGGESTION, replacement=" forced labour ", **where)
    annotation = reload(annotation)
    text = text_of(ctx.v1)
    assert (annotation.pos_start, annotation.pos_end) == (where["start"], where["end"])
    assert annotation.quote_exact == DEBT
    assert annotation.quote_prefix == "sultants.\n\nThe report describes "
    assert annotation.quote_prefix == text[where["start"] - CONTEXT_CHARS : where["start"]]
    assert annotation.quote_suffix == " in agriculture and domestic wor"
    assert annotation.kind is K.SUGGESTION
    assert annotation.replacement == "forced labour"
    # The block identifier is stored for a selection too: the paragraph it starts in.
    assert annotation.block_id == block_of(BODY_EN, DEBT).id


def test_a_span_at_either_end_of_the_text_has_short_context(ctx):
    text = text_of(ctx.v1)
    first = annotate(ctx, start=0, end=len("Introduction"))
    last = annotate(ctx, start=len(text) - len("the report."), end=len(text))
    assert (first.quote_exact, first.quote_prefix) == ("Introduction", "")
    assert first.quote_suffix == text[12 : 12 + CONTEXT_CHARS]
    assert (last.quote_exact, last.quote_suffix) == ("the report.", "")


def test_a_french_annotation_anchors_in_the_french_text(ctx):
    annotation = annotate(ctx, passage=SERVITUDE, language="fr")
    text = text_of(ctx.v1, "fr")
    assert annotation.language == "fr"
    assert text[annotation.pos_start : annotation.pos_end] == SERVITUDE == annotation.quote_exact


def test_a_comment_or_concern_never_keeps_a_replacement(ctx):
    annotation = annotate(ctx, kind=K.CONCERN, replacement="ignored", body="This identifies her.")
    assert annotation.kind is K.CONCERN
    assert annotation.replacement is None


@pytest.mark.parametrize("state", ["none", "offered", "declined", "withdrawn"])
def test_only_consultants_who_accepted_may_annotate(ctx, state):
    if state != "none":
        assignment = offer(ctx, ctx.stranger)
        if state == "declined":
            assignments.decline(ctx.stranger, assignment)
        elif state == "withdrawn":
            assignments.withdraw(ctx.editor, assignment)
        db.session.commit()
    with pytest.raises(DomainError, match="once you have accepted this section"):
        services.create_annotation(
            ctx.stranger,
            ctx.section,
            language="en",
            kind=K.COMMENT,
            body="Mine.",
            **span(ctx.v1, DEBT),
        )
    db.session.rollback()
    assert count(Annotation) == 0
    assert audit_actions("annotation.") == []


@pytest.mark.parametrize("state", ["accepted", "in_review", "submitted"])
def test_consultants_annotate_while_accepted_in_review_or_submitted(ctx, state):
    assignment_of(ctx, ctx.amara).state = AssignmentState(state)
    db.session.commit()
    assert annotate(ctx).author_id == ctx.amara.id


def test_editors_may_annotate_too(ctx):
    assert annotate(ctx, ctx.editor).author_id == ctx.editor.id


WHITESPACE_BETWEEN_PARAGRAPHS = {"start": len("Introduction"), "end": len("Introduction") + 2}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"body": "   \n "}, "Please write your comment."),
        ({"body": ""}, "Please write your comment."),
        (
            {"kind": K.SUGGESTION, "replacement": "  "},
            "Please write the rewording you suggest.",
        ),
        ({"kind": K.SUGGESTION}, "Please write the rewording you suggest."),
        ({"start": -1, "end": 5}, "Please select some words"),
        ({"start": 5, "end": 5}, "Please select some words"),
        ({"start": 9, "end": 3}, "Please select some words"),
        ({"start": 0, "end": 10_000}, "Please select some words"),
        ({"start": None, "end": None}, "Please select some words"),
        ({"start": "five", "end": "nine"}, "Please select some words"),
        (WHITESPACE_BETWEEN_PARAGRAPHS, "Please select some words"),
        ({"block_id": "en-0000000000"}, "That passage is no longer in the latest version."),
        ({"language": "de"}, "There is no text in that language"),
    ],
)
def test_bad_annotations_are_refused_and_nothing_is_stored(ctx, fields, message):
    data = {"language": "en", "kind": K.COMMENT, "body": "My comment.", **span(ctx.v1, DEBT)}
    data.update(fields)
    language = data.pop("language")
    with pytest.raises(DomainError, match=message):
        services.create_annotation(ctx.amara, ctx.section, language=language, **data)
    db.session.rollback()
    assert count(Annotation) == 0
    assert audit_actions("annotation.") == []


def test_a_language_without_text_cannot_be_annotated(ctx):
    other = reports.create_section(ctx.editor, ctx.report, title_en="English only")
    reports.publish_version(
        ctx.editor,
        other,
        body_en="Only English here.",
        body_fr=None,
        change_summary=None,
        based_on=0,
    )
    assignments.accept(ctx.amara, offer(ctx, ctx.amara, other))
    db.session.commit()
    with pytest.raises(DomainError, match="There is no text in that language to comment on"):
        services.create_annotation(
            ctx.amara, other, language="fr", kind=K.COMMENT, body="Où ?", start=0, end=4
        )
    db.session.rollback()
    assert count(Annotation) == 0


def test_a_section_without_a_version_cannot_be_annotated(ctx):
    empty = reports.create_section(ctx.editor, ctx.report, title_en="Empty")
    db.session.commit()
    with pytest.raises(DomainError, match="There is no text to comment on yet"):
        services.create_annotation(
            ctx.editor, empty, language="en", kind=K.COMMENT, body="?", start=0, end=1
        )


def test_annotations_go_on_the_latest_version(ctx):
    v2 = publish(ctx, BODY_EN.replace("Introduction", "Opening"))
    annotation = annotate(ctx, passage="Opening")
    assert annotation.version_id == annotation.anchored_version_id == v2.id


# Replies -------------------------------------------------------------------------------------


def test_editors_and_other_consultants_reply(ctx):
    annotation = annotate(ctx)
    for person, words in ((ctx.editor, " We will name them. "), (ctx.river, "I agree.")):
        services.reply(person, annotation, words)
        db.session.commit()
    replies = reload(annotation).replies
    assert [(r.author_id, r.body) for r in replies] == [
        (ctx.editor.id, "We will name them."),
        (ctx.river.id, "I agree."),
    ]
    events = audit_events("annotation.replied")
    assert [(e.actor_id, e.object_id) for e in events] == [
        (ctx.editor.id, str(annotation.id)),
        (ctx.river.id, str(annotation.id)),
    ]
    assert all("body" not in e.detail for e in events)


def test_an_empty_reply_is_refused(ctx):
    annotation = annotate(ctx)
    with pytest.raises(DomainError, match="Please write your reply"):
        services.reply(ctx.river, annotation, "  \n")
    db.session.rollback()
    assert count(AnnotationReply) == 0


@pytest.mark.parametrize("state", ["none", "offered", "declined", "withdrawn"])
def test_consultants_not_working_on_the_section_cannot_reply(ctx, state):
    annotation = annotate(ctx)
    if state != "none":
        assignment = offer(ctx, ctx.stranger)
        if state == "declined":
            assignments.decline(ctx.stranger, assignment)
        elif state == "withdrawn":
            assignments.withdraw(ctx.editor, assignment)
        db.session.commit()
    with pytest.raises(DomainError, match="You cannot reply in this thread"):
        services.reply(ctx.stranger, annotation, "Hello.")
    db.session.rollback()
    assert count(AnnotationReply) == 0


# Resolve, reopen, addressed, confirm ---------------------------------------------------------


def actions_of(annotation) -> list[tuple[int, str, int | None]]:
    return [
        (a.actor_id, a.action, a.version_number)
        for a in db.session.scalars(
            select(AnnotationAction)
            .where(AnnotationAction.annotation_id == annotation.id)
            .order_by(AnnotationAction.id)
        )
    ]


@pytest.mark.parametrize("who", ["editor", "amara"])
def test_the_editors_and_the_author_resolve_and_reopen(ctx, who):
    person = getattr(ctx, who)
    annotation = annotate(ctx)
    before = utcnow()
    services.resolve(person, annotation)
    db.session.commit()
    assert reload(annotation).state is S.RESOLVED
    services.reopen(person, annotation)
    db.session.commit()
    assert reload(annotation).state is S.OPEN
    assert actions_of(annotation) == [(person.id, "resolved", 1), (person.id, "reopened", 1)]
    assert all(before <= action.at <= utcnow() for action in reload(annotation).actions)
    assert [(e.actor_id, e.object_id) for e in audit_events("annotation.resolved")] == [
        (person.id, str(annotation.id))
    ]
    assert len(audit_events("annotation.reopened")) == 1


def test_another_consultant_cannot_resolve_or_reopen(ctx):
    annotation = annotate(ctx)
    with pytest.raises(DomainError, match="Only the editors and the author"):
        services.resolve(ctx.river, annotation)
    db.session.rollback()
    services.resolve(ctx.amara, annotation)
    db.session.commit()
    with pytest.raises(DomainError, match="Only the editors and the author"):
        services.reopen(ctx.river, annotation)
    db.session.rollback()
    assert reload(annotation).state is S.RESOLVED
    assert actions_of(annotation) == [(ctx.amara.id, "resolved", 1)]


def test_resolving_twice_or_reopening_an_open_thread_is_refused(ctx):
    annotation = annotate(ctx)
    with pytest.raises(DomainError, match="already open"):
        services.reopen(ctx.editor, annotation)
    services.resolve(ctx.editor, annotation)
    with pytest.raises(DomainError, match="already resolved"):
        services.resolve(ctx.amara, annotation)


def test_an_editor_marks_a_thread_addressed_and_the_author_confirms(ctx):
    annotation = annotate(ctx)
    publish(ctx, BODY_EN.replace("final chapter", "last chapter"))
    services.mark_addressed(ctx.editor, annotation, 2)
    db.session.commit()
    annotation = reload(annotation)
    assert (annotation.state, annotation.addressed_in) == (S.ADDRESSED, 2)
    services.confirm_addressed(ctx.amara, annotation)
    db.session.commit()
    assert reload(annotation).state is S.RESOLVED
    assert actions_of(annotation) == [
        (ctx.editor.id, "addressed", 2),
        (ctx.amara.id, "confirmed", 2),
    ]
    [addressed] = audit_events("annotation.addressed")
    assert addressed.details == {"version": 2}


def test_the_author_reopens_a_thread_marked_addressed(ctx):
    annotation = annotate(ctx)
    services.mark_addressed(ctx.editor, annotation, 1)
    services.reopen(ctx.amara, annotation)
    db.session.commit()
    annotation = reload(annotation)
    assert (annotation.state, annotation.addressed_in) == (S.OPEN, None)


@pytest.mark.parametrize("who", ["amara", "river"])
def test_only_editors_mark_addressed(ctx, who):
    annotation = annotate(ctx)
    with pytest.raises(DomainError, match="Only editors can mark a comment as addressed"):
        services.mark_addressed(getattr(ctx, who), annotation, 1)
    db.session.rollback()
    assert reload(annotation).state is S.OPEN
    assert actions_of(annotation) == []


@pytest.mark.parametrize("number", [0, 2, -1, 99])
def test_addressed_needs_a_version_that_exists(ctx, number):
    annotation = annotate(ctx)
    with pytest.raises(DomainError, match=f"There is no version {number}."):
        services.mark_addressed(ctx.editor, annotation, number)
    db.session.rollback()
    assert reload(annotation).state is S.OPEN


def test_only_an_open_thread_is_marked_addressed(ctx):
    annotation = annotate(ctx)
    services.resolve(ctx.editor, annotation)
    with pytest.raises(DomainError, match="Only an open thread"):
        services.mark_addressed(ctx.editor, annotation, 1)


@pytest.mark.parametrize("who", ["editor", "river"])
def test_only_the_author_confirms(ctx, who):
    annotation = annotate(ctx)
    services.mark_addressed(ctx.editor, annotation, 1)
    db.session.commit()
    with pytest.raises(DomainError, match="Only the author of the comment can confirm"):
        services.confirm_addressed(getattr(ctx, who), annotation)
    db.session.rollback()
    assert reload(annotation).state is S.ADDRESSED


def test_confirming_needs_a_thread_marked_addressed(ctx):
    annotation = annotate(ctx)
    with pytest.raises(DomainError, match="not marked as addressed"):
        services.confirm_addressed(ctx.amara, annotation)


def _resolve(ctx, annotation):
    services.resolve(ctx.editor, annotation)


def _reopen(ctx, annotation):
    services.resolve(ctx.amara, annotation)
    db.session.commit()
    services.reopen(ctx.editor, annotation)


def _addressed(ctx, annotation):
    services.mark_addressed(ctx.editor, annotation, 1)


def _confirm(ctx, annotation):
    services.mark_addressed(ctx.editor, annotation, 1)
    db.session.commit()
    services.confirm_addressed(ctx.amara, annotation)


@pytest.mark.parametrize(
    ("operation", "action"),
    [
        (_resolve, "resolved"),
        (_reopen, "reopened"),
        (_addressed, "addressed"),
        (_confirm, "confirmed"),
    ],
)
def test_an_action_and_its_audit_event_commit_together_or_not_at_all(ctx, operation, action):
    annotation = annotate(ctx)
    operation(ctx, annotation)  # the last step flushed, not committed
    state = annotation.state
    assert count(AnnotationAction, AnnotationAction.action == action) == 1
    assert audit_actions(f"annotation.{action}") == [f"annotation.{action}"]
    db.session.rollback()
    assert count(AnnotationAction, AnnotationAction.action == action) == 0
    assert audit_actions(f"annotation.{action}") == []
    assert reload(annotation).state is not state


def test_a_new_annotation_and_its_audit_event_commit_together(ctx):
    services.create_annotation(
        ctx.amara, ctx.section, language="en", kind=K.COMMENT, body="Hm.", **span(ctx.v1, DEBT)
    )
    assert count(Annotation) == 1
    assert audit_actions("annotation.") == ["annotation.created"]
    db.session.rollback()
    assert count(Annotation) == 0
    assert audit_actions("annotation.") == []


def test_a_reply_and_its_audit_event_commit_together(ctx):
    annotation = annotate(ctx)
    services.reply(ctx.editor, annotation, "Noted.")
    assert count(AnnotationReply) == 1
    assert audit_actions("annotation.replied") == ["annotation.replied"]
    db.session.rollback()
    assert count(AnnotationReply) == 0
    assert audit_actions("annotation.replied") == []


# Carrying annotations into a new version -----------------------------------------------------


def test_text_inserted_before_moves_the_annotation_exactly(ctx):
    annotation = annotate(ctx, passage=DEBT)
    old_start = annotation.pos_start
    v2 = publish(
        ctx, BODY_EN.replace("# Introduction\n\n", f"# Introduction\n\n{NEW_PARAGRAPH}\n\n")
    )
    annotation = reload(annotation)
    assert annotation.anchor_method is AnchorMethod.EXACT
    assert annotation.anchor_score == 1.0
    assert annotation.pos_start == old_start + len(NEW_PARAGRAPH) + 2
    assert text_of(v2)[annotation.pos_start : annotation.pos_end] == DEBT == annotation.quote_exact
    assert (
        annotation.quote_prefix
        == text_of(v2)[annotation.pos_start - CONTEXT_CHARS : annotation.pos_start]
    )
    assert annotation.anchored_version_id == v2.id
    assert annotation.version_id == ctx.v1.id  # still written on version 1


def test_words_changed_inside_the_passage_follow_by_context(ctx):
    annotation = annotate(ctx, passage=SECTORS)
    v2 = publish(ctx, BODY_EN.replace("in agriculture and", "in farming and"))
    annotation = reload(annotation)
    new_words = SECTORS.replace("agriculture", "farming")
    assert annotation.anchor_method in (AnchorMethod.CONTEXT, AnchorMethod.FUZZY)
    assert 0.75 <= annotation.anchor_score < 1.0
    assert annotation.quote_exact == new_words
    assert text_of(v2)[annotation.pos_start : annotation.pos_end] == new_words
    assert annotation.anchored_version_id == v2.id


def test_a_removed_passage_leaves_an_orphan_that_keeps_its_quote(ctx):
    annotation = annotate(ctx, block_id=block_of(BODY_EN, DEBT).id)
    before = (
        annotation.quote_exact,
        annotation.quote_prefix,
        annotation.pos_start,
        annotation.pos_end,
    )
    publish(ctx, BODY_EN.replace(PARAGRAPH + "\n\n", ""))
    annotation = reload(annotation)
    assert annotation.is_orphan
    assert annotation.anchor_method is AnchorMethod.ORPHAN
    assert annotation.anchor_score == 0.0
    assert (
        annotation.quote_exact,
        annotation.quote_prefix,
        annotation.pos_start,
        annotation.pos_end,
    ) == before
    assert annotation.anchored_version_id == ctx.v1.id
    assert annotation.state is S.OPEN
    assert count(Annotation) == 1  # nothing is deleted
    # A later version leaves it where it is: an orphan of version 1.
    publish(ctx, BODY_EN.replace(PARAGRAPH + "\n\n", "").replace("final", "last"))
    annotation = reload(annotation)
    assert annotation.is_orphan and annotation.anchored_version_id == ctx.v1.id


def test_resolved_annotations_are_not_moved(ctx):
    annotation = annotate(ctx, passage=DEBT)
    services.resolve(ctx.editor, annotation)
    db.session.commit()
    place = (annotation.pos_start, annotation.pos_end, annotation.anchored_version_id)
    publish(ctx, BODY_EN.replace("# Introduction\n\n", f"# Introduction\n\n{NEW_PARAGRAPH}\n\n"))
    annotation = reload(annotation)
    assert (annotation.pos_start, annotation.pos_end, annotation.anchored_version_id) == place
    assert annotation.anchor_method is AnchorMethod.EXACT


def test_addressed_annotations_follow_their_text(ctx):
    annotation = annotate(ctx, passage=DEBT)
    services.mark_addressed(ctx.editor, annotation, 1)
    db.session.commit()
    v2 = publish(
        ctx, BODY_EN.replace("# Introduction\n\n", f"# Introduction\n\n{NEW_PARAGRAPH}\n\n")
    )
    annotation = reload(annotation)
    assert annotation.anchored_version_id == v2.id
    assert text_of(v2)[annotation.pos_start : annotation.pos_end] == DEBT


def test_a_reopened_annotation_is_placed_in_the_latest_version(ctx):
    annotation = annotate(ctx, passage=DEBT)
    services.resolve(ctx.amara, annotation)
    db.session.commit()
    v2 = publish(
        ctx, BODY_EN.replace("# Introduction\n\n", f"# Introduction\n\n{NEW_PARAGRAPH}\n\n")
    )
    services.reopen(ctx.amara, annotation)
    db.session.commit()
    annotation = reload(annotation)
    assert annotation.anchored_version_id == v2.id
    assert text_of(v2)[annotation.pos_start : annotation.pos_end] == DEBT


def test_a_reopened_annotation_whose_passage_is_gone_is_an_orphan(ctx):
    annotation = annotate(ctx, block_id=block_of(BODY_EN, DEBT).id)
    services.resolve(ctx.amara, annotation)
    db.session.commit()
    publish(ctx, BODY_EN.replace(PARAGRAPH + "\n\n", ""))
    services.reopen(ctx.editor, annotation)
    db.session.commit()
    annotation = reload(annotation)
    assert annotation.state is S.OPEN
    assert annotation.is_orphan
    assert (annotation.anchored_version_id, annotation.quote_exact) == (ctx.v1.id, PARAGRAPH)


def test_french_annotations_follow_the_french_text(ctx):
    french = annotate(ctx, passage=SERVITUDE, language="fr")
    english = annotate(ctx, passage=DEBT)
    fr_start, en_start = french.pos_start, english.pos_start
    # The French gains an opening paragraph; the English only a word at its end.
    v2 = publish(
        ctx,
        BODY_EN.replace("of the report.", "of this report."),
        BODY_FR.replace("# Présentation\n\n", f"# Présentation\n\n{NEW_PARAGRAPH_FR}\n\n"),
    )
    french, english = reload(french), reload(english)
    assert french.pos_start == fr_start + len(NEW_PARAGRAPH_FR) + 2
    assert text_of(v2, "fr")[french.pos_start : french.pos_end] == SERVITUDE
    assert english.pos_start == en_start
    assert text_of(v2, "en")[english.pos_start : english.pos_end] == DEBT
    assert french.anchored_version_id == english.anchored_version_id == v2.id


def test_a_version_without_french_orphans_the_french_annotations(ctx):
    french = annotate(ctx, passage=SERVITUDE, language="fr")
    english = annotate(ctx, passage=DEBT)
    publish(ctx, BODY_EN.replace("final", "last"), body_fr=None)
    french, english = reload(french), reload(english)
    assert french.is_orphan and french.anchored_version_id == ctx.v1.id
    assert french.quote_exact == SERVITUDE
    assert not english.is_orphan


def test_a_carried_annotation_names_the_block_it_is_now_in(ctx):
    annotation = annotate(ctx, passage=DEBT)
    new_body = BODY_EN.replace("how it ends.", "how it can end.")
    publish(ctx, new_body)
    annotation = reload(annotation)
    assert annotation.block_id == block_of(new_body, DEBT).id != block_of(BODY_EN, DEBT).id


def test_carry_annotations_counts_each_method(ctx):
    annotate(ctx, passage=DEBT)
    annotate(ctx, passage=SECTORS)
    annotate(ctx, block_id=block_of(BODY_EN, "Recommendations").id)
    annotate(ctx, passage=SERVITUDE, language="fr")
    resolved = annotate(ctx, passage="Introduction")
    services.resolve(ctx.editor, resolved)
    new_body = BODY_EN.replace("in agriculture and", "in farming and").replace(
        "\n\nRecommendations follow in the final chapter of the report.", ""
    )
    new = SectionVersion(
        section_id=ctx.section.id,
        number=2,
        body_en=new_body,
        body_fr=BODY_FR,
        content_sha256="0" * 64,
        author_id=ctx.editor.id,
        created_at=utcnow(),
    )
    db.session.add(new)
    db.session.flush()
    counts = services.carry_annotations(ctx.section, ctx.v1, new)
    # The rewording lost its suffix with the last paragraph: only the fuzzy matcher finds it.
    assert counts == {"exact": 2, "context": 0, "fuzzy": 1, "orphan": 1}


# Decisions -----------------------------------------------------------------------------------


def decide(ctx, person=None, decision=Decision.APPROVE, summary=None, number=None, key=None):
    row = services.submit_decision(
        person or ctx.amara,
        ctx.section,
        version_number=number or reports.latest_version(ctx.section).number,
        decision=decision,
        summary=summary,
        submission_key=key or uuid.uuid4().hex,
    )
    db.session.commit()
    return row


def test_a_decision_is_bound_to_the_latest_version_and_its_fingerprint(ctx):
    v2 = publish(ctx, BODY_EN.replace("final", "last"))
    row = decide(ctx, decision=Decision.APPROVE_WITH_CHANGES, summary="  Name the sectors. ")
    row = reload(row)
    assert (row.version_id, row.content_sha256) == (v2.id, v2.content_sha256)
    assert (row.consultant_id, row.section_id) == (ctx.amara.id, ctx.section.id)
    assert (row.decision, row.summary) == (Decision.APPROVE_WITH_CHANGES, "Name the sectors.")
    [event] = audit_events("decision.submitted")
    assert event.actor_id == ctx.amara.id
    assert event.details == {
        "decision": "approve_with_changes",
        "version": 2,
        "sha256": v2.content_sha256,
    }


@pytest.mark.parametrize("number", [1, 3])
def test_a_decision_on_another_version_number_is_refused(ctx, number):
    publish(ctx, BODY_EN.replace("final", "last"))
    with pytest.raises(DomainError, match="A newer version was published since you opened"):
        decide(ctx, number=number)
    db.session.rollback()
    assert count(SectionDecision) == 0
    assert assignment_of(ctx, ctx.amara).state is AssignmentState.ACCEPTED


@pytest.mark.parametrize("decision", [Decision.APPROVE_WITH_CHANGES, Decision.CHANGES_REQUESTED])
@pytest.mark.parametrize("summary", [None, "", "  \n "])
def test_a_summary_is_required_unless_approving(ctx, decision, summary):
    with pytest.raises(DomainError, match="Please say briefly what should change"):
        decide(ctx, decision=decision, summary=summary)
    db.session.rollback()
    assert count(SectionDecision) == 0


def test_approving_needs_no_summary(ctx):
    assert reload(decide(ctx, summary="  ")).summary is None


@pytest.mark.parametrize("state", ["none", "offered", "declined", "withdrawn"])
def test_only_consultants_who_accepted_decide(ctx, state):
    if state != "none":
        assignment = offer(ctx, ctx.stranger)
        if state == "declined":
            assignments.decline(ctx.stranger, assignment)
        elif state == "withdrawn":
            assignments.withdraw(ctx.editor, assignment)
        db.session.commit()
    with pytest.raises(DomainError, match="once you have accepted this section"):
        decide(ctx, ctx.stranger)
    db.session.rollback()
    assert count(SectionDecision) == 0


@pytest.mark.parametrize("state", ["accepted", "in_review", "submitted"])
def test_deciding_submits_the_assignment(ctx, state):
    assignment_of(ctx, ctx.amara).state = AssignmentState(state)
    db.session.commit()
    decide(ctx)
    assignment = reload(assignment_of(ctx, ctx.amara))
    assert assignment.state is AssignmentState.SUBMITTED
    if state != "submitted":
        assert assignment.submitted_at is not None
    assert reload(assignment_of(ctx, ctx.river)).state is AssignmentState.ACCEPTED


def test_the_same_submission_twice_makes_one_row(ctx):
    first = decide(ctx, decision=Decision.CHANGES_REQUESTED, summary="Rewrite it.", key="k" * 32)
    again = decide(ctx, decision=Decision.CHANGES_REQUESTED, summary="Rewrite it.", key="k" * 32)
    assert again.id == first.id
    assert count(SectionDecision) == 1
    assert len(audit_events("decision.submitted")) == 1


def test_a_submission_key_cannot_stand_for_someone_elses_decision(ctx):
    decide(ctx, decision=Decision.APPROVE, key="shared-key")
    with pytest.raises(DomainError):
        decide(ctx, ctx.river, decision=Decision.CHANGES_REQUESTED, summary="No.", key="shared-key")
    db.session.rollback()
    assert [(d.consultant_id, d.decision) for d in db.session.scalars(select(SectionDecision))] == [
        (ctx.amara.id, Decision.APPROVE)
    ]
    assert reload(assignment_of(ctx, ctx.river)).state is AssignmentState.ACCEPTED


def test_a_decision_and_its_audit_event_commit_together(ctx):
    services.submit_decision(
        ctx.amara,
        ctx.section,
        version_number=1,
        decision=Decision.APPROVE,
        summary=None,
        submission_key="rolled-back",
    )
    assert count(SectionDecision) == 1
    db.session.rollback()
    assert count(SectionDecision) == 0
    assert audit_actions("decision.") == []
    assert assignment_of(ctx, ctx.amara).state is AssignmentState.ACCEPTED


def test_two_concurrent_submissions_with_the_same_key_make_one_row(app, ctx, monkeypatch):
    """Both requests pass the "already recorded?" check before either inserts (R3)."""
    db.session.commit()
    ids = ctx.ids
    section_id = ctx.section.id
    both_checked = threading.Barrier(2, timeout=20)
    original = services.latest_version

    def latest_after_both_checked(section):
        both_checked.wait()
        return original(section)

    monkeypatch.setattr(services, "latest_version", latest_after_both_checked)
    results: list[int] = []
    errors: list[BaseException] = []

    def submit():
        try:
            with app.test_request_context():
                row = services.submit_decision(
                    db.session.get(User, ids.amara),
                    db.session.get(Section, section_id),
                    version_number=1,
                    decision=Decision.APPROVE,
                    summary=None,
                    submission_key="sent-twice-at-once",
                )
                db.session.commit()
                results.append(row.id)
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    monkeypatch.undo()
    assert not errors, errors
    assert len(results) == 2 and results[0] == results[1]
    db.session.expire_all()
    assert count(SectionDecision) == 1
    assert len(audit_events("decision.submitted")) == 1


def test_a_new_version_makes_decisions_stale_and_asks_again(ctx):
    row = decide(ctx)
    assert services.current_decisions(ctx.section) == ([row], [])
    assert services.outcome(ctx.section) is Decision.APPROVE
    publish(ctx, BODY_EN.replace("final", "last"))
    current, stale = services.current_decisions(ctx.section)
    assert (current, [d.id for d in stale]) == ([], [row.id])
    assert services.outcome(ctx.section) is None
    assert reload(assignment_of(ctx, ctx.amara)).state is AssignmentState.IN_REVIEW
    assert reload(assignment_of(ctx, ctx.river)).state is AssignmentState.ACCEPTED
    [event] = audit_events("assignment.asked_again")
    assert (event.actor_id, event.object_id) == (
        ctx.editor.id,
        str(assignment_of(ctx, ctx.amara).id),
    )
    # The record of the decision on version 1 is kept as it was.
    assert reload(row).version_id == ctx.v1.id


@pytest.mark.parametrize(
    ("amara", "river", "expected"),
    [
        (Decision.APPROVE, Decision.APPROVE, Decision.APPROVE),
        (Decision.APPROVE, Decision.APPROVE_WITH_CHANGES, Decision.APPROVE_WITH_CHANGES),
        (Decision.APPROVE_WITH_CHANGES, Decision.APPROVE, Decision.APPROVE_WITH_CHANGES),
        (Decision.CHANGES_REQUESTED, Decision.APPROVE_WITH_CHANGES, Decision.CHANGES_REQUESTED),
        (Decision.APPROVE, Decision.CHANGES_REQUESTED, Decision.CHANGES_REQUESTED),
    ],
)
def test_the_outcome_is_the_most_cautious_current_decision(ctx, amara, river, expected):
    decide(ctx, ctx.amara, amara, summary="Because.")
    decide(ctx, ctx.river, river, summary="Because.")
    assert services.outcome(ctx.section) is expected


def test_only_each_consultants_latest_current_decision_counts(ctx):
    assert services.outcome(ctx.section) is None
    decide(ctx, ctx.river, Decision.CHANGES_REQUESTED, summary="Rewrite the second paragraph.")
    decide(ctx, ctx.amara, Decision.APPROVE)
    assert services.outcome(ctx.section) is Decision.CHANGES_REQUESTED
    # River changes her mind on the same version: a new record, the first one kept.
    decide(ctx, ctx.river, Decision.APPROVE)
    assert services.outcome(ctx.section) is Decision.APPROVE
    assert count(SectionDecision) == 3
    # After a new version only decisions on it count; River's approval is stale.
    publish(ctx, BODY_EN.replace("final", "last"))
    decide(ctx, ctx.amara, Decision.APPROVE_WITH_CHANGES, summary="Close.")
    assert services.outcome(ctx.section) is Decision.APPROVE_WITH_CHANGES
    current, stale = services.current_decisions(ctx.section)
    assert [d.consultant_id for d in current] == [ctx.amara.id]
    assert [(d.consultant_id, d.decision) for d in stale] == [(ctx.river.id, Decision.APPROVE)]


# Visibility ----------------------------------------------------------------------------------


def test_consultants_see_each_others_annotations_by_default(ctx):
    mine, theirs = annotate(ctx, ctx.amara), annotate(ctx, ctx.river, passage="final chapter")
    for person in (ctx.amara, ctx.river, ctx.editor):
        assert {a.id for a in services.visible_annotations(person, ctx.section)} == {
            mine.id,
            theirs.id,
        }
        assert services.can_see(person, mine, ctx.section)
        assert services.can_see(person, theirs, ctx.section)


def test_independent_review_hides_other_consultants_annotations_from_consultants(ctx):
    mine, theirs = annotate(ctx, ctx.amara), annotate(ctx, ctx.river, passage="final chapter")
    editors = annotate(ctx, ctx.editor, passage="Introduction")
    services.set_independent_review(ctx.editor, ctx.section, True)
    db.session.commit()
    assert [a.id for a in services.visible_annotations(ctx.amara, ctx.section)] == [mine.id]
    assert [a.id for a in services.visible_annotations(ctx.river, ctx.section)] == [theirs.id]
    assert {a.id for a in services.visible_annotations(ctx.editor, ctx.section)} == {
        mine.id,
        theirs.id,
        editors.id,
    }
    assert not services.can_see(ctx.river, mine, ctx.section)
    assert services.can_see(ctx.editor, mine, ctx.section)
    with pytest.raises(DomainError):
        services.reply(ctx.river, mine, "I saw this.")
    db.session.rollback()
    [event] = audit_events("section.review_visibility_changed")
    assert (event.actor_id, event.details) == (ctx.editor.id, {"independent": True})
    services.set_independent_review(ctx.editor, ctx.section, False)
    db.session.commit()
    assert len(services.visible_annotations(ctx.river, ctx.section)) == 3


def test_a_consultant_who_has_not_accepted_sees_no_one_elses_annotations(ctx):
    annotate(ctx, ctx.amara)
    offer(ctx, ctx.stranger)  # offered: the text is readable, the review not yet open
    db.session.commit()
    assert services.visible_annotations(ctx.stranger, ctx.section) == []


def test_the_audit_trail_stays_intact_and_never_holds_what_people_wrote(ctx):
    from portal.audit.services import verify_chain

    annotation = annotate(ctx, body="Private words about the farm.")
    services.reply(ctx.river, annotation, "Private reply.")
    services.resolve(ctx.editor, annotation)
    db.session.commit()
    decide(ctx, decision=Decision.CHANGES_REQUESTED, summary="Private summary.")
    publish(ctx, BODY_EN.replace("final", "last"))
    assert verify_chain().intact
    details = " ".join(db.session.scalars(select(AuditEvent.detail)))
    for private in ("Private words", "Private reply", "Private summary", DEBT):
        assert private not in details


# One annotation and one reply per form submission (security.md R3) -----------------------------


def test_the_same_annotation_form_sent_twice_makes_one_annotation(ctx):
    first = annotate(ctx, submission_key="a" * 32)
    again = annotate(ctx, submission_key="a" * 32)
    assert again.id == first.id
    assert count(Annotation) == 1
    assert len(audit_events("annotation.created")) == 1
    other = annotate(ctx, submission_key="b" * 32)
    assert other.id != first.id and count(Annotation) == 2


def test_an_annotation_key_cannot_stand_for_someone_elses_comment(ctx):
    annotate(ctx, submission_key="shared")
    with pytest.raises(DomainError):
        annotate(ctx, ctx.river, submission_key="shared")
    db.session.rollback()
    assert [a.author_id for a in db.session.scalars(select(Annotation))] == [ctx.amara.id]


def test_the_same_reply_sent_twice_makes_one_reply(ctx):
    annotation = annotate(ctx)
    first = services.reply(ctx.river, annotation, "I agree.", submission_key="r" * 32)
    db.session.commit()
    again = services.reply(ctx.river, annotation, "I agree.", submission_key="r" * 32)
    db.session.commit()
    assert again.id == first.id
    assert count(AnnotationReply) == 1
    assert len(audit_events("annotation.replied")) == 1


def _at_once(app, monkeypatch, target, name: str, work) -> list:
    """Run `work` in two threads that both pass the "already sent?" check before inserting."""
    both_checked = threading.Barrier(2, timeout=20)
    original = getattr(target, name)

    def after_both_checked(*args, **kwargs):
        both_checked.wait()
        return original(*args, **kwargs)

    monkeypatch.setattr(target, name, after_both_checked)
    results: list = []
    errors: list[BaseException] = []

    def run():
        try:
            with app.test_request_context():
                results.append(work())
                db.session.commit()
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    monkeypatch.undo()
    assert not errors, errors
    db.session.expire_all()
    return results


def test_two_concurrent_annotations_with_the_same_key_make_one_row(app, ctx, monkeypatch):
    ids, section_id = ctx.ids, ctx.section.id
    where = span(ctx.v1, DEBT)

    def work():
        return services.create_annotation(
            db.session.get(User, ids.amara),
            db.session.get(Section, section_id),
            language="en",
            kind=K.COMMENT,
            body="Sent twice at once.",
            submission_key="annotation-at-once",
            **where,
        ).id

    results = _at_once(app, monkeypatch, services, "can_work_on", work)
    assert len(results) == 2 and results[0] == results[1]
    assert count(Annotation) == 1
    assert len(audit_events("annotation.created")) == 1


def test_two_concurrent_replies_with_the_same_key_make_one_row(app, ctx, monkeypatch):
    annotation_id = annotate(ctx).id
    river = ctx.ids.river

    def work():
        return services.reply(
            db.session.get(User, river),
            db.session.get(Annotation, annotation_id),
            "Sent twice at once.",
            submission_key="reply-at-once",
        ).id

    results = _at_once(app, monkeypatch, services, "can_work_on", work)
    assert len(results) == 2 and results[0] == results[1]
    assert count(AnnotationReply) == 1
    assert len(audit_events("annotation.replied")) == 1
