"""A time record: time a consultant spent on one of their assignments, and the editors' check."""

from __future__ import annotations

import enum
from datetime import date, datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.accounts.models import User
from portal.assignments.models import Assignment
from portal.enums import enum_column
from portal.models import Base, utcnow
from portal.reports.models import EDITORIAL_ROLES

MAX_MINUTES = 24 * 60


class TimeActivity(enum.StrEnum):
    READING = "reading"
    ANNOTATING = "annotating"
    PHOTO_REVIEW = "photo_review"
    NARRATIVE_REVIEW = "narrative_review"
    MEETING = "meeting"

    @property
    def title(self) -> str:
        return str(ACTIVITY_TITLES[self])


ACTIVITY_TITLES = {
    TimeActivity.READING: _l("Reading"),
    TimeActivity.ANNOTATING: _l("Annotating"),
    TimeActivity.PHOTO_REVIEW: _l("Photo review"),
    TimeActivity.NARRATIVE_REVIEW: _l("Narrative review"),
    TimeActivity.MEETING: _l("Meeting"),
}


class TimeRecordStatus(enum.StrEnum):
    SUBMITTED = "submitted"
    APPROVED = "approved"
    QUERIED = "queried"

    @property
    def title(self) -> str:
        return str(STATUS_TITLES[self])

    @property
    def next_step(self) -> str:
        """What happens next, in plain words, for the consultant."""
        return str(STATUS_NEXT_STEPS[self])


STATUS_TITLES = {
    TimeRecordStatus.SUBMITTED: _l("Waiting for approval"),
    TimeRecordStatus.APPROVED: _l("Approved"),
    TimeRecordStatus.QUERIED: _l("Question from the editors"),
}
STATUS_NEXT_STEPS = {
    TimeRecordStatus.SUBMITTED: _l("An editor will check it. You can still change or delete it."),
    TimeRecordStatus.APPROVED: _l("Approved for payment. It can no longer be changed."),
    TimeRecordStatus.QUERIED: _l(
        "An editor asked a question. Change the record or answer in its note, then save it: "
        "it goes back to the editors."
    ),
}


def format_duration(minutes: int) -> str:
    """A duration as people read it: "1 h 30 min", "2 h", "45 min"."""
    hours, rest = divmod(minutes, 60)
    if hours and rest:
        return _("%(hours)d h %(minutes)d min", hours=hours, minutes=rest)
    if hours:
        return _("%(hours)d h", hours=hours)
    return _("%(minutes)d min", minutes=rest)


class TimeRecord(Base):
    __tablename__ = "time_records"
    __table_args__ = (
        CheckConstraint("minutes BETWEEN 1 AND 1440", name="minutes_within_a_day"),
        CheckConstraint(
            "status != 'approved' OR approved_at IS NOT NULL", name="approval_has_date"
        ),
        CheckConstraint("status != 'queried' OR question IS NOT NULL", name="query_has_question"),
        # The daily total is summed per consultant and day on every save.
        Index("ix_time_records_consultant_day", "consultant_id", "worked_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    consultant_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"), index=True)
    worked_on: Mapped[date] = mapped_column()
    minutes: Mapped[int] = mapped_column()
    activity: Mapped[TimeActivity] = mapped_column(enum_column(TimeActivity, "time_activity"))
    note: Mapped[str | None] = mapped_column(String(1000))
    status: Mapped[TimeRecordStatus] = mapped_column(
        enum_column(TimeRecordStatus, "time_record_status"),
        default=TimeRecordStatus.SUBMITTED,
        index=True,
    )
    # When it was last sent to the editors: created, or changed after a question.
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The editors' latest question, kept after the consultant answers so both can see it.
    question: Mapped[str | None] = mapped_column(String(1000))
    queried_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    queried_at: Mapped[datetime | None] = mapped_column()
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    approved_at: Mapped[datetime | None] = mapped_column()
    # The revision a form was loaded at travels with it: saving over a newer one is a conflict
    # (security.md R2). As the mapper's version counter, every UPDATE or DELETE also says
    # "WHERE revision = <the one read>", so two requests racing past that check cannot both win.
    revision: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    consultant: Mapped[User] = relationship(foreign_keys=[consultant_id])
    assignment: Mapped[Assignment] = relationship()
    queried_by: Mapped[User | None] = relationship(foreign_keys=[queried_by_id])
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id])

    __mapper_args__ = {"version_id_col": revision}  # noqa: RUF012  (SQLAlchemy's own idiom)

    def __repr__(self) -> str:
        return f"<TimeRecord {self.id} consultant={self.consultant_id} {self.status.value}>"

    @property
    def is_locked(self) -> bool:
        """Approved time is what the consultant is paid for: it never changes again."""
        return self.status is TimeRecordStatus.APPROVED

    @property
    def hours_and_minutes(self) -> tuple[int, int]:
        return divmod(self.minutes, 60)

    @property
    def duration(self) -> str:
        return format_duration(self.minutes)

    def can_change(self, user: User) -> bool:
        """Its consultant may change or delete it until it is approved."""
        return user.id == self.consultant_id and not self.is_locked

    def can_judge(self, user: User) -> bool:
        """Editors and admins approve it or ask about it, until it is approved."""
        return user.role in EDITORIAL_ROLES and not self.is_locked
