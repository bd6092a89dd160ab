"""Time record rules: recording, changing and deleting one's own time, the editors' approval and
questions, and the monthly statement.

Every function flushes, never commits: the view commits the change and its audit record together
(security.md R4). Audit details never carry the consultant's note or the editor's question.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from flask_babel import format_date
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.exc import StaleDataError

from portal.accounts.models import Role, User
from portal.assignments.models import Assignment
from portal.audit.services import record
from portal.errors import DomainError
from portal.extensions import db
from portal.models import utcnow
from portal.reports.models import Report, Section
from portal.reports.services import EditConflict
from portal.review.services import WORKING_STATES, is_editorial
from portal.timesheets.models import (
    MAX_MINUTES,
    TimeActivity,
    TimeRecord,
    TimeRecordStatus,
    format_duration,
)

MAX_NOTE = 1000
MAX_QUESTION = 1000


class TimeRecordError(DomainError):
    """A time record refused; `field` names the form field the message belongs to."""

    def __init__(self, message, field: str) -> None:
        super().__init__(message)
        self.field = field


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def allowed_days(today: date | None = None) -> tuple[date, date]:
    """The first and last day time can be recorded for: the past year, up to today.

    "Today" is UTC's, and a consultant east of UTC (up to UTC+14) is already a day ahead of it,
    so UTC's tomorrow is accepted rather than telling them their own today is in the future.
    """
    today = today or utcnow().date()
    try:
        a_year_ago = today.replace(year=today.year - 1)
    except ValueError:  # 29 February
        a_year_ago = today.replace(year=today.year - 1, day=28)
    return a_year_ago, today + timedelta(days=1)


def _check_day(worked_on: date, today: date | None) -> None:
    earliest, latest = allowed_days(today)
    if worked_on > latest:
        raise TimeRecordError(_l("The date cannot be in the future."), "worked_on")
    if worked_on < earliest:
        raise TimeRecordError(
            _l(
                "Time can be recorded for the past year only: please choose a date from "
                "%(date)s on.",
                date=format_date(earliest, "long"),
            ),
            "worked_on",
        )


def _check_minutes(minutes: int) -> None:
    if minutes < 1:
        raise TimeRecordError(_l("Please enter the time you spent: at least 1 minute."), "hours")
    if minutes > MAX_MINUTES:
        raise TimeRecordError(_l("One record can be at most 24 hours."), "hours")


def _check_text(value: str | None, limit: int, field_name: str) -> str | None:
    value = _clean(value)
    if value is not None and len(value) > limit:
        raise TimeRecordError(
            _l("Please use at most %(count)d characters.", count=limit), field_name
        )
    return value


def can_record_on(consultant: User, assignment: Assignment) -> bool:
    """Consultants record time on their own assignments once accepted (and after submitting)."""
    return (
        consultant.role is Role.CONSULTANT
        and assignment.consultant_id == consultant.id
        and assignment.state in WORKING_STATES
    )


def _check_assignment(consultant: User, assignment: Assignment) -> None:
    if not can_record_on(consultant, assignment):
        raise TimeRecordError(
            _l("Please choose one of your assignments that you have accepted."), "assignment"
        )


def _lock_days_of(consultant: User) -> None:
    """Let one request at a time change this consultant's time, so two saves cannot both pass
    the daily limit.

    PostgreSQL: a row lock on the account (FOR NO KEY UPDATE, so other rows may still refer to
    it). SQLite ignores FOR UPDATE, but has one writer at a time: the flush before the total is
    read takes that write lock, so the total sees every committed record.
    """
    db.session.execute(
        select(User.id).where(User.id == consultant.id).with_for_update(key_share=True)
    )


def _check_daily_total(consultant: User, time_record: TimeRecord) -> None:
    """At most 24 hours a day, all of the day's records together (this one flushed already)."""
    total = db.session.scalar(
        select(func.coalesce(func.sum(TimeRecord.minutes), 0)).where(
            TimeRecord.consultant_id == consultant.id,
            TimeRecord.worked_on == time_record.worked_on,
        )
    )
    if total > MAX_MINUTES:
        raise TimeRecordError(
            _l(
                "This would bring your time on %(date)s to more than 24 hours: %(recorded)s is "
                "recorded for that day already.",
                date=format_date(time_record.worked_on, "long"),
                recorded=format_duration(total - time_record.minutes),
            ),
            "hours",
        )


CHANGED_MEANWHILE = _l("This time record was changed since you opened the page.")


def _require_revision(time_record: TimeRecord, expected_revision: int | None) -> None:
    if expected_revision != time_record.revision:
        raise EditConflict(CHANGED_MEANWHILE, time_record)


def _flush(time_record: TimeRecord) -> None:
    """Write the change; a request that changed the record first makes this one a conflict."""
    try:
        db.session.flush()
    except StaleDataError as error:
        raise EditConflict(CHANGED_MEANWHILE, time_record) from error


# The consultant's own records --------------------------------------------------------------


def add_time(
    consultant: User,
    assignment: Assignment,
    *,
    worked_on: date,
    minutes: int,
    activity: TimeActivity,
    note: str | None = None,
    today: date | None = None,
) -> TimeRecord:
    """Record time spent on one of the consultant's accepted assignments; editors check it."""
    _check_assignment(consultant, assignment)
    _check_day(worked_on, today)
    _check_minutes(minutes)
    note = _check_text(note, MAX_NOTE, "note")
    _lock_days_of(consultant)
    time_record = TimeRecord(
        consultant_id=consultant.id,
        assignment=assignment,
        worked_on=worked_on,
        minutes=minutes,
        activity=TimeActivity(activity),
        note=note,
        status=TimeRecordStatus.SUBMITTED,
        submitted_at=utcnow(),
    )
    db.session.add(time_record)
    db.session.flush()
    _check_daily_total(consultant, time_record)
    record(
        consultant,
        "time_record.added",
        time_record,
        assignment_id=assignment.id,
        worked_on=worked_on.isoformat(),
        minutes=minutes,
        activity=time_record.activity.value,
    )
    return time_record


def change_time(
    consultant: User,
    time_record: TimeRecord,
    *,
    expected_revision: int | None,
    assignment: Assignment,
    worked_on: date,
    minutes: int,
    activity: TimeActivity,
    note: str | None = None,
    today: date | None = None,
) -> bool:
    """Change one's own record until it is approved; a record the editors asked about goes
    back to them. False when nothing changed (and nothing was waiting for an answer)."""
    if time_record.consultant_id != consultant.id:
        raise DomainError(_l("Only your own time records can be changed."))
    if time_record.is_locked:
        raise DomainError(_l("This time record is approved, so it can no longer be changed."))
    _require_revision(time_record, expected_revision)
    # What was accepted when the record was made stays acceptable: a record from 13 months ago
    # that the editors asked about can still be answered, and on an assignment since withdrawn.
    if assignment.id != time_record.assignment_id:
        _check_assignment(consultant, assignment)
    if worked_on != time_record.worked_on:
        _check_day(worked_on, today)
    _check_minutes(minutes)
    note = _check_text(note, MAX_NOTE, "note")
    activity = TimeActivity(activity)
    before = (time_record.assignment_id, time_record.worked_on, time_record.minutes)
    changed = before != (assignment.id, worked_on, minutes) or (
        (time_record.activity, time_record.note) != (activity, note)
    )
    answering = time_record.status is TimeRecordStatus.QUERIED
    if not changed and not answering:
        return False
    _lock_days_of(consultant)
    time_record.assignment = assignment
    time_record.worked_on = worked_on
    time_record.minutes = minutes
    time_record.activity = activity
    time_record.note = note
    if answering:
        time_record.status = TimeRecordStatus.SUBMITTED
        time_record.submitted_at = utcnow()
    _flush(time_record)
    _check_daily_total(consultant, time_record)
    record(
        consultant,
        "time_record.changed",
        time_record,
        assignment_id=assignment.id,
        worked_on=worked_on.isoformat(),
        minutes=minutes,
        activity=activity.value,
        resubmitted=answering,
        revision=time_record.revision,
    )
    return True


def delete_time(
    consultant: User, time_record: TimeRecord, *, expected_revision: int | None
) -> None:
    """Delete one's own record until it is approved; what was deleted stays in the audit trail."""
    if time_record.consultant_id != consultant.id:
        raise DomainError(_l("Only your own time records can be deleted."))
    if time_record.is_locked:
        raise DomainError(_l("This time record is approved, so it can no longer be deleted."))
    _require_revision(time_record, expected_revision)
    record_id = time_record.id
    details = {
        "assignment_id": time_record.assignment_id,
        "worked_on": time_record.worked_on.isoformat(),
        "minutes": time_record.minutes,
        "status": time_record.status.value,
    }
    db.session.delete(time_record)
    _flush(time_record)
    record(consultant, "time_record.deleted", ("time_records", record_id), **details)


# The editors' check ------------------------------------------------------------------------


def approve_time(editor: User, time_record: TimeRecord, *, expected_revision: int | None) -> bool:
    """Approve the record exactly as the editor saw it. False if it was approved already."""
    if not is_editorial(editor):
        raise DomainError(_l("Only editors and administrators can approve time."))
    if time_record.is_locked:
        return False  # a second click is told, not failed (R3)
    _require_revision(time_record, expected_revision)
    time_record.status = TimeRecordStatus.APPROVED
    time_record.approved_by_id = editor.id
    time_record.approved_at = utcnow()
    _flush(time_record)
    record(
        editor,
        "time_record.approved",
        time_record,
        consultant_id=time_record.consultant_id,
        minutes=time_record.minutes,
        revision=time_record.revision,
    )
    _tell_consultant(time_record, "approved")
    return True


def _tell_consultant(time_record: TimeRecord, answer: str) -> None:
    from portal.notifications.models import NotificationKind
    from portal.notifications.services import bilingual_title, notify, path_for

    notify(
        time_record.consultant,
        NotificationKind.TIME_ANSWERED,
        link=path_for("timesheets.my_time", year=time_record.worked_on.year)
        + f"#time-record-{time_record.id}",
        params={
            "title": bilingual_title(time_record.assignment.section),
            "date": time_record.worked_on.isoformat(),
            "answer": answer,
        },
    )


def query_time(
    editor: User, time_record: TimeRecord, *, expected_revision: int | None, question: str
) -> None:
    """Ask the consultant about a record; it waits for their change or answer."""
    if not is_editorial(editor):
        raise DomainError(_l("Only editors and administrators can ask about time records."))
    if time_record.is_locked:
        raise DomainError(_l("This time record is approved already; it cannot be queried."))
    _require_revision(time_record, expected_revision)
    question = _check_text(question, MAX_QUESTION, "question")
    if question is None:
        raise TimeRecordError(_l("Please write your question for the consultant."), "question")
    asked_before = time_record.status is TimeRecordStatus.QUERIED
    time_record.status = TimeRecordStatus.QUERIED
    time_record.question = question
    time_record.queried_by_id = editor.id
    time_record.queried_at = utcnow()
    _flush(time_record)
    # Whether a question was asked, never the question itself.
    record(
        editor,
        "time_record.queried",
        time_record,
        consultant_id=time_record.consultant_id,
        asked_again=asked_before,
        revision=time_record.revision,
    )
    _tell_consultant(time_record, "queried")


# Reading -----------------------------------------------------------------------------------


def recordable_assignments(consultant: User) -> list[Assignment]:
    """The consultant's assignments time can be recorded on, by report and section."""
    return list(
        db.session.scalars(
            select(Assignment)
            .join(Assignment.section)
            .join(Section.report)
            .where(
                Assignment.consultant_id == consultant.id,
                Assignment.state.in_(WORKING_STATES),
            )
            .options(joinedload(Assignment.section).joinedload(Section.report))
            .order_by(Report.year.desc(), Report.id, Section.position, Section.id)
        )
    )


def _with_context():
    return (
        joinedload(TimeRecord.assignment).joinedload(Assignment.section).joinedload(Section.report)
    )


@dataclass
class MonthOfRecords:
    month: date  # its first day
    records: list[TimeRecord] = field(default_factory=list)

    @property
    def total_minutes(self) -> int:
        return sum(r.minutes for r in self.records)

    @property
    def approved_minutes(self) -> int:
        return sum(r.minutes for r in self.records if r.is_locked)


def records_by_month(consultant: User, year: int) -> list[MonthOfRecords]:
    """The consultant's records of one year, by the month worked, newest first."""
    months: dict[date, MonthOfRecords] = {}
    for time_record in db.session.scalars(
        select(TimeRecord)
        .where(
            TimeRecord.consultant_id == consultant.id,
            TimeRecord.worked_on >= date(year, 1, 1),
            TimeRecord.worked_on < date(year + 1, 1, 1),
        )
        .options(_with_context())
        .order_by(TimeRecord.worked_on.desc(), TimeRecord.id.desc())
    ):
        month = time_record.worked_on.replace(day=1)
        months.setdefault(month, MonthOfRecords(month)).records.append(time_record)
    return list(months.values())


def years_of(consultant: User, today: date | None = None) -> list[int]:
    """The years the consultant has records in, and this year; newest first."""
    this_year = (today or utcnow().date()).year
    first, last = db.session.execute(
        select(func.min(TimeRecord.worked_on), func.max(TimeRecord.worked_on)).where(
            TimeRecord.consultant_id == consultant.id
        )
    ).one()
    start = min(first.year, this_year) if first else this_year
    end = max(last.year, this_year) if last else this_year
    return list(range(end, start - 1, -1))


def queried_records(consultant: User) -> list[TimeRecord]:
    """The consultant's records the editors asked about, oldest question first."""
    return list(
        db.session.scalars(
            select(TimeRecord)
            .where(
                TimeRecord.consultant_id == consultant.id,
                TimeRecord.status == TimeRecordStatus.QUERIED,
            )
            .options(_with_context())
            .order_by(TimeRecord.queried_at, TimeRecord.id)
        )
    )


REVIEW_FILTERS = ("submitted", "queried", "approved", "all")


def review_query(*, status: str = "submitted", consultant_id: int | None, report_id: int | None):
    """Records for the editors, filtered: those waiting first come oldest first."""
    stmt = (
        select(TimeRecord)
        .join(TimeRecord.assignment)
        .join(Assignment.section)
        .options(
            _with_context(),
            joinedload(TimeRecord.consultant),
            # Who approved or asked, shown on each row: loaded with the page, not row by row.
            selectinload(TimeRecord.approved_by),
            selectinload(TimeRecord.queried_by),
        )
    )
    if status in {s.value for s in TimeRecordStatus}:
        stmt = stmt.where(TimeRecord.status == TimeRecordStatus(status))
    if consultant_id:
        stmt = stmt.where(TimeRecord.consultant_id == consultant_id)
    if report_id:
        stmt = stmt.where(Section.report_id == report_id)
    if status == TimeRecordStatus.SUBMITTED.value:
        return stmt.order_by(TimeRecord.submitted_at, TimeRecord.id)
    return stmt.order_by(TimeRecord.worked_on.desc(), TimeRecord.id.desc())


def consultants_with_records() -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .where(User.id.in_(select(TimeRecord.consultant_id)))
            .order_by(func.lower(User.stored_display_name), User.id)
        )
    )


def consultants() -> list[User]:
    """Every consultant account, for choosing whose statement to show."""
    return list(
        db.session.scalars(
            select(User)
            .where(User.role == Role.CONSULTANT)
            .order_by(func.lower(User.stored_display_name), User.id)
        )
    )


# The monthly statement ---------------------------------------------------------------------


@dataclass
class StatementLine:
    assignment: Assignment
    records: list[TimeRecord] = field(default_factory=list)

    @property
    def minutes(self) -> int:
        return sum(r.minutes for r in self.records)


@dataclass
class Statement:
    consultant: User
    month: date  # its first day
    lines: list[StatementLine]

    @property
    def total_minutes(self) -> int:
        return sum(line.minutes for line in self.lines)

    @property
    def records(self) -> list[TimeRecord]:
        return sorted(
            (r for line in self.lines for r in line.records), key=lambda r: (r.worked_on, r.id)
        )


def next_month(month: date) -> date:
    return date(month.year + (month.month == 12), month.month % 12 + 1, 1)


def monthly_statement(consultant: User, month: date) -> Statement:
    """Time approved during the month (UTC), by assignment.

    By the month of approval, not of work: a statement for a month that has ended never changes
    afterwards, so time approved late is paid on the next statement rather than added to one
    that may have been paid already. Each record still shows the day it was worked.
    """
    start = datetime(month.year, month.month, 1, tzinfo=UTC)
    end_month = next_month(month)
    end = datetime(end_month.year, end_month.month, 1, tzinfo=UTC)
    lines: dict[int, StatementLine] = {}
    for time_record in db.session.scalars(
        select(TimeRecord)
        .where(
            TimeRecord.consultant_id == consultant.id,
            TimeRecord.status == TimeRecordStatus.APPROVED,
            TimeRecord.approved_at >= start,
            TimeRecord.approved_at < end,
        )
        .options(_with_context())
        .order_by(TimeRecord.worked_on, TimeRecord.id)
    ):
        line = lines.setdefault(time_record.assignment_id, StatementLine(time_record.assignment))
        line.records.append(time_record)
    ordered = sorted(
        lines.values(),
        key=lambda line: (
            -line.assignment.section.report.year,
            line.assignment.section.report_id,
            line.assignment.section.position,
            line.assignment.section_id,
        ),
    )
    return Statement(consultant=consultant, month=month.replace(day=1), lines=ordered)


def record_statement_export(actor: User, consultant: User, month: date) -> None:
    record(actor, "time_statement.exported", consultant, month=month.strftime("%Y-%m"))
