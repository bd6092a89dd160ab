"""Annotation and decision operations: the rules. They flush, never commit."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.accounts.models import User
from portal.assignments.models import Assignment, AssignmentState
from portal.audit.services import record
from portal.documents import anchoring
from portal.documents.rendering import render_markdown
from portal.errors import DomainError
from portal.extensions import db
from portal.models import utcnow
from portal.reports.models import EDITORIAL_ROLES, Section, SectionVersion
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

MAX_COMMENT = 5000
# Consultants may annotate and decide while their assignment is in one of these states.
WORKING_STATES = frozenset(
    {AssignmentState.ACCEPTED, AssignmentState.IN_REVIEW, AssignmentState.SUBMITTED}
)


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def plain_text(version: SectionVersion, language: str) -> str:
    """The text annotations in this language anchor to (offsets count characters)."""
    return render_markdown(version.body(language) or "").plain_text


def latest_version(section: Section) -> SectionVersion | None:
    return db.session.scalar(
        select(SectionVersion)
        .where(SectionVersion.section_id == section.id)
        .order_by(SectionVersion.number.desc())
        .limit(1)
    )


def _assignment(user: User, section: Section) -> Assignment | None:
    return db.session.scalar(
        select(Assignment).where(
            Assignment.section_id == section.id, Assignment.consultant_id == user.id
        )
    )


# Permissions ---------------------------------------------------------------------------------


def is_editorial(user: User) -> bool:
    return user.role in EDITORIAL_ROLES


def can_work_on(user: User, section: Section) -> bool:
    """Editors, and consultants whose assignment is accepted, in review or submitted."""
    if is_editorial(user):
        return True
    assignment = _assignment(user, section)
    return assignment is not None and assignment.state in WORKING_STATES


def can_see(user: User, annotation: Annotation, section: Section) -> bool:
    """Everyone working on the section sees its annotations, unless review is independent."""
    if is_editorial(user) or annotation.author_id == user.id:
        return True
    return not section.independent_review and can_work_on(user, section)


def can_resolve(user: User, annotation: Annotation) -> bool:
    return is_editorial(user) or annotation.author_id == user.id


def visible_annotations(user: User, section: Section) -> list[Annotation]:
    stmt = (
        select(Annotation)
        .where(Annotation.section_id == section.id)
        .order_by(Annotation.language, Annotation.pos_start, Annotation.id)
    )
    if not is_editorial(user) and section.independent_review:
        stmt = stmt.where(Annotation.author_id == user.id)
    return list(db.session.scalars(stmt))


def set_independent_review(actor: User, section: Section, independent: bool) -> None:
    """Choose whether consultants see each other's annotations on this section."""
    section.independent_review = independent
    record(actor, "section.review_visibility_changed", section, independent=independent)


# Annotations ---------------------------------------------------------------------------------


def create_annotation(
    user: User,
    section: Section,
    *,
    language: str,
    kind: AnnotationKind,
    body: str,
    replacement: str | None = None,
    block_id: str | None = None,
    start: int | None = None,
    end: int | None = None,
) -> Annotation:
    """Annotate a block (the keyboard and no-script path) or a selected span of the latest text."""
    if not can_work_on(user, section):
        raise DomainError(_l("You can comment once you have accepted this section."))
    version = latest_version(section)
    if version is None:
        raise DomainError(_l("There is no text to comment on yet."))
    if language not in ("en", "fr") or not version.body(language):
        raise DomainError(_l("There is no text in that language to comment on."))
    body = _clean(body)
    if not body:
        raise DomainError(_l("Please write your comment."))
    replacement = _clean(replacement)
    if kind is AnnotationKind.SUGGESTION and not replacement:
        raise DomainError(_l("Please write the rewording you suggest."))
    rendered = render_markdown(version.body(language), id_prefix=f"{language}-")
    text = rendered.plain_text
    if block_id:
        block = next((b for b in rendered.blocks if b.id == block_id), None)
        if block is None or block.start == block.end:
            raise DomainError(_l("That passage is no longer in the latest version."))
        start, end = block.start, block.end
    try:
        quote, position = anchoring.describe(text, int(start), int(end))  # type: ignore[arg-type]
    except (TypeError, ValueError) as error:
        raise DomainError(_l("Please select some words of the text to comment on.")) from error
    annotation = Annotation(
        section_id=section.id,
        version_id=version.id,
        anchored_version_id=version.id,
        author_id=user.id,
        kind=kind,
        language=language,
        block_id=block_id,
        quote_exact=quote.exact,
        quote_prefix=quote.prefix,
        quote_suffix=quote.suffix,
        pos_start=position.start,
        pos_end=position.end,
        anchor_method=AnchorMethod.EXACT,
        anchor_score=1.0,
        body=body,
        replacement=replacement if kind is AnnotationKind.SUGGESTION else None,
        state=AnnotationState.OPEN,
    )
    db.session.add(annotation)
    record(user, "annotation.created", annotation, kind=kind.value, section_id=section.id)
    return annotation


def reply(user: User, annotation: Annotation, body: str) -> AnnotationReply:
    if not (
        can_work_on(user, annotation.section) and can_see(user, annotation, annotation.section)
    ):
        raise DomainError(_l("You cannot reply in this thread."))
    body = _clean(body)
    if not body:
        raise DomainError(_l("Please write your reply."))
    answer = AnnotationReply(annotation_id=annotation.id, author_id=user.id, body=body)
    db.session.add(answer)
    record(user, "annotation.replied", annotation)
    return answer


def _act(
    user: User,
    annotation: Annotation,
    action: str,
    state: AnnotationState,
    version_number: int | None = None,
) -> None:
    annotation.state = state
    db.session.add(
        AnnotationAction(
            annotation_id=annotation.id,
            actor_id=user.id,
            action=action,
            version_number=version_number,
            at=utcnow(),
        )
    )
    record(user, f"annotation.{action}", annotation, version=version_number)


def resolve(user: User, annotation: Annotation) -> None:
    if not can_resolve(user, annotation):
        raise DomainError(_l("Only the editors and the author of a comment can resolve it."))
    if annotation.state is AnnotationState.RESOLVED:
        raise DomainError(_l("This thread is already resolved."))
    _act(user, annotation, "resolved", AnnotationState.RESOLVED)


def reopen(user: User, annotation: Annotation) -> None:
    if not can_resolve(user, annotation):
        raise DomainError(_l("Only the editors and the author of a comment can reopen it."))
    if annotation.state is AnnotationState.OPEN:
        raise DomainError(_l("This thread is already open."))
    annotation.addressed_in = None
    _act(user, annotation, "reopened", AnnotationState.OPEN)


def mark_addressed(user: User, annotation: Annotation, version_number: int) -> None:
    """An editor says the comment was dealt with in version N; the author confirms or reopens."""
    if not is_editorial(user):
        raise DomainError(_l("Only editors can mark a comment as addressed."))
    if annotation.state is not AnnotationState.OPEN:
        raise DomainError(_l("Only an open thread can be marked as addressed."))
    exists = db.session.scalar(
        select(SectionVersion.id).where(
            SectionVersion.section_id == annotation.section_id,
            SectionVersion.number == version_number,
        )
    )
    if exists is None:
        raise DomainError(_l("There is no version %(number)d.", number=version_number))
    annotation.addressed_in = version_number
    _act(user, annotation, "addressed", AnnotationState.ADDRESSED, version_number)


def confirm_addressed(user: User, annotation: Annotation) -> None:
    if annotation.author_id != user.id:
        raise DomainError(_l("Only the author of the comment can confirm it was addressed."))
    if annotation.state is not AnnotationState.ADDRESSED:
        raise DomainError(_l("This thread is not marked as addressed."))
    _act(user, annotation, "confirmed", AnnotationState.RESOLVED, annotation.addressed_in)


def carry_annotations(section: Section, old: SectionVersion, new: SectionVersion) -> dict:
    """Re-anchor every unresolved annotation in the new version's text; nothing is deleted.

    Returns how many annotations were placed by each method, orphans included.
    """
    counts = {method.value: 0 for method in AnchorMethod}
    texts: dict[tuple[int, str], str] = {}

    def text_of(version: SectionVersion, language: str) -> str:
        key = (version.id, language)
        if key not in texts:
            texts[key] = plain_text(version, language)
        return texts[key]

    annotations = db.session.scalars(
        select(Annotation).where(
            Annotation.section_id == section.id,
            Annotation.state != AnnotationState.RESOLVED,
            Annotation.anchor_method != AnchorMethod.ORPHAN,
        )
    )
    for annotation in annotations:
        before = annotation.anchored_version
        quote = anchoring.TextQuote(
            annotation.quote_exact, annotation.quote_prefix, annotation.quote_suffix
        )
        anchor = anchoring.reanchor(
            quote,
            anchoring.TextPosition(annotation.pos_start, annotation.pos_end),
            text_of(new, annotation.language),
            old_length=len(text_of(before, annotation.language)),
        )
        if anchor is None:
            # Keep the old quote and the version it was last found in: shown as an orphan.
            annotation.anchor_method = AnchorMethod.ORPHAN
            annotation.anchor_score = 0.0
        else:
            annotation.anchored_version_id = new.id
            annotation.quote_exact = anchor.quote.exact
            annotation.quote_prefix = anchor.quote.prefix
            annotation.quote_suffix = anchor.quote.suffix
            annotation.pos_start = anchor.position.start
            annotation.pos_end = anchor.position.end
            annotation.anchor_method = AnchorMethod(anchor.method)
            annotation.anchor_score = anchor.score
        counts[annotation.anchor_method.value] += 1
    db.session.flush()
    return counts


# Decisions -----------------------------------------------------------------------------------


def submit_decision(
    consultant: User,
    section: Section,
    *,
    version_number: int,
    decision: Decision,
    summary: str | None,
    submission_key: str,
) -> SectionDecision:
    """Record a decision on the exact version the consultant read; the same form sent twice
    records it once."""
    existing = db.session.scalar(
        select(SectionDecision).where(SectionDecision.submission_key == submission_key)
    )
    if existing is not None:
        return existing
    assignment = _assignment(consultant, section)
    if assignment is None or assignment.state not in WORKING_STATES:
        raise DomainError(_l("You can give a decision once you have accepted this section."))
    version = latest_version(section)
    if version is None or version.number != version_number:
        raise DomainError(
            _l(
                "A newer version was published since you opened this page. Please read it "
                "before deciding."
            )
        )
    summary = _clean(summary)
    if decision is not Decision.APPROVE and not summary:
        raise DomainError(_l("Please say briefly what should change."))
    row = SectionDecision(
        section_id=section.id,
        version_id=version.id,
        consultant_id=consultant.id,
        decision=decision,
        summary=summary,
        content_sha256=version.content_sha256,
        submission_key=submission_key,
        created_at=utcnow(),
    )
    try:
        with db.session.begin_nested():
            db.session.add(row)
            db.session.flush()
    except IntegrityError:
        return db.session.scalar(
            select(SectionDecision).where(SectionDecision.submission_key == submission_key)
        )
    if assignment.state is not AssignmentState.SUBMITTED:
        assignment.state = AssignmentState.SUBMITTED
        assignment.submitted_at = utcnow()
    record(
        consultant,
        "decision.submitted",
        row,
        decision=decision.value,
        version=version.number,
        sha256=version.content_sha256,
    )
    return row


def current_decisions(section: Section) -> tuple[list[SectionDecision], list[SectionDecision]]:
    """Each consultant's latest decision: those on the latest version, and stale ones."""
    latest = latest_version(section)
    newest: dict[int, SectionDecision] = {}
    for row in db.session.scalars(
        select(SectionDecision)
        .where(SectionDecision.section_id == section.id)
        .order_by(SectionDecision.created_at, SectionDecision.id)
    ):
        newest[row.consultant_id] = row
    current = [d for d in newest.values() if latest is not None and d.version_id == latest.id]
    stale = [d for d in newest.values() if latest is None or d.version_id != latest.id]
    return current, stale


def outcome(section: Section) -> Decision | None:
    """The section's review outcome: the most cautious current decision."""
    current, _stale = current_decisions(section)
    if not current:
        return None
    return max((d.decision for d in current), key=lambda decision: decision.caution)


def ask_again_after_new_version(section: Section) -> int:
    """A new version puts the section back in the queue of consultants who had submitted."""
    count = 0
    for assignment in db.session.scalars(
        select(Assignment).where(
            Assignment.section_id == section.id, Assignment.state == AssignmentState.SUBMITTED
        )
    ):
        assignment.state = AssignmentState.IN_REVIEW
        count += 1
    db.session.flush()
    return count


def apply_suggestion(annotation: Annotation, markdown: str) -> str | None:
    """The Markdown with the suggested rewording in place of the passage, when the passage
    appears exactly once in the source; None when it cannot be placed without guessing."""
    if annotation.kind is not AnnotationKind.SUGGESTION or not annotation.replacement:
        return None
    if markdown.count(annotation.quote_exact) != 1:
        return None
    return markdown.replace(annotation.quote_exact, annotation.replacement)
