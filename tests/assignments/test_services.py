"""Assignment services against the database (SQLite, and PostgreSQL when set).

Every state move allowed or refused, who may be assigned and when, duplicates, overdue (derived from
the day passed in), requests for more time and their answers, and the editor's matrix: its filters
and a query count that does not grow with the report.
"""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import event, func, select

from portal.accounts.models import User
from portal.assignments import services
from portal.assignments.models import (
    OPEN_STATES,
    Assignment,
    AssignmentState,
    ExtensionState,
)
from portal.errors import DomainError
from portal.extensions import db
from portal.models import utcnow
from portal.reports import services as reports
from portal.reports.models import Section, SectionState

TODAY = date(2027, 3, 10)
S = AssignmentState


@pytest.fixture
def ctx(app, editor, consultant, consultant2, make_user):
    ids = SimpleNamespace(
        editor=editor,
        amara=consultant,
        river=consultant2,
        admin=make_user("admin", display_name="Morgan"),
        former=make_user("consultant", display_name="Former", active=False),
        other_editor=make_user("editor", display_name="Jo"),
    )
    with app.test_request_context():
        people = SimpleNamespace(**{k: db.session.get(User, v) for k, v in vars(ids).items()})
        people.report = reports.create_report(people.editor, title_en="2027 Report", year=2027)
        people.section = reports.create_section(people.editor, people.report, title_en="Intro")
        reports.publish_version(
            people.editor,
            people.section,
            body_en="Text.",
            body_fr=None,
            change_summary=None,
            based_on=0,
        )
        db.session.commit()
        yield people
        db.session.rollback()


def offer(ctx, consultant=None, section=None, due_on=None, **kwargs) -> Assignment:
    assignment = services.assign_section(
        ctx.editor,
        section or ctx.section,
        consultant or ctx.amara,
        due_on=due_on or TODAY + timedelta(days=14),
        today=TODAY,
        **kwargs,
    )
    db.session.commit()
    return assignment


def in_state(ctx, state: AssignmentState, **kwargs) -> Assignment:
    assignment = offer(ctx, **kwargs)
    assignment.state = state
    db.session.commit()
    return assignment


def assignment_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Assignment))


# Offering ----------------------------------------------------------------------------------


def test_assign_section_records_the_offer(ctx):
    before = utcnow()
    assignment = offer(
        ctx,
        due_on=TODAY + timedelta(days=7),
        instructions_en="  Please read the second part closely. ",
        instructions_fr="   ",
    )
    db.session.expire_all()
    assert assignment.state is S.OFFERED
    assert assignment.section_id == ctx.section.id
    assert assignment.consultant_id == ctx.amara.id
    assert assignment.due_on == TODAY + timedelta(days=7)
    assert assignment.instructions_en == "Please read the second part closely."
    assert assignment.instructions_fr is None
    assert assignment.offered_by_id == ctx.editor.id
    assert assignment.offered_at >= before - timedelta(seconds=1)
    assert assignment.responded_at is None and assignment.extension_state is None


def test_the_due_date_may_be_today_but_not_in_the_past(ctx):
    with pytest.raises(DomainError, match="cannot be in the past"):
        services.assign_section(
            ctx.editor, ctx.section, ctx.amara, due_on=TODAY - timedelta(days=1), today=TODAY
        )
    db.session.rollback()
    assert assignment_count() == 0
    assert offer(ctx, due_on=TODAY).due_on == TODAY


def test_the_due_date_defaults_to_the_real_today(ctx):
    yesterday = utcnow().date() - timedelta(days=1)
    with pytest.raises(DomainError, match="cannot be in the past"):
        services.assign_section(ctx.editor, ctx.section, ctx.amara, due_on=yesterday)


@pytest.mark.parametrize("who", ["former", "editor", "other_editor", "admin"])
def test_only_active_consultants_can_be_assigned(ctx, who):
    with pytest.raises(DomainError, match="only be assigned to active consultants"):
        offer(ctx, consultant=getattr(ctx, who))
    db.session.rollback()
    assert assignment_count() == 0


@pytest.mark.parametrize("how", ["archived", "final"])
def test_a_final_or_archived_section_cannot_be_assigned(ctx, how):
    if how == "archived":
        reports.set_section_archived(ctx.editor, ctx.section, True)
    else:
        ctx.section.state = SectionState.FINAL
    db.session.commit()
    with pytest.raises(DomainError, match="final or archived"):
        offer(ctx)
    db.session.rollback()
    assert assignment_count() == 0


@pytest.mark.parametrize("state", [S.OFFERED, S.ACCEPTED, S.IN_REVIEW, S.SUBMITTED])
def test_a_second_offer_to_the_same_consultant_is_refused(ctx, state):
    first = in_state(ctx, state)
    with pytest.raises(DomainError) as caught:
        offer(ctx, due_on=TODAY + timedelta(days=30))
    assert caught.value.message == "Amara is already assigned to this section."
    db.session.rollback()
    db.session.expire_all()
    assert assignment_count() == 1
    assert (first.state, first.due_on) == (state, TODAY + timedelta(days=14))


def test_other_consultants_and_sections_are_independent(ctx):
    offer(ctx)
    offer(ctx, consultant=ctx.river)
    other = reports.create_section(ctx.editor, ctx.report, title_en="Other")
    offer(ctx, section=other)
    assert assignment_count() == 3


@pytest.mark.parametrize("state", [S.DECLINED, S.WITHDRAWN])
def test_after_a_decline_or_withdrawal_the_section_can_be_offered_again(ctx, state):
    first = offer(ctx)
    request_extension(ctx.amara, first, until=TODAY + timedelta(days=20), reason="Busy")
    if state is S.DECLINED:
        services.decline(ctx.amara, first, "Not this one, thank you.")
    else:
        services.withdraw(ctx.editor, first)
    db.session.commit()
    again = services.assign_section(
        ctx.other_editor,
        ctx.section,
        ctx.amara,
        due_on=TODAY + timedelta(days=21),
        instructions_en="A second try.",
        today=TODAY,
    )
    db.session.commit()
    db.session.expire_all()
    assert assignment_count() == 1  # the same row, made a fresh offer
    assert again.id == first.id
    assert again.state is S.OFFERED
    assert again.due_on == TODAY + timedelta(days=21)
    assert again.offered_by_id == ctx.other_editor.id
    assert again.instructions_en == "A second try."
    assert again.decline_reason is None and again.responded_at is None
    assert again.extension_state is None and again.extension_requested_until is None


# Moves -------------------------------------------------------------------------------------

OPERATIONS = {
    "accept": (lambda ctx, a: services.accept(ctx.amara, a), {S.OFFERED}, S.ACCEPTED),
    "decline": (lambda ctx, a: services.decline(ctx.amara, a), {S.OFFERED, S.ACCEPTED}, S.DECLINED),
    "start": (lambda ctx, a: services.start_review(ctx.amara, a), {S.ACCEPTED}, S.IN_REVIEW),
    "submit": (lambda ctx, a: services.submit_review(ctx.amara, a), {S.IN_REVIEW}, S.SUBMITTED),
    "withdraw": (lambda ctx, a: services.withdraw(ctx.editor, a), set(OPEN_STATES), S.WITHDRAWN),
}
MOVES = list(itertools.product(OPERATIONS, AssignmentState))


def test_the_moves_are_the_ones_the_issue_describes():
    """offered → accepted or declined; accepted → in review → submitted; editors withdraw."""
    assert {S.OFFERED, S.ACCEPTED, S.IN_REVIEW} == OPEN_STATES
    allowed = {(name, start) for name, start in MOVES if start in OPERATIONS[name][1]}
    assert len(allowed) == 8


@pytest.mark.parametrize(("operation", "start"), MOVES, ids=str)
def test_every_assignment_move_is_allowed_or_refused(ctx, operation, start):
    run, allowed_from, result = OPERATIONS[operation]
    assignment = in_state(ctx, start)
    if start in allowed_from:
        run(ctx, assignment)
        db.session.commit()
        db.session.expire_all()
        assert assignment.state is result
    else:
        with pytest.raises(DomainError) as caught:
            run(ctx, assignment)
        assert caught.value.message == (
            f"This is not possible while the assignment is “{start.title}”."
        )
        db.session.rollback()
        db.session.expire_all()
        assert assignment.state is start


def test_each_answer_records_when(ctx):
    assignment = offer(ctx)
    services.accept(ctx.amara, assignment)
    assert assignment.responded_at is not None and assignment.started_at is None
    services.start_review(ctx.amara, assignment)
    assert assignment.started_at is not None and assignment.submitted_at is None
    services.submit_review(ctx.amara, assignment)
    assert assignment.submitted_at >= assignment.started_at >= assignment.responded_at


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        (None, None),
        ("", None),
        ("   \n", None),
        ("  I am not ready for this topic. ", "I am not ready for this topic."),
    ],
)
def test_the_decline_reason_is_optional(ctx, given, kept):
    assignment = offer(ctx)
    services.decline(ctx.amara, assignment, given)
    db.session.commit()
    db.session.expire_all()
    assert assignment.state is S.DECLINED
    assert assignment.decline_reason == kept
    assert assignment.responded_at is not None


def test_declining_after_accepting_is_possible(ctx):
    assignment = offer(ctx)
    services.accept(ctx.amara, assignment)
    services.decline(ctx.amara, assignment)
    assert assignment.state is S.DECLINED


# Overdue -----------------------------------------------------------------------------------


@pytest.mark.parametrize("state", list(AssignmentState))
def test_overdue_is_derived_from_the_day_and_the_state(ctx, state):
    assignment = in_state(ctx, state, due_on=TODAY)
    assert not assignment.is_overdue(TODAY)
    assert assignment.is_overdue(TODAY + timedelta(days=1)) is (state in OPEN_STATES)
    assert not assignment.is_overdue(TODAY - timedelta(days=1))


def request_extension(*args, **kwargs):
    """The service, on the tests' fixed day (new due dates must not be in the past)."""
    return services.request_extension(*args, today=TODAY, **kwargs)


def answer_extension(*args, **kwargs):
    return services.answer_extension(*args, today=TODAY, **kwargs)


# More time ---------------------------------------------------------------------------------


@pytest.mark.parametrize("state", sorted(OPEN_STATES))
def test_more_time_can_be_asked_while_the_work_is_open(ctx, state):
    assignment = in_state(ctx, state)
    request_extension(
        ctx.amara, assignment, until=TODAY + timedelta(days=30), reason="  Family matters. "
    )
    db.session.commit()
    db.session.expire_all()
    assert assignment.extension_state is ExtensionState.REQUESTED and assignment.extension_pending
    assert assignment.extension_requested_until == TODAY + timedelta(days=30)
    assert assignment.extension_reason == "Family matters."
    assert assignment.due_on == TODAY + timedelta(days=14)  # nothing changes until answered
    assert assignment.waiting_on() == (
        "Waiting for the editors to answer your request for more time."
    )


@pytest.mark.parametrize("state", [S.DECLINED, S.SUBMITTED, S.WITHDRAWN])
def test_more_time_cannot_be_asked_once_the_work_is_closed(ctx, state):
    assignment = in_state(ctx, state)
    with pytest.raises(DomainError, match="not possible while"):
        request_extension(ctx.amara, assignment, until=TODAY + timedelta(days=30))
    db.session.rollback()
    db.session.expire_all()
    assert assignment.extension_state is None


@pytest.mark.parametrize("days", [-3, 0])
def test_the_new_date_must_be_after_the_due_date(ctx, days):
    assignment = offer(ctx)
    with pytest.raises(DomainError, match="after the current due date"):
        request_extension(ctx.amara, assignment, until=assignment.due_on + timedelta(days=days))
    db.session.rollback()
    db.session.expire_all()
    assert assignment.extension_state is None


def test_one_request_at_a_time(ctx):
    assignment = offer(ctx)
    request_extension(ctx.amara, assignment, until=TODAY + timedelta(days=20))
    with pytest.raises(DomainError, match="already asked for more time"):
        request_extension(ctx.amara, assignment, until=TODAY + timedelta(days=25))
    assert assignment.extension_requested_until == TODAY + timedelta(days=20)


def test_granting_uses_the_date_asked_for_by_default(ctx):
    assignment = offer(ctx)
    request_extension(ctx.amara, assignment, until=TODAY + timedelta(days=20))
    answer_extension(ctx.editor, assignment, grant=True)
    db.session.commit()
    db.session.expire_all()
    assert assignment.due_on == TODAY + timedelta(days=20)
    assert assignment.extension_state is ExtensionState.GRANTED
    assert assignment.extension_answered_by_id == ctx.editor.id
    assert assignment.extension_answered_at is not None
    assert not assignment.extension_pending


def test_granting_another_date(ctx):
    assignment = offer(ctx)
    request_extension(ctx.amara, assignment, until=TODAY + timedelta(days=20))
    answer_extension(ctx.editor, assignment, grant=True, new_due_on=TODAY + timedelta(days=17))
    assert assignment.due_on == TODAY + timedelta(days=17)


def test_granting_a_date_not_after_the_due_date_is_refused(ctx):
    assignment = offer(ctx)
    request_extension(ctx.amara, assignment, until=TODAY + timedelta(days=20))
    db.session.commit()
    with pytest.raises(DomainError, match="after the current due date"):
        answer_extension(ctx.editor, assignment, grant=True, new_due_on=assignment.due_on)
    db.session.rollback()
    db.session.expire_all()
    assert assignment.extension_pending and assignment.due_on == TODAY + timedelta(days=14)


def test_refusing_keeps_the_due_date_and_allows_a_new_request(ctx):
    assignment = offer(ctx)
    request_extension(ctx.amara, assignment, until=TODAY + timedelta(days=20))
    answer_extension(ctx.editor, assignment, grant=False)
    assert assignment.extension_state is ExtensionState.REFUSED
    assert assignment.due_on == TODAY + timedelta(days=14)
    assert assignment.extension_answered_by_id == ctx.editor.id
    request_extension(ctx.amara, assignment, until=TODAY + timedelta(days=18))
    assert assignment.extension_pending and assignment.extension_answered_at is None


def test_there_must_be_a_request_to_answer(ctx):
    assignment = offer(ctx)
    with pytest.raises(DomainError, match="no request for more time"):
        answer_extension(ctx.editor, assignment, grant=True)
    request_extension(ctx.amara, assignment, until=TODAY + timedelta(days=20))
    answer_extension(ctx.editor, assignment, grant=False)
    with pytest.raises(DomainError, match="no request for more time"):
        answer_extension(ctx.editor, assignment, grant=True)


@pytest.mark.parametrize("closing", ["decline", "withdraw", "submit"])
def test_closing_the_work_drops_a_pending_request(ctx, closing):
    assignment = offer(ctx)
    if closing == "submit":
        services.accept(ctx.amara, assignment)
        services.start_review(ctx.amara, assignment)
    request_extension(ctx.amara, assignment, until=TODAY + timedelta(days=20))
    OPERATIONS[closing][0](ctx, assignment)
    assert not assignment.extension_pending


# Reading -----------------------------------------------------------------------------------


@pytest.mark.parametrize("state", list(AssignmentState))
def test_reading_assignment_follows_the_state(ctx, state):
    assignment = in_state(ctx, state)
    readable = state not in (S.DECLINED, S.WITHDRAWN)
    assert (services.reading_assignment(ctx.amara, ctx.section) is assignment) is readable
    assert services.reading_assignment(ctx.river, ctx.section) is None


def test_a_consultants_list_puts_open_work_first_by_due_date(ctx):
    sections = [reports.create_section(ctx.editor, ctx.report, title_en=f"S{n}") for n in range(5)]
    plan = [
        (S.SUBMITTED, 1),
        (S.OFFERED, 9),
        (S.IN_REVIEW, 3),
        (S.DECLINED, 2),
        (S.ACCEPTED, 5),
    ]
    for section, (state, days) in zip(sections, plan, strict=True):
        in_state(ctx, state, section=section, due_on=TODAY + timedelta(days=days))
    in_state(ctx, S.OFFERED, consultant=ctx.river)
    listed = db.session.scalars(services.consultant_assignments_query(ctx.amara)).all()
    assert [a.section.title_en for a in listed[:3]] == ["S2", "S4", "S1"]
    assert {a.section.title_en for a in listed[3:]} == {"S0", "S3"}
    assert all(a.consultant_id == ctx.amara.id for a in listed)


def test_active_consultants_are_sorted_by_display_name(ctx):
    assert [u.display_name for u in services.active_consultants()] == ["Amara", "River"]


# The editor's matrix ------------------------------------------------------------------------


@pytest.fixture
def grid(ctx):
    """Sections A..E; Amara and River in different states; one overdue."""
    titles = [
        ("Survivor leadership", "Le leadership des survivantes"),
        ("Forced labour at sea", "Le travail forcé en mer"),
        ("Data collection", None),
        ("Recommendations", "Recommandations"),
    ]
    sections = [ctx.section] + [
        reports.create_section(ctx.editor, ctx.report, title_en=en, title_fr=fr)
        for en, fr in titles
    ]
    intro, leadership, sea, data, _recommendations = sections
    in_state(ctx, S.IN_REVIEW, section=intro)
    in_state(ctx, S.OFFERED, section=intro, consultant=ctx.river)
    in_state(ctx, S.ACCEPTED, section=sea, due_on=TODAY + timedelta(days=2))
    in_state(ctx, S.DECLINED, section=leadership, consultant=ctx.river)
    overdue = in_state(ctx, S.ACCEPTED, section=data, consultant=ctx.river)
    overdue.due_on = TODAY - timedelta(days=2)
    late_but_done = in_state(ctx, S.SUBMITTED, section=leadership)
    late_but_done.due_on = TODAY - timedelta(days=5)
    db.session.commit()
    return SimpleNamespace(sections=sections, titles=[s.title_en for s in sections])


def matrix_titles(ctx, **filters) -> list[str]:
    page, _consultants, _cells = services.report_matrix(ctx.report.id, today=TODAY, **filters)
    return [s.title_en for s in page.items]


def test_matrix_without_filters_lists_every_section_in_order(ctx, grid):
    page, consultants, cells = services.report_matrix(ctx.report.id, today=TODAY)
    assert [s.title_en for s in page.items] == grid.titles
    assert page.total == 5
    assert [c.display_name for c in consultants] == ["Amara", "River"]
    intro = grid.sections[0]
    assert cells[(intro.id, ctx.amara.id)].state is S.IN_REVIEW
    assert cells[(intro.id, ctx.river.id)].state is S.OFFERED
    assert (grid.sections[4].id, ctx.amara.id) not in cells
    assert len(cells) == 6


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("sea", ["Forced labour at sea"]),
        ("  LEADERSHIP ", ["Survivor leadership"]),
        ("recommandations", ["Recommendations"]),  # the French title matches too
        ("travail forcé", ["Forced labour at sea"]),
        ("dations", ["Recommendations"]),
        ("labour_at", []),
        ("%", []),  # a wildcard typed by the editor is a character like any other
        ("nothing like this", []),
    ],
)
def test_matrix_filters_by_title(ctx, grid, query, expected):
    assert matrix_titles(ctx, query=query) == expected


def test_matrix_title_filter_matches_wildcard_characters_literally(ctx, grid):
    reports.create_section(ctx.editor, ctx.report, title_en="Paid 100% of the time_spent")
    db.session.commit()
    assert matrix_titles(ctx, query="100%") == ["Paid 100% of the time_spent"]
    assert matrix_titles(ctx, query="time_spent") == ["Paid 100% of the time_spent"]
    assert matrix_titles(ctx, query="\\") == []


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("offered", ["Intro"]),
        ("accepted", ["Forced labour at sea", "Data collection"]),
        ("declined", ["Survivor leadership"]),
        ("submitted", ["Survivor leadership"]),
        ("withdrawn", []),
        ("", None),
        ("not-a-state", None),
    ],
)
def test_matrix_filters_by_assignment_state(ctx, grid, state, expected):
    assert matrix_titles(ctx, state=state) == (grid.titles if expected is None else expected)


def test_matrix_filters_by_consultant_and_state_together(ctx, grid):
    assert matrix_titles(ctx, consultant_id=ctx.river.id) == [
        "Intro",
        "Survivor leadership",
        "Data collection",
    ]
    assert matrix_titles(ctx, consultant_id=ctx.river.id, state="accepted") == ["Data collection"]
    # One assignment must match both: Amara's acceptance does not count for River.
    assert matrix_titles(ctx, consultant_id=ctx.river.id, state="in_review") == []


def test_matrix_overdue_filter_uses_the_day_given(ctx, grid):
    # Submitted work past its date is not overdue.
    assert matrix_titles(ctx, overdue_only=True) == ["Data collection"]
    later = TODAY + timedelta(days=3)
    page, _, _ = services.report_matrix(ctx.report.id, today=later, overdue_only=True)
    assert [s.title_en for s in page.items] == ["Forced labour at sea", "Data collection"]
    assert matrix_titles(ctx, overdue_only=True, consultant_id=ctx.amara.id) == []


def test_matrix_lists_archived_sections_last(ctx, grid):
    reports.set_section_archived(ctx.editor, grid.sections[1], True)
    db.session.commit()
    assert matrix_titles(ctx)[-1] == "Survivor leadership"


def test_matrix_is_paginated(ctx, grid):
    first = services.report_matrix(ctx.report.id, today=TODAY, per_page=2)[0]
    third = services.report_matrix(ctx.report.id, today=TODAY, per_page=2, page=3)[0]
    beyond = services.report_matrix(ctx.report.id, today=TODAY, per_page=2, page=9)[0]
    assert [s.title_en for s in first.items] == grid.titles[:2]
    assert [s.title_en for s in third.items] == grid.titles[4:]
    assert (first.pages, beyond.items) == (3, [])


def test_matrix_shows_only_this_reports_consultants(ctx, grid):
    other_report = reports.create_report(ctx.editor, title_en="Other", year=2028)
    other_section = reports.create_section(ctx.editor, other_report, title_en="Elsewhere")
    db.session.commit()
    page, consultants, cells = services.report_matrix(other_report.id, today=TODAY)
    assert [s.title_en for s in page.items] == ["Elsewhere"]
    assert consultants == [] and cells == {}
    offer(ctx, section=other_section, consultant=ctx.river)
    _page, consultants, _cells = services.report_matrix(other_report.id, today=TODAY)
    assert [c.display_name for c in consultants] == ["River"]


class QueryCounter:
    def __init__(self, engine) -> None:
        self.engine = engine
        self.statements: list[str] = []

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._count)

    def _count(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE")):
            self.statements.append(statement)


def build_report(ctx, size: int, consultants: list[User]) -> int:
    report = reports.create_report(ctx.editor, title_en=f"Report of {size}", year=2027)
    sections = [
        Section(report_id=report.id, title_en=f"Section {n}", position=n, revision=1)
        for n in range(1, size + 1)
    ]
    db.session.add_all(sections)
    db.session.flush()
    states = itertools.cycle(AssignmentState)
    db.session.add_all(
        Assignment(
            section_id=section.id,
            consultant_id=consultant.id,
            state=next(states),
            due_on=TODAY + timedelta(days=n % 7 - 3),
            offered_by_id=ctx.editor.id,
        )
        for n, section in enumerate(sections)
        for consultant in consultants
    )
    db.session.commit()
    return report.id


def matrix_queries(ctx, report_id: int, size: int) -> int:
    """Statements run to build the matrix and read everything the dashboard shows of it."""
    db.session.expire_all()
    db.session.expunge_all()
    with QueryCounter(db.engine) as counter:
        page, consultants, cells = services.report_matrix(report_id, today=TODAY, per_page=500)
        shown = [
            (
                section.title_en,
                section.title_fr,
                section.state,
                section.has_content_note,
                section.is_archived,
                [
                    (cell.state, cell.due_on, cell.is_overdue(TODAY), cell.extension_pending)
                    for consultant in consultants
                    if (cell := cells.get((section.id, consultant.id))) is not None
                ],
            )
            for section in page.items
        ]
        names = [consultant.display_name for consultant in consultants]
    assert len(shown) == size and len(names) == 3
    assert sum(len(row[-1]) for row in shown) == size * 3
    return len(counter.statements)


def test_matrix_query_count_does_not_grow_with_the_report(ctx, make_user, app):
    third = db.session.get(User, make_user("consultant", display_name="Zed"))
    consultants = [ctx.amara, ctx.river, third]
    small = build_report(ctx, 30, consultants)
    large = build_report(ctx, 120, consultants)
    small_count = matrix_queries(ctx, small, 30)
    large_count = matrix_queries(ctx, large, 120)
    assert small_count == large_count, (small_count, large_count)
    # A page count, the page of sections, their assignments, the consultants.
    assert large_count == 4, large_count


def test_an_overdue_assignment_gets_a_date_that_is_not_in_the_past(ctx):
    """After the due date is not enough when the assignment is already overdue."""
    assignment = offer(ctx)
    later = assignment.due_on + timedelta(days=10)
    with pytest.raises(DomainError, match="cannot be in the past"):
        services.request_extension(
            ctx.amara, assignment, until=assignment.due_on + timedelta(days=3), today=later
        )
    services.request_extension(
        ctx.amara, assignment, until=assignment.due_on + timedelta(days=3), today=TODAY
    )
    with pytest.raises(DomainError, match="cannot be in the past"):
        services.answer_extension(ctx.editor, assignment, grant=True, today=later)
    with pytest.raises(DomainError, match="cannot be in the past"):
        services.answer_extension(
            ctx.editor, assignment, grant=True, new_due_on=later - timedelta(days=1), today=later
        )
    services.answer_extension(ctx.editor, assignment, grant=True, new_due_on=later, today=later)
    assert assignment.due_on == later


def test_a_persons_assignment_is_read_once_per_session_and_stays_current(ctx):
    assert services.assignment_of(ctx.amara, ctx.section) is None
    assignment = offer(ctx)  # made after a look that found nothing: still found
    assert services.assignment_of(ctx.amara, ctx.section) is assignment
    with QueryCounter(db.engine) as counter:
        assert services.assignment_of(ctx.amara, ctx.section) is assignment
        assert services.reading_assignment(ctx.amara, ctx.section) is assignment
    assert counter.statements == []  # the session's identity map answered
    services.accept(ctx.amara, assignment)
    db.session.commit()  # expires the row: the next ask reloads it by its key
    with QueryCounter(db.engine) as counter:
        assert services.assignment_of(ctx.amara, ctx.section).state is AssignmentState.ACCEPTED
    # (The person and section were expired too and reload themselves.)
    reads = [sql for sql in counter.statements if "FROM assignments" in sql]
    assert len(reads) == 1 and "WHERE assignments.id =" in reads[0]
    # Another person, or the same person on another section, is their own question.
    assert services.assignment_of(ctx.river, ctx.section) is None
    other = reports.create_section(ctx.editor, ctx.report, title_en="Other")
    db.session.commit()
    assert services.assignment_of(ctx.amara, other) is None


def test_an_assignment_rolled_back_is_not_remembered(ctx):
    section = reports.create_section(ctx.editor, ctx.report, title_en="Other")
    db.session.commit()
    services.assign_section(
        ctx.editor, section, ctx.river, due_on=TODAY + timedelta(days=3), today=TODAY
    )
    db.session.flush()
    assert services.assignment_of(ctx.river, section) is not None
    db.session.rollback()
    assert services.assignment_of(ctx.river, section) is None
