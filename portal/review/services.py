"""Annotation and decision operations: the rules. They flush, never commit."""

from __future__ import annotations

from functools import cache

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Row, Select, bindparam, func, literal, select, tuple_
from sqlalchemy.orm import aliased, selectinload

from portal.accounts.models import User
from portal.assignments.models import Assignment, AssignmentState
from portal.assignments.services import assignment_of
from portal.audit.services import record
from portal.documents import anchoring
from portal.documents.rendering import RenderedDocument, render_markdown
from portal.errors import DomainError
from portal.extensions import db
from portal.models import insert_unless_conflict, utcnow
from portal.notifications.models import NotificationKind
from portal.notifications.services import bilingual_title, notify, path_for
from portal.reports.models import EDITORIAL_ROLES, Section, SectionVersion
from portal.reports.services import latest_version
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


def _rendered(version: SectionVersion, language: str) -> RenderedDocument:
    """The version's text in one language, with the block ids the reading page shows."""
    return render_markdown(version.body(language) or "", id_prefix=f"{language}-")


def _block_at(rendered: RenderedDocument, offset: int) -> str | None:
    """The id of the innermost block whose text holds the offset (blocks come outer first)."""
    found = None
    for block in rendered.blocks:
        if block.start <= offset < block.end:
            found = block.id
    return found


def _assignment(user: User, section: Section) -> Assignment | None:
    return assignment_of(user, section)


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


COMMENTS_PER_PAGE = 50


@cache
def _reading_statements(locale: str, own_only: bool) -> tuple[Select, Select, Select]:
    """The reading page's statements: every visible annotation, the orphans, and the anchored
    ones in some languages (the `languages` parameter), each in text order, for the
    `section_id` parameter (and the `author_id` one when a person sees only their own).

    Built once per locale (the neutral name of an anonymised author is in its words) and case:
    assembling them costs more than running them. Call it in a request in `locale`.
    """
    anchored = aliased(SectionVersion)
    base = (
        select(
            Annotation.id,
            Annotation.kind,
            Annotation.language,
            Annotation.quote_exact,
            Annotation.pos_start,
            Annotation.pos_end,
            Annotation.anchored_version_id,
            anchored.number.label("anchored_number"),
            Annotation.anchor_method,
            (Annotation.anchor_method == AnchorMethod.ORPHAN).label("is_orphan"),
            Annotation.body,
            Annotation.state,
            User.display_name_column().label("author_name"),
        )
        .join(User, User.id == Annotation.author_id)
        .join(anchored, anchored.id == Annotation.anchored_version_id)
        .where(Annotation.section_id == bindparam("section_id"))
        .order_by(Annotation.language, Annotation.pos_start, Annotation.id)
    )
    if own_only:
        base = base.where(Annotation.author_id == bindparam("author_id"))
    orphans = base.where(Annotation.anchor_method == AnchorMethod.ORPHAN)
    listed = base.where(
        Annotation.language.in_(bindparam("languages", expanding=True)),
        Annotation.anchor_method != AnchorMethod.ORPHAN,
    )
    return base, orphans, listed


def _reading_query(user: User, section: Section) -> tuple[tuple[Select, Select, Select], dict]:
    """`_reading_statements` for this person and section, with their parameters."""
    # The same rule as `can_see`: a consultant who has not accepted (or no longer works on) the
    # section, or whose section is under independent review, sees only their own annotations.
    own_only = not is_editorial(user) and (
        section.independent_review or not can_work_on(user, section)
    )
    params = {"section_id": section.id} | ({"author_id": user.id} if own_only else {})
    return _reading_statements(str(get_locale() or "en"), own_only), params


def visible_annotations(user: User, section: Section) -> list[Row]:
    """What the reading page lists of each annotation this person may see, in text order.

    Plain rows, not ORM objects (a section may have a thousand): id, kind, language, quote_exact,
    pos_start, pos_end, anchored_version_id, anchored_number, anchor_method, is_orphan, body,
    state and author_name.
    """
    (base, _orphans, _listed), params = _reading_query(user, section)
    return list(db.session.execute(base, params))


class AnnotationPage(Pagination):
    """One page of `visible_annotations` rows (the pager partial reads it like any other)."""

    def _query_items(self) -> list[Row]:
        stmt = self._query_args["stmt"].limit(self.per_page).offset(self._query_offset)
        return list(db.session.execute(stmt, self._query_args["params"]))

    def _query_count(self) -> int:
        if self.page == 1 and len(self.items) < self.per_page:
            return len(self.items)  # all of them are on this page: no need to count
        sub = self._query_args["stmt"].order_by(None).subquery()
        count = db.session.scalar(select(func.count()).select_from(sub), self._query_args["params"])
        return count or 0


def reading_comments(
    user: User,
    section: Section,
    languages: list[str],
    *,
    page: int = 1,
    around: int | None = None,
    per_page: int | None = None,
) -> tuple[AnnotationPage, list[Row]]:
    """What the reading page lists: the anchored annotations in `languages` this person may see,
    a page at a time in the order of the text (so a page covers one stretch of it), and every
    orphan (whose passage is gone) apart. `around` (an annotation id) asks for the page that
    lists it, when it is listed at all. Rows as `visible_annotations` gives them.
    """
    per_page = per_page or COMMENTS_PER_PAGE
    (_base, orphans_stmt, stmt), params = _reading_query(user, section)
    orphans = list(db.session.execute(orphans_stmt, params))
    params = params | {"languages": list(languages)}
    if around is not None:
        target = db.session.execute(
            stmt.with_only_columns(Annotation.language, Annotation.pos_start).where(
                Annotation.id == around
            ),
            params,
        ).first()
        if target is not None:
            before = stmt.with_only_columns(Annotation.id).where(
                tuple_(Annotation.language, Annotation.pos_start, Annotation.id)
                < tuple_(literal(target.language), literal(target.pos_start), literal(around))
            )
            count = db.session.scalar(
                select(func.count()).select_from(before.order_by(None).subquery()), params
            )
            page = (count or 0) // per_page + 1
    args = {"per_page": per_page, "max_per_page": None, "error_out": False}
    args |= {"stmt": stmt, "params": params}
    result = AnnotationPage(page=max(page, 1), **args)
    if not result.items and result.page > 1 and result.pages:
        # Past the last page (the list shrank, or a hand-typed number): show the last one.
        result = AnnotationPage(page=result.pages, **args)
    return result, orphans


def reply_counts(annotation_ids: list[int]) -> dict[int, int]:
    """How many replies each annotation has, in one statement (without loading the replies)."""
    if not annotation_ids:
        return {}
    rows = db.session.execute(
        select(AnnotationReply.annotation_id, func.count())
        .where(AnnotationReply.annotation_id.in_(annotation_ids))
        .group_by(AnnotationReply.annotation_id)
    )
    return dict(rows.tuples().all())


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
    submission_key: str | None = None,
) -> Annotation:
    """Annotate a block (the keyboard and no-script path) or a selected span of the latest text.

    The same form sent twice (two clicks, two workers) makes one annotation (R3).
    """
    if submission_key:
        existing = _sent_with(Annotation, submission_key)
        if existing is not None:
            if existing.author_id != user.id or existing.section_id != section.id:
                raise DomainError(_l("This form was already used. Please open the page again."))
            return existing
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
    rendered = _rendered(version, language)
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
    if not block_id:
        # A selection records the block it starts in, as a block comment does (issue 4, point 2).
        block_id = _block_at(rendered, position.start)
    values = {
        "section_id": section.id,
        "version_id": version.id,
        "anchored_version_id": version.id,
        "author_id": user.id,
        "kind": kind,
        "language": language,
        "block_id": block_id,
        "quote_exact": quote.exact,
        "quote_prefix": quote.prefix,
        "quote_suffix": quote.suffix,
        "pos_start": position.start,
        "pos_end": position.end,
        "anchor_method": AnchorMethod.EXACT,
        "anchor_score": 1.0,
        "body": body,
        "replacement": replacement if kind is AnnotationKind.SUGGESTION else None,
        "state": AnnotationState.OPEN,
        "submission_key": submission_key,
    }
    annotation, inserted = _insert_once(Annotation, values)
    if inserted:
        record(user, "annotation.created", annotation, kind=kind.value, section_id=section.id)
    return annotation


def _sent_with(model, submission_key: str):
    return db.session.scalar(select(model).where(model.submission_key == submission_key))


def _insert_once(model, values: dict):
    """Add a row; with a submission key, only if no row has it yet. (row, inserted now?)"""
    key = values.get("submission_key")
    if not key:
        row = model(**values)
        db.session.add(row)
        db.session.flush()
        return row, True
    now = utcnow()
    stamped = {"created_at": now} | ({"updated_at": now} if hasattr(model, "updated_at") else {})
    inserted = insert_unless_conflict(db.session, model, stamped | values, ["submission_key"])
    return _sent_with(model, key), inserted is not None


def reply(
    user: User, annotation: Annotation, body: str, submission_key: str | None = None
) -> AnnotationReply:
    if submission_key:
        existing = _sent_with(AnnotationReply, submission_key)
        if existing is not None:
            if existing.author_id != user.id or existing.annotation_id != annotation.id:
                raise DomainError(_l("This form was already used. Please open the page again."))
            return existing
    if not (
        can_work_on(user, annotation.section) and can_see(user, annotation, annotation.section)
    ):
        raise DomainError(_l("You cannot reply in this thread."))
    body = _clean(body)
    if not body:
        raise DomainError(_l("Please write your reply."))
    answer, inserted = _insert_once(
        AnnotationReply,
        {
            "annotation_id": annotation.id,
            "author_id": user.id,
            "body": body,
            "submission_key": submission_key,
        },
    )
    if inserted:
        record(user, "annotation.replied", annotation)
        if annotation.author_id != user.id:
            notify(
                annotation.author,
                NotificationKind.REPLY,
                link=path_for("review.thread", annotation_id=annotation.id),
                params={"title": bilingual_title(annotation.section), "name": user.display_name},
            )
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
    _act(user, annotation, "resolved", AnnotationState.RESOLVED, _latest_number(annotation))


def reopen(user: User, annotation: Annotation) -> None:
    if not can_resolve(user, annotation):
        raise DomainError(_l("Only the editors and the author of a comment can reopen it."))
    if annotation.state is AnnotationState.OPEN:
        raise DomainError(_l("This thread is already open."))
    annotation.addressed_in = None
    latest = latest_version(annotation.section)
    if (
        annotation.state is AnnotationState.RESOLVED
        and not annotation.is_orphan
        and latest is not None
        and annotation.anchored_version_id != latest.id
    ):
        # Resolved threads stay where they were when newer versions came; an open one is
        # placed in the latest text (or becomes an orphan), as publishing would have done.
        _place(annotation, latest, _RenderCache())
    _act(user, annotation, "reopened", AnnotationState.OPEN, latest.number if latest else None)


def _latest_number(annotation: Annotation) -> int | None:
    latest = latest_version(annotation.section)
    return latest.number if latest is not None else None


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
    notify(
        annotation.author,
        NotificationKind.ADDRESSED,
        link=path_for("review.thread", annotation_id=annotation.id),
        params={"title": bilingual_title(annotation.section), "number": version_number},
    )


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
    rendered = _RenderCache()
    annotations = db.session.scalars(
        select(Annotation).where(
            Annotation.section_id == section.id,
            Annotation.state != AnnotationState.RESOLVED,
            Annotation.anchor_method != AnchorMethod.ORPHAN,
        )
    ).all()
    for annotation in annotations:
        _place(annotation, new, rendered)
        counts[annotation.anchor_method.value] += 1
    db.session.flush()
    return counts


class _RenderCache(dict):
    """Each version's rendered text per language, rendered once."""

    def __call__(self, version: SectionVersion, language: str) -> RenderedDocument:
        key = (version.id, language)
        if key not in self:
            self[key] = _rendered(version, language)
        return self[key]


def _place(annotation: Annotation, new: SectionVersion, rendered: _RenderCache) -> None:
    """Find an annotation's passage in a newer version, or make it an orphan keeping its quote."""
    before = rendered(annotation.anchored_version, annotation.language)
    after = rendered(new, annotation.language)
    anchor = anchoring.reanchor(
        anchoring.TextQuote(
            annotation.quote_exact, annotation.quote_prefix, annotation.quote_suffix
        ),
        anchoring.TextPosition(annotation.pos_start, annotation.pos_end),
        after.plain_text,
        old_length=len(before.plain_text),
    )
    if anchor is None:
        # Keep the old quote and the version it was last found in: shown as an orphan.
        annotation.anchor_method = AnchorMethod.ORPHAN
        annotation.anchor_score = 0.0
        return
    annotation.anchored_version_id = new.id
    annotation.anchored_version = new
    annotation.block_id = _block_at(after, anchor.position.start)
    annotation.quote_exact = anchor.quote.exact
    annotation.quote_prefix = anchor.quote.prefix
    annotation.quote_suffix = anchor.quote.suffix
    annotation.pos_start = anchor.position.start
    annotation.pos_end = anchor.position.end
    annotation.anchor_method = AnchorMethod(anchor.method)
    annotation.anchor_score = anchor.score


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
    existing = _decision_sent_with(submission_key)
    if existing is not None:
        return _same_sender(existing, consultant, section)
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
    inserted = _insert_unless_sent(
        section_id=section.id,
        version_id=version.id,
        consultant_id=consultant.id,
        decision=decision,
        summary=summary,
        content_sha256=version.content_sha256,
        submission_key=submission_key,
        created_at=utcnow(),
    )
    row = _decision_sent_with(submission_key)
    if not inserted:
        # The same form, sent at the same moment by another request, got there first.
        return _same_sender(row, consultant, section)
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


def _decision_sent_with(submission_key: str) -> SectionDecision | None:
    return db.session.scalar(
        select(SectionDecision).where(SectionDecision.submission_key == submission_key)
    )


def _same_sender(row: SectionDecision, consultant: User, section: Section) -> SectionDecision:
    """A submission key stands for one consultant's form on one section, never another's."""
    if row.consultant_id != consultant.id or row.section_id != section.id:
        raise DomainError(_l("This form was already used. Please open the decision page again."))
    return row


def _insert_unless_sent(**values) -> bool:
    """Insert a decision unless its submission key is already taken; True if this call did."""
    return (
        insert_unless_conflict(db.session, SectionDecision, values, ["submission_key"]) is not None
    )


def current_decisions(section: Section) -> tuple[list[SectionDecision], list[SectionDecision]]:
    """Each consultant's latest decision: those on the latest version, and stale ones."""
    return decisions_by_section({section.id: latest_version(section)})[section.id]


def decisions_by_section(
    latest: dict[int, SectionVersion | None],
) -> dict[int, tuple[list[SectionDecision], list[SectionDecision]]]:
    """`current_decisions` of several sections, given each one's latest version, in one query
    (with the consultants and versions that pages show beside each decision)."""
    newest: dict[int, dict[int, SectionDecision]] = {section_id: {} for section_id in latest}
    if latest:
        for row in db.session.scalars(
            select(SectionDecision)
            .where(SectionDecision.section_id.in_(list(latest)))
            .order_by(SectionDecision.created_at, SectionDecision.id)
            .options(
                selectinload(SectionDecision.consultant), selectinload(SectionDecision.version)
            )
        ):
            newest[row.section_id][row.consultant_id] = row
    split = {}
    for section_id, rows in newest.items():
        version = latest[section_id]
        current = [d for d in rows.values() if version is not None and d.version_id == version.id]
        stale = [d for d in rows.values() if version is None or d.version_id != version.id]
        split[section_id] = (current, stale)
    return split


def outcome(section: Section, current: list[SectionDecision] | None = None) -> Decision | None:
    """The section's review outcome: the most cautious current decision (of `current`, when the
    caller has read them already)."""
    if current is None:
        current, _stale = current_decisions(section)
    if not current:
        return None
    return max((d.decision for d in current), key=lambda decision: decision.caution)


def ask_again_after_new_version(section: Section) -> int:
    """A new version puts the section back in the queue of consultants who had submitted.

    Each assignment's move is audited (security.md R5), as the work of whoever published.
    """
    latest = latest_version(section)
    submitted = db.session.scalars(
        select(Assignment).where(
            Assignment.section_id == section.id, Assignment.state == AssignmentState.SUBMITTED
        )
    ).all()
    for assignment in submitted:
        assignment.state = AssignmentState.IN_REVIEW
        record(
            latest.author if latest is not None else None,
            "assignment.asked_again",
            assignment,
            version=latest.number if latest is not None else None,
        )
        notify(
            assignment.consultant,
            NotificationKind.ASKED_AGAIN,
            link=path_for("reports.read", section_id=section.id),
            params={"title": bilingual_title(section)},
        )
    db.session.flush()
    return len(submitted)


def apply_suggestion(annotation: Annotation, markdown: str) -> str | None:
    """The Markdown with the suggested rewording in place of the passage, when the passage
    appears exactly once in the source; None when it cannot be placed without guessing."""
    if annotation.kind is not AnnotationKind.SUGGESTION or not annotation.replacement:
        return None
    if markdown.count(annotation.quote_exact) != 1:
        return None
    return markdown.replace(annotation.quote_exact, annotation.replacement)
