"""Availability services against the database (SQLite, and PostgreSQL when set).

The rules of a period (order, length, not already past, no overlap, consultants only), first and
last days counted as away, `away_on` in one query, the calendar editors' pages read, labels in
both languages, removal of one's own periods only, and an audit event for each change.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from flask_babel import force_locale
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError

from portal.accounts.models import User
from portal.assignments import services as assignments
from portal.assignments.models import Assignment, AssignmentState
from portal.audit.models import AuditEvent
from portal.availability import services
from portal.availability.models import AwayPeriod
from portal.errors import DomainError
from portal.extensions import db
from portal.models import utcnow
from portal.reports import services as reports


def day(offset: int) -> date:
    return utcnow().date() + timedelta(days=offset)


@pytest.fixture
def ctx(app, editor, consultant, consultant2):
    with app.test_request_context():
        people = SimpleNamespace(
            editor=db.session.get(User, editor),
            amara=db.session.get(User, consultant),
            river=db.session.get(User, consultant2),
        )
        yield people
        db.session.rollback()


def add(user, start: int, end: int, note: str | None = None) -> AwayPeriod:
    period = services.add_period(user, starts_on=day(start), ends_on=day(end), note=note)
    db.session.commit()
    return period


def events(action: str) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
        )
    )


def count_periods() -> int:
    return db.session.scalar(select(func.count()).select_from(AwayPeriod))


class QueryCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    def __enter__(self):
        event.listen(db.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc) -> None:
        event.remove(db.engine, "before_cursor_execute", self._count)

    def _count(self, conn, cursor, statement, parameters, context, executemany) -> None:
        self.statements.append(statement)


# Adding ------------------------------------------------------------------------------------


def test_a_period_is_recorded_with_its_note_and_audited(ctx):
    period = add(ctx.amara, 3, 17, note="  Please write to River meanwhile.  ")
    assert (period.consultant_id, period.starts_on, period.ends_on) == (
        ctx.amara.id,
        day(3),
        day(17),
    )
    assert period.note == "Please write to River meanwhile."
    assert period.created_at.tzinfo is not None
    (added,) = events("availability.added")
    assert added.actor_id == ctx.amara.id
    assert (added.object_type, added.object_id) == ("away_periods", str(period.id))
    detail = json.loads(added.detail)
    assert detail == {
        "starts_on": day(3).isoformat(),
        "ends_on": day(17).isoformat(),
        "with_note": True,
    }
    assert "River" not in added.detail  # the note stays out of the trail


def test_an_empty_note_is_no_note(ctx):
    assert add(ctx.amara, 0, 0, note="   ").note is None
    assert json.loads(events("availability.added")[0].detail)["with_note"] is False


@pytest.mark.parametrize(
    ("start", "end"),
    [(0, 0), (-5, 0), (-30, 2), (1, 366)],  # one day; ending today; begun already; 366 days
)
def test_periods_that_are_accepted(ctx, start, end):
    period = add(ctx.amara, start, end)
    assert (period.starts_on, period.ends_on) == (day(start), day(end))


@pytest.mark.parametrize(
    ("start", "end", "field", "message"),
    [
        (5, 4, "ends_on", "The last day cannot be before the first day."),
        (1, 367, "ends_on", "A period can be at most one year long."),
        (-10, -1, "ends_on", "These days are already past."),
    ],
)
def test_periods_that_are_refused_write_nothing(ctx, start, end, field, message):
    with pytest.raises(services.AwayPeriodRefused) as refused:
        services.add_period(ctx.amara, starts_on=day(start), ends_on=day(end), note=None)
    db.session.rollback()
    assert refused.value.field == field
    assert message in refused.value.message
    assert count_periods() == 0
    assert events("availability.added") == []


def test_far_off_dates_are_refused_without_a_server_error(ctx):
    with pytest.raises(services.AwayPeriodRefused):
        services.add_period(ctx.amara, starts_on=date.min, ends_on=date.max, note=None)
    db.session.rollback()
    last = services.add_period(ctx.amara, starts_on=date(9999, 12, 30), ends_on=date.max, note=None)
    db.session.commit()
    away = services.calendar([ctx.amara], today=date.max)
    assert away.away_until(ctx.amara.id) == date.max
    assert last.dates  # formats without overflowing


@pytest.mark.parametrize(("start", "end"), [(5, 12), (1, 5), (12, 20), (7, 8), (0, 30)])
def test_overlapping_periods_are_refused_with_the_dates_already_recorded(ctx, start, end):
    existing = add(ctx.amara, 5, 12)
    with pytest.raises(services.AwayPeriodRefused) as refused:
        services.add_period(ctx.amara, starts_on=day(start), ends_on=day(end), note=None)
    db.session.rollback()
    assert refused.value.field == "starts_on"
    assert existing.dates in refused.value.message
    assert count_periods() == 1


def test_adjacent_periods_and_other_peoples_periods_do_not_clash(ctx):
    add(ctx.amara, 5, 12)
    add(ctx.amara, 13, 20)
    add(ctx.amara, 1, 4)
    add(ctx.river, 5, 12)
    assert count_periods() == 4


def test_a_double_submission_makes_one_period_and_is_told(ctx, monkeypatch):
    add(ctx.amara, 5, 12)
    # Two requests that both passed the overlap check: the unique pair decides (R3).
    monkeypatch.setattr(services, "overlapping", lambda *args: [])
    with pytest.raises(services.AwayPeriodRefused) as refused:
        services.add_period(ctx.amara, starts_on=day(5), ends_on=day(12), note=None)
    db.session.rollback()
    assert "already recorded" in refused.value.message
    assert count_periods() == 1
    assert len(events("availability.added")) == 1


def test_only_consultants_record_time_away(ctx):
    with pytest.raises(DomainError):
        services.add_period(ctx.editor, starts_on=day(1), ends_on=day(2), note=None)
    db.session.rollback()
    assert count_periods() == 0


def test_the_database_refuses_a_period_ending_before_it_starts(ctx):
    db.session.add(AwayPeriod(consultant_id=ctx.amara.id, starts_on=day(5), ends_on=day(4)))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


# Who is away when ---------------------------------------------------------------------------


def test_is_away_counts_the_first_and_last_days(ctx):
    add(ctx.amara, 3, 7)
    expected = {2: False, 3: True, 5: True, 7: True, 8: False}
    assert {n: services.is_away(ctx.amara, day(n)) for n in expected} == expected
    assert not services.is_away(ctx.river, day(5))


def test_away_on_takes_people_or_ids_and_asks_once(ctx, make_user):
    add(ctx.amara, 3, 7)
    add(ctx.river, 7, 9)
    add(ctx.river, 10, 12)
    people = [ctx.amara, ctx.river]
    ids = [ctx.amara.id, ctx.river.id]
    with QueryCounter() as queries:
        assert services.away_on(people, day(2)) == set()
        assert services.away_on(people, day(3)) == {ctx.amara.id}
        assert services.away_on(ids, day(7)) == {ctx.amara.id, ctx.river.id}
        assert services.away_on(iter(ids), day(8)) == {ctx.river.id}
        assert services.away_on([ctx.amara.id], day(8)) == set()
        assert services.away_on(ids, day(13)) == set()
    assert len(queries.statements) == 6
    with QueryCounter() as queries:
        assert services.away_on([], day(3)) == set()
    assert queries.statements == []


def test_periods_of_lists_current_and_coming_ones_unless_asked_for_all(ctx):
    past = AwayPeriod(consultant_id=ctx.amara.id, starts_on=day(-20), ends_on=day(-10))
    db.session.add(past)
    db.session.commit()
    later = add(ctx.amara, 30, 40)
    current = add(ctx.amara, -2, 2)
    add(ctx.river, 1, 2)
    assert services.periods_of(ctx.amara) == [current, later]
    assert services.periods_of(ctx.amara, include_past=True) == [past, current, later]


def test_overlapping_includes_periods_touching_either_end(ctx):
    period = add(ctx.amara, 5, 10)
    assert services.overlapping(ctx.amara.id, day(10), day(15)) == [period]
    assert services.overlapping(ctx.amara.id, day(1), day(5)) == [period]
    assert services.overlapping(ctx.amara.id, day(7), day(7)) == [period]
    assert services.overlapping(ctx.amara.id, day(11), day(15)) == []
    assert services.overlapping(ctx.amara.id, day(1), day(4)) == []
    assert services.overlapping(ctx.river.id, day(1), day(15)) == []


def test_current_period(ctx):
    period = add(ctx.amara, -1, 1)
    assert services.current_period(ctx.amara) == period
    assert services.current_period(ctx.amara, day(2)) is None
    assert services.current_period(ctx.river) is None


# The editors' calendar ----------------------------------------------------------------------


@pytest.fixture
def section(ctx):
    report = reports.create_report(ctx.editor, title_en="2027 Report", year=2027)
    section = reports.create_section(ctx.editor, report, title_en="Intro")
    db.session.commit()
    return section


def assignment_due(ctx, section, consultant, due: int, state=AssignmentState.OFFERED):
    assignment = assignments.assign_section(
        ctx.editor, section, consultant, due_on=day(due), today=day(min(due, 0))
    )
    assignment.state = state
    db.session.commit()
    return assignment


def test_away_until_follows_back_to_back_periods(ctx):
    add(ctx.amara, -3, 2)
    add(ctx.amara, 3, 9)
    add(ctx.amara, 11, 15)  # a day back in between: a separate absence
    add(ctx.river, 4, 6)
    away = services.calendar([ctx.amara, ctx.river])
    assert away.away_until(ctx.amara.id) == day(9)
    assert away.away_until(ctx.river.id) is None  # not away today
    assert [p.starts_on for p in away.upcoming(ctx.amara.id)] == [day(-3), day(3), day(11)]
    assert services.calendar([ctx.amara], today=day(11)).away_until(ctx.amara.id) == day(15)


def test_due_while_away_flags_open_work_only(ctx, section, make_user):
    add(ctx.amara, 10, 20)
    offered = assignment_due(ctx, section, ctx.amara, 20)
    other = reports.create_section(ctx.editor, section.report, title_en="Other")
    done = assignment_due(ctx, other, ctx.amara, 10, AssignmentState.SUBMITTED)
    outside = assignment_due(ctx, section, ctx.river, 15)
    away = services.calendar([ctx.amara, ctx.river], assignments=[offered, done, outside])
    assert away.due_while_away(offered).starts_on == day(10)
    assert away.due_while_away(done) is None
    assert away.due_while_away(outside) is None


def test_overdue_work_is_flagged_when_its_due_date_fell_while_away(ctx, section):
    past = AwayPeriod(consultant_id=ctx.amara.id, starts_on=day(-10), ends_on=day(-5))
    db.session.add(past)
    db.session.commit()
    overdue = assignment_due(ctx, section, ctx.amara, -7, AssignmentState.ACCEPTED)
    assert services.calendar([ctx.amara]).due_while_away(overdue) is None  # not loaded
    away = services.calendar([ctx.amara], assignments=[overdue])
    assert away.due_while_away(overdue) == past
    assert away.away_until(ctx.amara.id) is None
    assert away.upcoming(ctx.amara.id) == []


def test_the_calendar_reads_everyone_in_one_query(ctx, section):
    for offset, person in enumerate([ctx.amara, ctx.river]):
        add(person, offset, offset + 3)
    amara, river = ctx.amara.id, ctx.river.id  # read before counting: the commit expired them
    with QueryCounter() as queries:
        away = services.calendar([amara, river], assignments=[])
        assert away.away_until(amara) == day(3)
        assert [p.starts_on for p in away.upcoming(river)] == [day(1)]
    assert len(queries.statements) == 1
    with QueryCounter() as queries:
        assert services.calendar([]).periods == {}
    assert queries.statements == []


def test_dates_and_labels_in_both_languages(app, ctx):
    period = AwayPeriod(
        consultant_id=ctx.amara.id, starts_on=date(2031, 3, 3), ends_on=date(2031, 3, 17)
    )
    with force_locale("en"):
        assert period.dates == "Mar 3\u2009\u2013\u200917, 2031"
    with force_locale("fr"):
        assert period.dates == "3\u201317 mars 2031"
    this_year = utcnow().year
    period.starts_on, period.ends_on = date(this_year, 3, 3), date(this_year, 3, 17)
    with force_locale("en"):
        assert period.dates == "March 3\u2009\u2013\u200917"  # the year goes without saying
    with force_locale("fr"):
        assert period.dates == "3\u2009\u2013\u200917 mars"


def test_away_labels_name_current_and_coming_periods(app, ctx, make_user):
    add(ctx.amara, -1, 2)
    add(ctx.amara, 10, 12)
    past = AwayPeriod(consultant_id=ctx.river.id, starts_on=day(-9), ends_on=day(-2))
    db.session.add(past)
    db.session.commit()
    labels = services.away_labels([ctx.amara, ctx.river])
    assert set(labels) == {ctx.amara.id}
    periods = services.periods_of(ctx.amara)
    assert labels[ctx.amara.id] == f"Away {periods[0].dates}; {periods[1].dates}"


def test_away_labels_shorten_a_long_list(ctx):
    for n in range(5):
        add(ctx.amara, 3 * n, 3 * n + 1)
    label = services.away_labels([ctx.amara])[ctx.amara.id]
    assert label.count(";") == 3 and label.endswith("; …")


# Removing ----------------------------------------------------------------------------------


def test_a_consultant_removes_their_own_period_audited(ctx):
    period = add(ctx.amara, 3, 7)
    period_id = period.id
    services.remove_period(ctx.amara, period)
    db.session.commit()
    assert db.session.get(AwayPeriod, period_id) is None
    (removed,) = events("availability.removed")
    assert (removed.actor_id, removed.object_id) == (ctx.amara.id, str(period_id))
    assert json.loads(removed.detail) == {
        "starts_on": day(3).isoformat(),
        "ends_on": day(7).isoformat(),
    }


def test_nobody_removes_another_persons_period(ctx):
    period = add(ctx.amara, 3, 7)
    for person in (ctx.river, ctx.editor):
        with pytest.raises(DomainError):
            services.remove_period(person, period)
        db.session.rollback()
    assert count_periods() == 1
    assert events("availability.removed") == []


def test_being_away_never_stops_an_offer(ctx, section):
    # Being away never stops an offer: the editor decides (issue 7).
    add(ctx.amara, 0, 10)
    assignment = assignment_due(ctx, section, ctx.amara, 5)
    assert db.session.get(Assignment, assignment.id).state is AssignmentState.OFFERED
