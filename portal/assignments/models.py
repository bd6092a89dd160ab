"""An assignment: one consultant asked to review one section by a due date."""

from __future__ import annotations

import enum
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.accounts.models import User
from portal.enums import enum_column
from portal.models import Base, utcnow
from portal.reports.models import Section


class AssignmentState(enum.StrEnum):
    OFFERED = "offered"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    IN_REVIEW = "in_review"
    SUBMITTED = "submitted"
    WITHDRAWN = "withdrawn"

    @property
    def title(self) -> str:
        return str(ASSIGNMENT_STATE_TITLES[self])


ASSIGNMENT_STATE_TITLES = {
    AssignmentState.OFFERED: _l("Offered"),
    AssignmentState.ACCEPTED: _l("Accepted"),
    AssignmentState.DECLINED: _l("Declined"),
    AssignmentState.IN_REVIEW: _l("In review"),
    AssignmentState.SUBMITTED: _l("Submitted"),
    AssignmentState.WITHDRAWN: _l("Withdrawn"),
}
# States in which work is still expected, so a past due date makes the assignment overdue.
OPEN_STATES = frozenset(
    {AssignmentState.OFFERED, AssignmentState.ACCEPTED, AssignmentState.IN_REVIEW}
)
# States in which the consultant may read the section.
READING_STATES = frozenset(
    {
        AssignmentState.OFFERED,
        AssignmentState.ACCEPTED,
        AssignmentState.IN_REVIEW,
        AssignmentState.SUBMITTED,
    }
)


class ExtensionState(enum.StrEnum):
    REQUESTED = "requested"
    GRANTED = "granted"
    REFUSED = "refused"

    @property
    def title(self) -> str:
        return str(
            {
                self.REQUESTED: _l("More time requested"),
                self.GRANTED: _l("More time granted"),
                self.REFUSED: _l("More time not granted"),
            }[self]
        )


class Assignment(Base):
    __tablename__ = "assignments"
    __table_args__ = (UniqueConstraint("section_id", "consultant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id"), index=True)
    consultant_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    state: Mapped[AssignmentState] = mapped_column(
        enum_column(AssignmentState, "assignment_state"), default=AssignmentState.OFFERED
    )
    due_on: Mapped[date] = mapped_column()
    instructions_en: Mapped[str | None] = mapped_column(Text)
    instructions_fr: Mapped[str | None] = mapped_column(Text)
    offered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    offered_at: Mapped[datetime] = mapped_column(default=utcnow)
    responded_at: Mapped[datetime | None] = mapped_column()
    decline_reason: Mapped[str | None] = mapped_column(String(1000))
    started_at: Mapped[datetime | None] = mapped_column()
    submitted_at: Mapped[datetime | None] = mapped_column()
    extension_state: Mapped[ExtensionState | None] = mapped_column(
        enum_column(ExtensionState, "extension_state")
    )
    extension_requested_until: Mapped[date | None] = mapped_column()
    extension_reason: Mapped[str | None] = mapped_column(String(1000))
    extension_answered_at: Mapped[datetime | None] = mapped_column()
    extension_answered_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    section: Mapped[Section] = relationship()
    consultant: Mapped[User] = relationship(foreign_keys=[consultant_id])
    offered_by: Mapped[User | None] = relationship(foreign_keys=[offered_by_id])

    def __repr__(self) -> str:
        return f"<Assignment {self.id} section={self.section_id} {self.state.value}>"

    def is_overdue(self, today: date) -> bool:
        """Derived, never stored: open work past its due date."""
        return self.state in OPEN_STATES and self.due_on < today

    @property
    def extension_pending(self) -> bool:
        return self.extension_state is ExtensionState.REQUESTED

    def lets_read(self) -> bool:
        return self.state in READING_STATES

    def waiting_on(self) -> str:
        """What happens next, in plain words, for the consultant's dashboard."""
        if self.extension_pending:
            return str(_l("Waiting for the editors to answer your request for more time."))
        return str(
            {
                AssignmentState.OFFERED: _l("Waiting for you to accept or decline."),
                AssignmentState.ACCEPTED: _l("Ready when you are: open the draft to start."),
                AssignmentState.IN_REVIEW: _l("You are reviewing this section."),
                AssignmentState.SUBMITTED: _l("Submitted. Nothing more is needed from you."),
                AssignmentState.DECLINED: _l("You declined. Nothing is needed from you."),
                AssignmentState.WITHDRAWN: _l("The editors withdrew this request."),
            }[self.state]
        )
