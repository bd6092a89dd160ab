"""Time record rules without a browser: limits, the daily 24 hours, dates, whose assignments,
the approve / query / resubmit cycle, locking, lost updates, statements and the audit trail."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import exc, insert, select

from portal.assignments import services as assignments
from portal.audit.models import AuditEvent
from portal.errors import DomainError
from portal.extensions import db
from portal.reports.services import EditConflict
from portal.timesheets import services
from portal.timesheets.models import TimeActivity, TimeRecord, TimeRecordStatus, format_duration
from tests.timesheets import (
    NOTE,
    QUESTION,
    add,
    days_ago,
    people,
    today,
    world,  # noqa: F401  (fixture)
)

ERROR = services.TimeRecordError


@pytest.fixture
def ctx(app, world):  # noqa: F811
    with app.test_request_context():
        yield people(world)
        db.session.rollback()


def reload(obj):
    db.session.expire_all()
    return db.session.get(type(obj), obj.id)


def details(action: str) -> list[dict]:
    return [
        json.loads(e.detail)
        for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
        )
    ]


# Recording ---------------------------------------------------------------------------------


def test_a_record_is_submitted_with_its_details_and_audited_without_its_note(ctx):
    added = add(ctx.amara, ctx.a_intro, 95, activity=TimeActivity.PHOTO_REVIEW, note=f"  {NOTE} ")
    added = reload(added)
    assert (added.consultant_id, added.assignment_id) == (ctx.amara.id, ctx.a_intro.id)
    assert (added.minutes, added.activity, added.note) == (95, TimeActivity.PHOTO_REVIEW, NOTE)
    assert added.status is TimeRecordStatus.SUBMITTED
    assert added.revision == 1
    assert added.duration == "1 h 35 min"
    assert details("time_record.added") == [
        {
            "activity": "photo_review",
            "assignment_id": ctx.a_intro.id,
            "minutes": 95,
            "worked_on": today().isoformat(),
        }
    ]


@pytest.mark.parametrize("minutes", [0, -5, 1441, 10_000])
def test_a_record_is_between_one_minute_and_24_hours(ctx, minutes):
    with pytest.raises(ERROR) as refused:
        add(ctx.amara, ctx.a_intro, minutes)
    assert refused.value.field == "hours"
    db.session.rollback()
    assert db.session.scalar(select(TimeRecord.id)) is None


@pytest.mark.parametrize("minutes", [1, 1440])
def test_the_limits_themselves_are_accepted(ctx, minutes):
    assert add(ctx.amara, ctx.a_intro, minutes).minutes == minutes


def test_a_day_holds_24_hours_at_most_across_records_and_assignments(ctx):
    day = days_ago(3)
    add(ctx.amara, ctx.a_intro, 1000, worked_on=day)
    add(ctx.amara, ctx.a_photos, 440, worked_on=day)  # exactly 24 h
    with pytest.raises(ERROR) as refused:
        add(ctx.amara, ctx.a_photos, 1, worked_on=day)
    assert refused.value.field == "hours"
    assert "more than 24 hours" in refused.value.message
    assert "24 h" in refused.value.message  # what is recorded already
    db.session.rollback()
    # Another day, and another consultant on the same day, are not affected.
    add(ctx.amara, ctx.a_intro, 60, worked_on=day - timedelta(days=1))
    add(ctx.river, ctx.a_river, 600, worked_on=day)


def test_a_change_cannot_overfill_a_day_either(ctx):
    full_day, other_day = days_ago(2), days_ago(1)
    add(ctx.amara, ctx.a_intro, 1380, worked_on=full_day)
    record = add(ctx.amara, ctx.a_photos, 60, worked_on=full_day)
    moving = add(ctx.amara, ctx.a_photos, 120, worked_on=other_day)
    with pytest.raises(ERROR):
        services.change_time(
            ctx.amara,
            record,
            expected_revision=1,
            assignment=ctx.a_photos,
            worked_on=full_day,
            minutes=61,
            activity=TimeActivity.MEETING,
        )
    db.session.rollback()
    with pytest.raises(ERROR):
        services.change_time(
            ctx.amara,
            reload(moving),
            expected_revision=1,
            assignment=ctx.a_photos,
            worked_on=full_day,
            minutes=120,
            activity=TimeActivity.READING,
        )
    db.session.rollback()
    assert reload(moving).worked_on == other_day
    assert reload(record).minutes == 60


def test_dates_are_from_a_year_ago_up_to_today(ctx):
    fixed = date(2026, 6, 15)
    for worked_on in (date(2025, 6, 15), fixed, fixed + timedelta(days=1)):
        add(ctx.amara, ctx.a_intro, 30, worked_on=worked_on, today=fixed)
    for worked_on, words in ((date(2025, 6, 14), "past year"), (date(2026, 6, 17), "future")):
        with pytest.raises(ERROR) as refused:
            add(ctx.amara, ctx.a_intro, 30, worked_on=worked_on, today=fixed)
        assert refused.value.field == "worked_on"
        assert words in refused.value.message
        db.session.rollback()


def test_the_allowed_days_allow_for_time_zones_and_leap_days():
    assert services.allowed_days(date(2026, 6, 15)) == (date(2025, 6, 15), date(2026, 6, 16))
    assert services.allowed_days(date(2028, 2, 29)) == (date(2027, 2, 28), date(2028, 3, 1))


def test_time_is_recorded_on_ones_own_accepted_assignments_only(ctx):
    for consultant, assignment in (
        (ctx.amara, ctx.a_river),  # someone else's
        (ctx.amara, ctx.a_offered),  # offered, not accepted
        (ctx.editor, ctx.a_intro),  # editors do not record time
        (ctx.river, ctx.a_intro),
    ):
        with pytest.raises(ERROR) as refused:
            add(consultant, assignment)
        assert refused.value.field == "assignment"
        db.session.rollback()
    assert db.session.scalar(select(TimeRecord.id)) is None


def test_time_stays_recordable_once_the_review_is_submitted_but_not_after_a_decline(ctx):
    assignments.start_review(ctx.amara, ctx.a_intro)
    add(ctx.amara, ctx.a_intro)
    assignments.submit_review(ctx.amara, ctx.a_intro)
    add(ctx.amara, ctx.a_intro)
    assignments.decline(ctx.amara, ctx.a_photos)
    db.session.commit()
    with pytest.raises(ERROR):
        add(ctx.amara, ctx.a_photos)
    db.session.rollback()
    assert [a.id for a in services.recordable_assignments(ctx.amara)] == [ctx.a_intro.id]


def test_notes_have_a_length_limit_and_blank_notes_are_none(ctx):
    assert add(ctx.amara, ctx.a_intro, note="   ").note is None
    add(ctx.amara, ctx.a_intro, note="x" * 1000)
    with pytest.raises(ERROR) as refused:
        add(ctx.amara, ctx.a_intro, note="x" * 1001)
    assert refused.value.field == "note"


# The editors' check and the consultant's answer --------------------------------------------


def test_query_answer_approve_cycle_and_its_audit_trail(ctx):
    record = add(ctx.amara, ctx.a_intro, 90, note=NOTE)
    first_submitted = record.submitted_at
    services.query_time(ctx.editor, record, expected_revision=1, question=QUESTION)
    db.session.commit()
    record = reload(record)
    assert record.status is TimeRecordStatus.QUERIED
    assert (record.question, record.queried_by_id, record.revision) == (QUESTION, ctx.editor.id, 2)

    changed = services.change_time(
        ctx.amara,
        record,
        expected_revision=2,
        assignment=ctx.a_intro,
        worked_on=record.worked_on,
        minutes=90,
        activity=TimeActivity.MEETING,
        note="It was the 4th.",
    )
    db.session.commit()
    record = reload(record)
    assert changed
    assert record.status is TimeRecordStatus.SUBMITTED
    assert record.question == QUESTION  # kept, so both can see what was asked
    assert record.submitted_at > first_submitted

    assert services.approve_time(ctx.editor, record, expected_revision=3)
    db.session.commit()
    record = reload(record)
    assert record.status is TimeRecordStatus.APPROVED
    assert record.approved_by_id == ctx.editor.id
    assert record.approved_at is not None
    # A second approval is told, not failed.
    assert services.approve_time(ctx.editor, record, expected_revision=3) is False

    actions = [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq))]
    assert actions[-4:] == [
        "time_record.added",
        "time_record.queried",
        "time_record.changed",
        "time_record.approved",
    ]
    assert details("time_record.changed")[0]["resubmitted"] is True
    everything = " ".join(e.detail for e in db.session.scalars(select(AuditEvent)))
    assert NOTE not in everything
    assert QUESTION not in everything
    assert "4th" not in everything


def test_an_approved_record_is_locked(ctx):
    record = add(ctx.amara, ctx.a_intro)
    services.approve_time(ctx.editor, record, expected_revision=1)
    db.session.commit()
    record = reload(record)
    with pytest.raises(DomainError, match="approved"):
        services.change_time(
            ctx.amara,
            record,
            expected_revision=record.revision,
            assignment=ctx.a_intro,
            worked_on=record.worked_on,
            minutes=5,
            activity=TimeActivity.READING,
        )
    with pytest.raises(DomainError, match="approved"):
        services.delete_time(ctx.amara, record, expected_revision=record.revision)
    with pytest.raises(DomainError, match="approved"):
        services.query_time(
            ctx.editor, record, expected_revision=record.revision, question=QUESTION
        )
    db.session.rollback()
    record = reload(record)
    assert (record.minutes, record.status) == (90, TimeRecordStatus.APPROVED)
    assert not record.can_change(ctx.amara)
    assert not record.can_judge(ctx.editor)


def test_only_editors_judge_and_only_the_owner_changes(ctx):
    record = add(ctx.amara, ctx.a_intro)
    with pytest.raises(DomainError):
        services.approve_time(ctx.amara, record, expected_revision=1)
    with pytest.raises(DomainError):
        services.query_time(ctx.river, record, expected_revision=1, question=QUESTION)
    with pytest.raises(DomainError):
        services.delete_time(ctx.river, record, expected_revision=1)
    with pytest.raises(DomainError):
        services.change_time(
            ctx.river,
            record,
            expected_revision=1,
            assignment=ctx.a_river,
            worked_on=record.worked_on,
            minutes=5,
            activity=TimeActivity.READING,
        )
    db.session.rollback()
    assert reload(record).status is TimeRecordStatus.SUBMITTED
    assert record.can_change(ctx.amara) and not record.can_change(ctx.river)
    assert record.can_judge(ctx.editor) and record.can_judge(ctx.admin)
    assert not record.can_judge(ctx.amara)


def test_a_question_needs_words(ctx):
    record = add(ctx.amara, ctx.a_intro)
    with pytest.raises(ERROR) as refused:
        services.query_time(ctx.editor, record, expected_revision=1, question="   ")
    assert refused.value.field == "question"


def test_saving_an_unchanged_record_changes_nothing(ctx):
    record = add(ctx.amara, ctx.a_intro, 45, note=NOTE)
    assert not services.change_time(
        ctx.amara,
        record,
        expected_revision=1,
        assignment=ctx.a_intro,
        worked_on=record.worked_on,
        minutes=45,
        activity=TimeActivity.READING,
        note=NOTE,
    )
    db.session.commit()
    assert reload(record).revision == 1
    assert details("time_record.changed") == []


def test_an_old_record_can_be_answered_on_a_withdrawn_assignment(ctx):
    """What was accepted when the record was made stays acceptable when it is answered."""
    old_day = days_ago(300)
    record = add(ctx.amara, ctx.a_photos, 60, worked_on=old_day)
    services.query_time(ctx.editor, record, expected_revision=1, question=QUESTION)
    assignments.withdraw(ctx.editor, ctx.a_photos)
    db.session.commit()
    later = today() + timedelta(days=100)  # the record is now more than a year old
    services.change_time(
        ctx.amara,
        reload(record),
        expected_revision=2,
        assignment=ctx.a_photos,
        worked_on=old_day,
        minutes=45,
        activity=TimeActivity.READING,
        today=later,
    )
    db.session.commit()
    assert reload(record).status is TimeRecordStatus.SUBMITTED


def test_a_consultant_deletes_their_unapproved_record_and_the_trail_remembers(ctx):
    record = add(ctx.amara, ctx.a_intro, 30)
    record_id = record.id
    services.delete_time(ctx.amara, record, expected_revision=1)
    db.session.commit()
    assert db.session.get(TimeRecord, record_id) is None
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "time_record.deleted"))
    assert (event.object_type, event.object_id) == ("time_records", str(record_id))
    assert json.loads(event.detail)["minutes"] == 30


# Lost updates ------------------------------------------------------------------------------


def test_a_form_from_an_older_revision_is_a_conflict(ctx):
    record = add(ctx.amara, ctx.a_intro, 30)
    services.change_time(
        ctx.amara,
        record,
        expected_revision=1,
        assignment=ctx.a_intro,
        worked_on=record.worked_on,
        minutes=40,
        activity=TimeActivity.READING,
    )
    db.session.commit()
    for attempt in (
        lambda r: services.change_time(
            ctx.amara,
            r,
            expected_revision=1,
            assignment=ctx.a_intro,
            worked_on=r.worked_on,
            minutes=50,
            activity=TimeActivity.READING,
        ),
        lambda r: services.delete_time(ctx.amara, r, expected_revision=1),
        # The editor approves exactly what they saw.
        lambda r: services.approve_time(ctx.editor, r, expected_revision=1),
        lambda r: services.query_time(ctx.editor, r, expected_revision=None, question="?"),
    ):
        with pytest.raises(EditConflict):
            attempt(reload(record))
        db.session.rollback()
    record = reload(record)
    assert (record.minutes, record.status, record.revision) == (40, TimeRecordStatus.SUBMITTED, 2)


def test_two_requests_past_the_revision_check_do_not_both_win(app, ctx):
    """The version counter makes the UPDATE itself conditional on the revision read."""
    record = add(ctx.amara, ctx.a_intro, 30)
    stale = reload(record)  # this request read revision 1...
    with app.app_context():  # ...another request saves first, in its own session
        other = db.session.get(TimeRecord, record.id)
        services.approve_time(
            db.session.get(type(ctx.editor), ctx.editor.id), other, expected_revision=1
        )
        db.session.commit()
    with pytest.raises(EditConflict):
        services.change_time(
            ctx.amara,
            stale,
            expected_revision=1,
            assignment=ctx.a_intro,
            worked_on=stale.worked_on,
            minutes=600,
            activity=TimeActivity.READING,
        )
    db.session.rollback()
    record = reload(record)
    assert (record.minutes, record.status) == (30, TimeRecordStatus.APPROVED)


# Reading -----------------------------------------------------------------------------------


def approve_in(ctx, record, when: datetime):
    services.approve_time(ctx.editor, record, expected_revision=record.revision)
    record.approved_at = when  # as if approved then
    db.session.commit()


def test_the_statement_lists_time_approved_in_the_month_by_assignment(ctx):
    may = datetime(2026, 5, 10, 12, tzinfo=UTC)
    approve_in(ctx, add(ctx.amara, ctx.a_intro, 90, worked_on=days_ago(5)), may)
    approve_in(ctx, add(ctx.amara, ctx.a_intro, 30, worked_on=days_ago(4)), may)
    approve_in(ctx, add(ctx.amara, ctx.a_photos, 45, worked_on=days_ago(3)), may)
    # Approved on the last instant of April and the first of June: other statements.
    approve_in(
        ctx,
        add(ctx.amara, ctx.a_photos, 600, worked_on=days_ago(6)),
        datetime(2026, 4, 30, 23, 59, 59, tzinfo=UTC),
    )
    approve_in(
        ctx,
        add(ctx.amara, ctx.a_photos, 700, worked_on=days_ago(7)),
        datetime(2026, 6, 1, tzinfo=UTC),
    )
    add(ctx.amara, ctx.a_intro, 300, worked_on=days_ago(8))  # waiting: not on any statement
    queried = add(ctx.amara, ctx.a_intro, 200, worked_on=days_ago(9))
    services.query_time(ctx.editor, queried, expected_revision=1, question=QUESTION)
    approve_in(ctx, add(ctx.river, ctx.a_river, 240), may)  # someone else's

    statement = services.monthly_statement(ctx.amara, date(2026, 5, 1))
    assert [(line.assignment.id, line.minutes, len(line.records)) for line in statement.lines] == [
        (ctx.a_intro.id, 120, 2),
        (ctx.a_photos.id, 45, 1),
    ]
    assert statement.total_minutes == 165
    assert [r.worked_on for r in statement.records] == sorted(
        r.worked_on for r in statement.records
    )
    assert services.monthly_statement(ctx.amara, date(2026, 4, 1)).total_minutes == 600
    assert services.monthly_statement(ctx.amara, date(2026, 6, 1)).total_minutes == 700
    assert services.monthly_statement(ctx.river, date(2026, 5, 1)).total_minutes == 240
    assert services.monthly_statement(ctx.amara, date(2026, 7, 1)).lines == []


def test_records_are_grouped_by_the_month_worked(ctx):
    fixed = date(2026, 6, 15)
    for worked_on in (date(2026, 6, 2), date(2026, 5, 30), date(2026, 6, 14), date(2025, 12, 1)):
        add(ctx.amara, ctx.a_intro, 60, worked_on=worked_on, today=fixed)
    months = services.records_by_month(ctx.amara, 2026)
    assert [(m.month, [r.worked_on.day for r in m.records]) for m in months] == [
        (date(2026, 6, 1), [14, 2]),
        (date(2026, 5, 1), [30]),
    ]
    assert months[0].total_minutes == 120
    assert months[0].approved_minutes == 0
    assert services.years_of(ctx.amara, fixed) == [2026, 2025]
    assert services.years_of(ctx.river, fixed) == [2026]


def test_the_review_list_filters_by_status_consultant_and_report(ctx):
    waiting = add(ctx.amara, ctx.a_intro)
    asked = add(ctx.amara, ctx.a_photos)
    services.query_time(ctx.editor, asked, expected_revision=1, question=QUESTION)
    river = add(ctx.river, ctx.a_river)
    db.session.commit()

    def ids(**filters):
        filters.setdefault("consultant_id", None)
        filters.setdefault("report_id", None)
        return {r.id for r in db.session.scalars(services.review_query(**filters))}

    assert ids() == {waiting.id, river.id}
    assert ids(status="queried") == {asked.id}
    assert ids(status="all", consultant_id=ctx.amara.id) == {waiting.id, asked.id}
    assert ids(status="all", report_id=ctx.a_intro.section.report_id) == {
        waiting.id,
        asked.id,
        river.id,
    }
    assert ids(status="all", report_id=987654) == set()


def test_durations_read_as_hours_and_minutes(app):
    with app.test_request_context():
        assert [format_duration(m) for m in (1, 59, 60, 90, 1440)] == [
            "1 min",
            "59 min",
            "1 h",
            "1 h 30 min",
            "24 h",
        ]


def test_the_database_refuses_impossible_rows(ctx):
    base = {
        "consultant_id": ctx.amara.id,
        "assignment_id": ctx.a_intro.id,
        "worked_on": today(),
        "activity": "reading",
        "revision": 1,
        "submitted_at": datetime.now(UTC),
        "created_at": datetime.now(UTC),
        "updated_at": datetime.now(UTC),
    }
    for values in (
        {"minutes": 0, "status": "submitted"},
        {"minutes": 1441, "status": "submitted"},
        {"minutes": 60, "status": "approved"},  # approved without a date
        {"minutes": 60, "status": "queried"},  # queried without a question
    ):
        with pytest.raises(exc.IntegrityError):
            db.session.execute(insert(TimeRecord).values(**base, **values))
        db.session.rollback()
