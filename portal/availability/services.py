"""Away periods: recording and removing them, and who is away when.

Writes flush, never commit; the view commits the change and its audit record together (R4). The
read functions are what reminders and the editors' pages rely on: `is_away` and `away_on` for one
day, `calendar` for a page that shows several consultants at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, select

from portal.accounts.models import Role, User
from portal.assignments.models import OPEN_STATES, Assignment
from portal.audit.services import record
from portal.availability.models import AwayPeriod
from portal.errors import DomainError
from portal.extensions import db
from portal.models import insert_unless_conflict, utcnow

# The longest period, counted in days with both ends included (a leap year's worth).
MAX_DAYS = 366


class AwayPeriodRefused(DomainError):
    """A period the rules refuse; `field` names the form field the message belongs to."""

    def __init__(self, message, field: str) -> None:
        super().__init__(message)
        self.field = field


def _today() -> date:
    return utcnow().date()


def _ids(users: Iterable[User] | Iterable[int]) -> set[int]:
    return {user if isinstance(user, int) else user.id for user in users}


# Reading -----------------------------------------------------------------------------------


def is_away(user: User, on: date) -> bool:
    """Whether the person is away on that day (first and last days included)."""
    return bool(
        db.session.scalar(
            select(
                exists().where(
                    AwayPeriod.consultant_id == user.id,
                    AwayPeriod.starts_on <= on,
                    AwayPeriod.ends_on >= on,
                )
            )
        )
    )


def away_on(users: Iterable[User] | Iterable[int], on: date) -> set[int]:
    """The ids, among these people, of those away on that day: one query whatever their number."""
    ids = _ids(users)
    if not ids:
        return set()
    return set(
        db.session.scalars(
            select(AwayPeriod.consultant_id)
            .where(
                AwayPeriod.consultant_id.in_(ids),
                AwayPeriod.starts_on <= on,
                AwayPeriod.ends_on >= on,
            )
            .distinct()
        )
    )


def periods_of(user: User, *, include_past: bool = False) -> list[AwayPeriod]:
    """The person's periods in date order: current and future ones, or all of them."""
    stmt = select(AwayPeriod).where(AwayPeriod.consultant_id == user.id)
    if not include_past:
        stmt = stmt.where(AwayPeriod.ends_on >= _today())
    return list(db.session.scalars(stmt.order_by(AwayPeriod.starts_on, AwayPeriod.id)))


def overlapping(user_id: int, start: date, end: date) -> list[AwayPeriod]:
    """The person's periods sharing at least one day with `start`..`end` (both included)."""
    return list(
        db.session.scalars(
            select(AwayPeriod)
            .where(
                AwayPeriod.consultant_id == user_id,
                AwayPeriod.starts_on <= end,
                AwayPeriod.ends_on >= start,
            )
            .order_by(AwayPeriod.starts_on, AwayPeriod.id)
        )
    )


def current_period(user: User, on: date | None = None) -> AwayPeriod | None:
    """The period the person is in on that day (today by default), if any."""
    day = on or _today()
    found = overlapping(user.id, day, day)
    return found[0] if found else None


@dataclass(frozen=True)
class AwayCalendar:
    """Some consultants' away periods from a given day on, read in one query, for editors' pages.

    Templates ask it about one consultant or one assignment; it never queries again.
    """

    today: date
    periods: dict[int, list[AwayPeriod]] = field(default_factory=dict)

    def period_on(self, user_id: int, day: date) -> AwayPeriod | None:
        return next((p for p in self.periods.get(user_id, ()) if p.covers(day)), None)

    def upcoming(self, user_id: int) -> list[AwayPeriod]:
        """Current and future periods, in date order."""
        return [p for p in self.periods.get(user_id, ()) if p.ends_on >= self.today]

    def away_until(self, user_id: int) -> date | None:
        """The last day of the absence the person is in today, if they are away today.

        A period that starts the day after another ends continues the same absence.
        """
        period = self.period_on(user_id, self.today)
        if period is None:
            return None
        last = period.ends_on
        for following in self.periods.get(user_id, ()):
            # Compared as ordinals: adding a day to 9999-12-31 would overflow.
            if following.starts_on.toordinal() == last.toordinal() + 1:
                last = following.ends_on
        return last

    def due_while_away(self, assignment: Assignment) -> AwayPeriod | None:
        """For open work only: the away period its due date falls in, if any."""
        if assignment.state not in OPEN_STATES:
            return None
        return self.period_on(assignment.consultant_id, assignment.due_on)


def calendar(
    users: Iterable[User] | Iterable[int],
    *,
    today: date | None = None,
    assignments: Iterable[Assignment] = (),
) -> AwayCalendar:
    """The periods of these people that are current, future, or hold one of these due dates."""
    today = today or _today()
    ids = _ids(users)
    since = min([today, *(a.due_on for a in assignments if a.state in OPEN_STATES)])
    by_consultant: dict[int, list[AwayPeriod]] = {}
    if ids:
        for period in db.session.scalars(
            select(AwayPeriod)
            .where(AwayPeriod.consultant_id.in_(ids), AwayPeriod.ends_on >= since)
            .order_by(AwayPeriod.consultant_id, AwayPeriod.starts_on, AwayPeriod.id)
        ):
            by_consultant.setdefault(period.consultant_id, []).append(period)
    return AwayCalendar(today=today, periods=by_consultant)


def away_labels(
    users: Iterable[User], *, today: date | None = None, away: AwayCalendar | None = None
) -> dict[int, str]:
    """For the editors' choice of a consultant: "Away March 3-17" for those with a current or
    coming period, in the reader's language (from `away` when the caller has read it already)."""
    users = list(users)
    if away is None:
        away = calendar(users, today=today)
    labels = {}
    for user in users:
        periods = away.upcoming(user.id)
        if periods:
            dates = "; ".join(period.dates for period in periods[:3])
            if len(periods) > 3:
                dates += "; …"
            labels[user.id] = str(_l("Away %(dates)s", dates=dates))
    return labels


# Changing ----------------------------------------------------------------------------------


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def add_period(user: User, *, starts_on: date, ends_on: date, note: str | None) -> AwayPeriod:
    """Record that the person will be away from `starts_on` to `ends_on`, both days included."""
    if user.role is not Role.CONSULTANT:
        raise AwayPeriodRefused(_l("Only consultants record time away."), "starts_on")
    if ends_on < starts_on:
        raise AwayPeriodRefused(_l("The last day cannot be before the first day."), "ends_on")
    # Subtracting, not adding, so far-off dates such as 9999-12-31 cannot overflow.
    if (ends_on - starts_on).days + 1 > MAX_DAYS:
        raise AwayPeriodRefused(
            _l("A period can be at most one year long. You can add another one after it."),
            "ends_on",
        )
    if ends_on < _today():
        raise AwayPeriodRefused(
            _l("These days are already past. Please choose a last day from today on."),
            "ends_on",
        )
    clash = overlapping(user.id, starts_on, ends_on)
    if clash:
        raise AwayPeriodRefused(
            _l(
                "You have already recorded time away on some of these days (%(dates)s). To "
                "change it, remove that period, then add the new dates.",
                dates=clash[0].dates,
            ),
            "starts_on",
        )
    note = _clean(note)
    new_id = insert_unless_conflict(
        db.session,
        AwayPeriod,
        {
            "consultant_id": user.id,
            "starts_on": starts_on,
            "ends_on": ends_on,
            "note": note,
            "created_at": utcnow(),
        },
        ["consultant_id", "starts_on"],
    )
    if new_id is None:  # the same form sent twice at once: the first one made the period
        raise AwayPeriodRefused(_l("This time away is already recorded."), "starts_on")
    period = db.session.get(AwayPeriod, new_id)
    # The dates and whether a note was given, never the note itself.
    record(
        user,
        "availability.added",
        period,
        starts_on=starts_on.isoformat(),
        ends_on=ends_on.isoformat(),
        with_note=note is not None,
    )
    return period


def remove_period(user: User, period: AwayPeriod) -> None:
    """Remove one of the person's own periods."""
    if not period.belongs_to(user):
        raise DomainError(_l("Only the person who recorded time away can remove it."))
    record(
        user,
        "availability.removed",
        period,
        starts_on=period.starts_on.isoformat(),
        ends_on=period.ends_on.isoformat(),
    )
    db.session.delete(period)
    db.session.flush()
