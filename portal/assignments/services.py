"""Assignment operations: the rules of offering, answering and finishing a review.

They flush, never commit; views commit once and send any e-mail after the commit.
"""

from __future__ import annotations

import re
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import Row, case, func, inspect, select
from sqlalchemy.orm import joinedload, load_only

from portal.accounts.models import Role, User
from portal.assignments.models import (
    OPEN_STATES,
    Assignment,
    AssignmentState,
    ExtensionState,
)
from portal.audit.services import record
from portal.errors import DomainError
from portal.extensions import db
from portal.models import insert_unless_conflict, utcnow
from portal.notifications.models import NotificationKind
from portal.notifications.services import bilingual_title, notify, path_for
from portal.reports.models import Section, SectionState


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def _require_state(assignment: Assignment, *allowed: AssignmentState) -> None:
    if assignment.state not in allowed:
        raise DomainError(
            _l(
                "This is not possible while the assignment is “%(state)s”.",
                state=assignment.state.title,
            )
        )


def assign_section(
    actor: User,
    section: Section,
    consultant: User,
    *,
    due_on: date,
    instructions_en: str | None = None,
    instructions_fr: str | None = None,
    today: date | None = None,
) -> Assignment:
    """Offer a section to a consultant; a declined or withdrawn offer can be made again."""
    if consultant.role is not Role.CONSULTANT or not consultant.active:
        raise DomainError(_l("Sections can only be assigned to active consultants."))
    if section.is_archived or section.state is SectionState.FINAL:
        raise DomainError(_l("This section is final or archived and cannot be assigned."))
    if due_on < (today or utcnow().date()):
        raise DomainError(_l("The due date cannot be in the past."))
    existing = db.session.scalar(
        select(Assignment).where(
            Assignment.section_id == section.id, Assignment.consultant_id == consultant.id
        )
    )
    if existing is not None and existing.state not in (
        AssignmentState.DECLINED,
        AssignmentState.WITHDRAWN,
    ):
        raise DomainError(
            _l("%(name)s is already assigned to this section.", name=consultant.display_name)
        )
    fields = {
        "state": AssignmentState.OFFERED,
        "due_on": due_on,
        "instructions_en": _clean(instructions_en),
        "instructions_fr": _clean(instructions_fr),
        "offered_by_id": actor.id,
        "offered_at": utcnow(),
        "responded_at": None,
        "started_at": None,
        "submitted_at": None,
        "decline_reason": None,
        "extension_state": None,
        "extension_requested_until": None,
        "extension_reason": None,
        "extension_answered_at": None,
        "extension_answered_by_id": None,
    }
    if existing is not None:
        # Offered again after a decline or withdrawal: the same row, answered afresh.
        for name, value in fields.items():
            setattr(existing, name, value)
        db.session.flush()
        assignment = existing
    else:
        # The unique (section, consultant) pair makes a double submission create one row (R3).
        new_id = insert_unless_conflict(
            db.session,
            Assignment,
            {"section_id": section.id, "consultant_id": consultant.id, **fields},
            ["section_id", "consultant_id"],
        )
        if new_id is None:
            raise DomainError(
                _l("%(name)s is already assigned to this section.", name=consultant.display_name)
            )
        assignment = db.session.get(Assignment, new_id)
    record(
        actor,
        "assignment.offered",
        assignment,
        section_id=section.id,
        consultant_id=consultant.id,
        due_on=due_on.isoformat(),
    )
    notify(
        consultant,
        NotificationKind.ASSIGNMENT_OFFERED,
        link=path_for("assignments.assignment", assignment_id=assignment.id),
        params={"title": bilingual_title(section), "date": due_on.isoformat()},
    )
    return assignment


def accept(consultant: User, assignment: Assignment) -> None:
    _require_state(assignment, AssignmentState.OFFERED)
    assignment.state = AssignmentState.ACCEPTED
    assignment.responded_at = utcnow()
    record(consultant, "assignment.accepted", assignment)


def decline(consultant: User, assignment: Assignment, reason: str | None = None) -> None:
    """Decline without having to say why; a reason, if given, is for the editors only."""
    _require_state(assignment, AssignmentState.OFFERED, AssignmentState.ACCEPTED)
    assignment.state = AssignmentState.DECLINED
    assignment.responded_at = utcnow()
    assignment.decline_reason = _clean(reason)
    assignment.extension_state = None
    # Whether a reason was given, never the reason itself.
    record(consultant, "assignment.declined", assignment, explained=bool(assignment.decline_reason))
    # The editor who made the offer is told (a link and a display name; never the reason).
    notify(
        assignment.offered_by,
        NotificationKind.DECLINED,
        link=path_for("reports.section", section_id=assignment.section_id),
        params={"title": bilingual_title(assignment.section), "name": consultant.display_name},
    )


def start_review(consultant: User, assignment: Assignment) -> None:
    _require_state(assignment, AssignmentState.ACCEPTED)
    assignment.state = AssignmentState.IN_REVIEW
    assignment.started_at = utcnow()
    record(consultant, "assignment.started", assignment)


def submit_review(consultant: User, assignment: Assignment) -> None:
    _require_state(assignment, AssignmentState.IN_REVIEW)
    assignment.state = AssignmentState.SUBMITTED
    assignment.submitted_at = utcnow()
    if assignment.extension_pending:
        assignment.extension_state = None
    record(consultant, "assignment.submitted", assignment)


def withdraw(actor: User, assignment: Assignment) -> None:
    _require_state(assignment, *OPEN_STATES)
    assignment.state = AssignmentState.WITHDRAWN
    assignment.extension_state = None
    record(actor, "assignment.withdrawn", assignment)


def request_extension(
    consultant: User,
    assignment: Assignment,
    *,
    until: date,
    reason: str | None = None,
    today: date | None = None,
) -> None:
    _require_state(assignment, *OPEN_STATES)
    if assignment.extension_pending:
        raise DomainError(_l("You have already asked for more time; the editors will answer soon."))
    if until <= assignment.due_on:
        raise DomainError(_l("Please choose a date after the current due date."))
    if until < (today or utcnow().date()):
        # An overdue assignment: a date after its due date can still be in the past.
        raise DomainError(_l("The due date cannot be in the past."))
    assignment.extension_state = ExtensionState.REQUESTED
    assignment.extension_requested_until = until
    assignment.extension_reason = _clean(reason)
    assignment.extension_answered_at = None
    assignment.extension_answered_by_id = None
    record(consultant, "assignment.extension_requested", assignment, until=until.isoformat())


def answer_extension(
    actor: User,
    assignment: Assignment,
    *,
    grant: bool,
    new_due_on: date | None = None,
    today: date | None = None,
) -> None:
    if not assignment.extension_pending:
        raise DomainError(_l("There is no request for more time to answer."))
    if grant:
        due_on = new_due_on or assignment.extension_requested_until
        if due_on <= assignment.due_on:
            raise DomainError(_l("Please choose a date after the current due date."))
        if due_on < (today or utcnow().date()):
            raise DomainError(_l("The due date cannot be in the past."))
        assignment.due_on = due_on
        assignment.extension_state = ExtensionState.GRANTED
    else:
        assignment.extension_state = ExtensionState.REFUSED
    assignment.extension_answered_at = utcnow()
    assignment.extension_answered_by_id = actor.id
    record(
        actor,
        "assignment.extension_answered",
        assignment,
        granted=grant,
        due_on=assignment.due_on.isoformat(),
    )
    notify(
        assignment.consultant,
        NotificationKind.EXTENSION_ANSWERED,
        link=path_for("assignments.assignment", assignment_id=assignment.id),
        params={
            "title": bilingual_title(assignment.section),
            "answer": "granted" if grant else "refused",
        },
    )


# Reading -----------------------------------------------------------------------------------


def consultant_assignments_query(consultant: User):
    """A consultant's assignments: open work first by due date, then the rest, newest first."""
    open_first = case((Assignment.state.in_(list(OPEN_STATES)), 0), else_=1)
    return (
        select(Assignment)
        .where(Assignment.consultant_id == consultant.id)
        .options(joinedload(Assignment.section).joinedload(Section.report))
        .order_by(open_first, Assignment.due_on, Assignment.id.desc())
    )


def assignment_of(user: User, section: Section) -> Assignment | None:
    """This person's assignment to the section, if any (one per pair: a unique constraint).

    A page asks several times (the loader, the permission checks, the page itself): the
    session keeps the row it found and answers later asks with it (reloaded if a commit
    expired it). Only found rows are kept, so an assignment made later in the same session
    is still found, and one whose row is gone (rolled back) is asked for again.
    Assignments are never deleted.
    """
    known = db.session.info.setdefault("assignments", {})
    key = (user.id, section.id)
    kept = known.get(key)  # held here: the identity map alone would let it go
    if kept is not None and (identity := inspect(kept).identity) is not None:
        assignment = db.session.get(Assignment, identity)
        if assignment is not None:
            return assignment
    assignment = db.session.scalar(
        select(Assignment).where(
            Assignment.section_id == section.id, Assignment.consultant_id == user.id
        )
    )
    if assignment is not None:
        known[key] = assignment
    return assignment


def reading_assignment(user: User, section: Section) -> Assignment | None:
    """The assignment that lets this consultant read the section, if any (security.md Z3)."""
    assignment = assignment_of(user, section)
    return assignment if assignment is not None and assignment.lets_read() else None


def active_consultants() -> list[Row]:
    """Active consultants by display name, as plain rows of `id` and `display_name` (the editors'
    choices of a consultant list them all)."""
    return list(
        db.session.execute(
            select(User.id, User.display_name_column().label("display_name"))
            .where(User.role == Role.CONSULTANT, User.active.is_(True))
            .order_by(User.display_name)
        )
    )


def report_matrix(
    report_id: int,
    *,
    today: date,
    query: str = "",
    state: str = "",
    consultant_id: int | None = None,
    overdue_only: bool = False,
    page: int = 1,
    per_page: int = 25,
):
    """The editor's sections x consultants grid for one report, filtered and paginated.

    Three queries whatever the size (and the page's count): a page of sections, their
    assignments, and the consultants who appear as columns, as plain rows of `id` and
    `display_name`. The assignments have only the columns the grid shows loaded.
    """
    sections = select(Section).where(Section.report_id == report_id)
    if query:
        # What the editor typed is matched literally: % and _ are not wildcards here.
        literal = re.sub(r"([\\%_])", r"\\\1", query.strip().lower())
        pattern = f"%{literal}%"
        sections = sections.where(
            func.lower(Section.title_en).like(pattern, escape="\\")
            | func.lower(func.coalesce(Section.title_fr, "")).like(pattern, escape="\\")
        )
    conditions = []
    if state in {s.value for s in AssignmentState}:
        conditions.append(Assignment.state == AssignmentState(state))
    if consultant_id:
        conditions.append(Assignment.consultant_id == consultant_id)
    if overdue_only:
        conditions.append(Assignment.state.in_(list(OPEN_STATES)))
        conditions.append(Assignment.due_on < today)
    if conditions:
        sections = sections.where(
            select(Assignment.id).where(Assignment.section_id == Section.id, *conditions).exists()
        )
    sections = sections.order_by(Section.archived_at.is_not(None), Section.position, Section.id)
    page_of_sections = db.paginate(sections, page=page, per_page=per_page, error_out=False)
    section_ids = [section.id for section in page_of_sections.items]
    cells: dict[tuple[int, int], Assignment] = {}
    if section_ids:
        for assignment in db.session.scalars(
            select(Assignment)
            .where(Assignment.section_id.in_(section_ids))
            .options(
                load_only(
                    Assignment.section_id,
                    Assignment.consultant_id,
                    Assignment.state,
                    Assignment.due_on,
                    Assignment.extension_state,
                )
            )
        ):
            cells[(assignment.section_id, assignment.consultant_id)] = assignment
    consultants = list(
        db.session.execute(
            # An anonymised consultant keeps their column, named neutrally.
            select(User.id, User.display_name_column().label("display_name"))
            .where(
                User.id.in_(
                    select(Assignment.consultant_id)
                    .join(Section, Section.id == Assignment.section_id)
                    .where(Section.report_id == report_id)
                )
            )
            .order_by(func.lower(User.display_name), User.id)
        )
    )
    return page_of_sections, consultants, cells
