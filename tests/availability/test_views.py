"""Availability through the test client: the consultant's own page, and what editors see.

A consultant records, lists and removes their own time away (validation messages translated, what
they typed kept, extra fields ignored, anyone else's period a 404, editors and admins 403). Editors
see it next to the consultant's name when assigning, a warning when the due date they chose falls
in it (the offer is still made), "Away until" and "Due while away" on the report grid and the
assignment page; the consultant's dashboard says when they are away, with a link to change it.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from flask_babel import force_locale, format_date, gettext
from sqlalchemy import func, select

from portal.accounts.models import User
from portal.assignments import services as assignment_services
from portal.assignments.models import Assignment, AssignmentState
from portal.audit.models import AuditEvent
from portal.availability.models import AwayPeriod
from portal.extensions import db
from portal.models import utcnow
from portal.reports import services as report_services
from portal.reports.models import Section
from tests.conftest import AuthActions
from tests.reports.pages import Page, path_of, squash

PAGE = "/account/availability"


def day(offset: int) -> date:
    return utcnow().date() + timedelta(days=offset)


def iso(offset: int) -> str:
    return day(offset).isoformat()


def translated(app, message: str, locale: str, **variables) -> str:
    with app.test_request_context(), force_locale(locale):
        return gettext(message, **variables)


def long_date(app, value: date, locale: str = "en") -> str:
    with app.test_request_context(), force_locale(locale):
        return format_date(value, "long")


def dates_of(app, period_id: int, locale: str = "en") -> str:
    """The period as a page shows it, spaces folded as `Page` folds them."""
    with app.test_request_context(), force_locale(locale):
        return squash(db.session.get(AwayPeriod, period_id).dates)


def signed_in(app, user_id: int):
    client = app.test_client()
    AuthActions(client, app).login_as(user_id)
    return client


@pytest.fixture
def world(app, editor, consultant, consultant2, deactivated, make_user):
    admin = make_user("admin", display_name="Morgan")
    with app.test_request_context():
        author = db.session.get(User, editor)
        report = report_services.create_report(author, title_en="2027 Report", year=2027)
        section = report_services.create_section(author, report, title_en="Introduction")
        report_services.publish_version(
            author, section, body_en="Text.", body_fr=None, change_summary=None, based_on=0
        )
        db.session.commit()
        return SimpleNamespace(
            editor=editor,
            admin=admin,
            amara=consultant,
            river=consultant2,
            former=deactivated,
            report=report.id,
            section=section.id,
        )


@pytest.fixture
def amara(app, world):
    return signed_in(app, world.amara)


@pytest.fixture
def editor_client(app, world):
    return signed_in(app, world.editor)


def away(app, user_id: int, start: int, end: int, note: str | None = None) -> int:
    """A period written straight to the table, so it may also lie in the past."""
    with app.app_context():
        period = AwayPeriod(
            consultant_id=user_id, starts_on=day(start), ends_on=day(end), note=note
        )
        db.session.add(period)
        db.session.commit()
        return period.id


def periods(app) -> list[tuple[int, date, date, str | None]]:
    with app.app_context():
        return [
            (p.consultant_id, p.starts_on, p.ends_on, p.note)
            for p in db.session.scalars(select(AwayPeriod).order_by(AwayPeriod.id))
        ]


def events(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        found = list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))
        for event in found:
            db.session.expunge(event)
        return found


def offer(app, world, consultant: int, due: int, section: int | None = None) -> int:
    with app.test_request_context():
        assignment = assignment_services.assign_section(
            db.session.get(User, world.editor),
            db.session.get(Section, section or world.section),
            db.session.get(User, consultant),
            due_on=day(due),
        )
        db.session.commit()
        return assignment.id


# The consultant's own page -----------------------------------------------------------------


def test_the_page_is_linked_from_the_account_pages_for_consultants_only(app, world, amara):
    page = Page(amara.get("/account"))
    nav = page.one("nav", **{"aria-label": "My account"})
    links = {a.attrs["href"]: a.text() for a in nav.iter() if a.tag == "a"}
    assert links[PAGE] == "Availability"
    own = Page(amara.get(PAGE))
    assert own.one("a", href=PAGE).attrs.get("aria-current") == "page"
    assert "You have no time away recorded." in own.main
    assert "You do not need to give a reason" in own.main
    for role in ("editor", "admin"):
        other = Page(signed_in(app, getattr(world, role)).get("/account"))
        assert PAGE not in other.html


def test_a_consultant_records_time_away(app, world, amara):
    response = amara.post_form(
        PAGE,
        {"starts_on": iso(3), "ends_on": iso(17), "note": "  River can answer for me.  "},
    )
    assert path_of(response) == PAGE
    assert periods(app) == [(world.amara, day(3), day(17), "River can answer for me.")]
    page = Page(amara.get(PAGE))
    assert "Your time away is saved. The editors see it when they offer you work." in page.alerts()
    (period_id,) = [p.id for p in _all_periods(app)]
    item = squash(page.one("li", id=f"period-{period_id}").text())
    assert dates_of(app, period_id) in item
    assert "River can answer for me." in item
    assert "Now" not in item
    (added,) = events(app, "availability.added")
    assert added.actor_id == world.amara
    assert json.loads(added.detail)["starts_on"] == iso(3)


def _all_periods(app) -> list[AwayPeriod]:
    with app.app_context():
        found = list(db.session.scalars(select(AwayPeriod).order_by(AwayPeriod.id)))
        for period in found:
            db.session.expunge(period)
        return found


def test_the_page_lists_current_and_coming_periods_only(app, world, amara):
    past = away(app, world.amara, -20, -10)
    current = away(app, world.amara, -1, 1, note="Back on Monday.")
    later = away(app, world.amara, 30, 40)
    theirs = away(app, world.river, 2, 5, note="River's own note")
    page = Page(amara.get(PAGE))
    shown = [
        li.attrs["id"] for li in page.all("li") if li.attrs.get("id", "").startswith("period-")
    ]
    assert shown == [f"period-{current}", f"period-{later}"]
    assert "Now" in page.one("li", id=f"period-{current}").text()
    assert "River's own note" not in page.html
    assert f"/{past}/" not in page.html and f"/{theirs}/" not in page.html


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"starts_on": ""}, "starts_on", "Please choose the first day you are away."),
        ({"ends_on": ""}, "ends_on", "Please choose the last day you are away."),
        (
            {"starts_on": "17/03/2027"},
            "starts_on",
            "Please enter the date as year-month-day, for example 2027-03-17.",
        ),
        ({"ends_on": "2027-02-30"}, "ends_on", None),
        ({"starts_on": iso(10), "ends_on": iso(9)}, "ends_on", None),
        ({"starts_on": iso(1), "ends_on": iso(368)}, "ends_on", None),
        ({"starts_on": iso(-9), "ends_on": iso(-1)}, "ends_on", None),
        ({"starts_on": "0001-01-01", "ends_on": "9999-12-31"}, "ends_on", None),
        ({"note": "n" * 301}, "note", "Please use at most %(count)d characters."),
    ],
)
def test_bad_input_is_refused_with_a_message_and_the_text_kept(
    app, world, amara, changes, field, message
):
    data = {"starts_on": iso(3), "ends_on": iso(17), "note": "Written with care.", **changes}
    response = amara.post_form(PAGE, data)
    assert response.status_code == 400
    page = Page(response)
    error = page.one(id=f"{field}-error").text()
    if message:
        assert translated(app, message, "en", count=300) == error
    assert error
    for name in ("starts_on", "ends_on", "note"):
        assert page.value(name) == data[name]
    assert "Nothing you typed was lost." in page.main
    assert periods(app) == []


def test_service_refusals_are_shown_on_their_field(app, world, amara):
    existing = away(app, world.amara, 5, 12)
    cases = [
        ({"starts_on": iso(10), "ends_on": iso(9)}, "ends_on", "cannot be before the first day"),
        ({"starts_on": iso(1), "ends_on": iso(367)}, "ends_on", "at most one year long"),
        ({"starts_on": iso(-9), "ends_on": iso(-1)}, "ends_on", "already past"),
        ({"starts_on": iso(12), "ends_on": iso(14)}, "starts_on", dates_of(app, existing)),
    ]
    for data, field, words in cases:
        page = Page(amara.post_form(PAGE, data))
        assert words in squash(page.one(id=f"{field}-error").text())
    assert len(periods(app)) == 1


def test_messages_and_dates_in_french(app, world, amara):
    period = away(app, world.amara, 5, 12)
    amara.post_form("/language", {"locale": "fr", "next": "/"})
    page = Page(amara.get(PAGE))
    assert dates_of(app, period, "fr") in page.main
    response = amara.post_form(PAGE, {"starts_on": "", "ends_on": iso(3)})
    assert response.status_code == 400
    expected = translated(app, "Please choose the first day you are away.", "fr")
    assert Page(response).one(id="starts_on-error").text() == expected


def test_the_same_form_sent_twice_is_told_not_failed(app, world, amara):
    data = {"starts_on": iso(3), "ends_on": iso(4)}
    amara.post_form(PAGE, data)
    again = amara.post_form(PAGE, data)
    assert again.status_code == 400
    assert "You have already recorded time away" in Page(again).one(id="starts_on-error").text()
    assert len(periods(app)) == 1


def test_extra_fields_are_ignored(app, world, amara):
    amara.post_form(
        PAGE,
        {
            "starts_on": iso(3),
            "ends_on": iso(4),
            "consultant_id": str(world.river),
            "consultant": str(world.river),
            "created_at": "2001-01-01",
            "id": "999",
        },
    )
    ((owner, *_rest),) = periods(app)
    assert owner == world.amara
    (period,) = _all_periods(app)
    assert period.id != 999 and period.created_at.year != 2001


def test_a_consultant_removes_their_own_period(app, world, amara):
    period = away(app, world.amara, 3, 7)
    response = amara.post_form(f"{PAGE}/{period}/remove")
    assert path_of(response) == PAGE
    assert periods(app) == []
    assert "That time away is removed." in Page(amara.get(PAGE)).alerts()
    (removed,) = events(app, "availability.removed")
    assert (removed.actor_id, removed.object_id) == (world.amara, str(period))
    assert amara.post_form(f"{PAGE}/{period}/remove").status_code == 404


def test_another_consultants_period_does_not_exist_for_them(app, world, amara):
    theirs = away(app, world.river, 3, 7)
    assert amara.post_form(f"{PAGE}/{theirs}/remove").status_code == 404
    assert amara.post_form(f"{PAGE}/{theirs + 100}/remove").status_code == 404
    assert len(periods(app)) == 1
    assert events(app, "availability.removed") == []


@pytest.mark.parametrize("role", ["editor", "admin"])
def test_editors_and_admins_are_refused(app, world, role):
    client = signed_in(app, getattr(world, role))
    period = away(app, world.amara, 3, 7)
    assert client.get(PAGE).status_code == 403
    assert client.post_form(PAGE, {"starts_on": iso(1), "ends_on": iso(2)}).status_code == 403
    assert client.post_form(f"{PAGE}/{period}/remove").status_code == 403
    assert len(periods(app)) == 1


def test_signed_out_people_are_sent_to_sign_in(app, world, client):
    period = away(app, world.amara, 3, 7)
    response = client.get(PAGE)
    assert response.status_code == 302 and path_of(response) == "/login"
    # A form sent while signed out gets the sign-in form, keeping what was sent (S4).
    assert client.post_form(f"{PAGE}/{period}/remove").status_code == 401
    assert len(periods(app)) == 1


# The consultant's dashboard ------------------------------------------------------------------


def test_the_dashboard_says_when_the_consultant_is_away(app, world, amara):
    assert "You are away" not in Page(amara.get("/")).main
    away(app, world.amara, 2, 9)  # coming, not current: nothing yet
    assert "You are away" not in Page(amara.get("/")).main
    away(app, world.amara, -1, 1)
    page = Page(amara.get("/"))
    start, end = long_date(app, day(-1)), long_date(app, day(1))
    assert f"You are away from {start} to {end}." in page.main
    notice = page.one(id="away-now")
    assert [a.attrs["href"] for a in notice.iter() if a.tag == "a"] == [PAGE]


# What editors see ---------------------------------------------------------------------------


def test_the_assign_page_shows_who_is_away(app, world, editor_client):
    current = away(app, world.amara, -2, 3)
    coming = away(app, world.amara, 20, 25)
    away(app, world.river, -9, -1)  # over: not shown
    form = Page(editor_client.get(f"/sections/{world.section}/assign"))
    labels = dict(form.options("consultant"))
    expected = f"Amara (Away {dates_of(app, current)}; {dates_of(app, coming)})"
    assert labels[str(world.amara)] == expected
    assert labels[str(world.river)] == "River"


def test_the_assign_page_lists_time_away_with_the_notes_for_editors(app, world, editor_client):
    current = away(app, world.amara, -2, 3, note="River can answer for me.")
    coming = away(app, world.river, 20, 25)
    away(app, world.amara, -9, -4, note="An old note")
    page = Page(editor_client.get(f"/sections/{world.section}/assign"))
    box = page.one("div", role="region", **{"aria-labelledby": "away-heading"})
    items = [squash(li.text()) for li in box.iter() if li.tag == "li"]
    assert items == [
        f"Amara: away {dates_of(app, current)} — River can answer for me.",
        f"River: away {dates_of(app, coming)}",
    ]
    assert "An old note" not in page.html


def test_the_assign_page_has_no_list_when_nobody_is_away(app, world, editor_client):
    away(app, world.amara, -9, -4)
    page = Page(editor_client.get(f"/sections/{world.section}/assign"))
    assert list(page.all(id="away-heading")) == []


def test_the_assign_page_labels_in_french(app, world, editor_client):
    period = away(app, world.amara, 2, 5)
    editor_client.post_form("/language", {"locale": "fr", "next": "/"})
    form = Page(editor_client.get(f"/sections/{world.section}/assign"))
    label = dict(form.options("consultant"))[str(world.amara)]
    assert dates_of(app, period, "fr") in label


@pytest.mark.parametrize(
    ("due", "warned"), [(9, False), (10, True), (12, True), (15, True), (16, False)]
)
def test_a_due_date_while_away_is_offered_with_a_warning(app, world, editor_client, due, warned):
    period = away(app, world.amara, 10, 15)
    response = editor_client.post_form(
        f"/sections/{world.section}/assign",
        {"consultant": str(world.amara), "due_on": iso(due)},
    )
    assert path_of(response) == f"/sections/{world.section}"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Assignment)) == 1
    alerts = Page(editor_client.get(f"/sections/{world.section}")).alerts()
    assert "The section is offered to Amara." in alerts
    warning = (
        f"Please note: the due date falls while Amara is away ({dates_of(app, period)}). "
        "The offer is made all the same."
    )
    assert (warning in alerts) is warned


def test_the_report_grid_flags_away_consultants_and_due_dates(app, world, editor_client):
    away(app, world.amara, -1, 4)
    away(app, world.amara, 5, 12)  # back to back: one absence until day 12
    away(app, world.river, 30, 40)
    flagged = offer(app, world, world.amara, 8)
    with app.test_request_context():
        author = db.session.get(User, world.editor)
        report = db.session.get(Section, world.section).report
        other = report_services.create_section(author, report, title_en="Second")
        db.session.commit()
        other_id = other.id
    submitted = offer(app, world, world.amara, 9, section=other_id)
    with app.app_context():
        db.session.get(Assignment, submitted).state = AssignmentState.SUBMITTED
        db.session.commit()
    clear = offer(app, world, world.river, 8)
    page = Page(editor_client.get(f"/reports/{world.report}"))
    headers = {
        h.text().split()[0]: " ".join(h.text().split())
        for h in page.all("th", scope="col")
        if h.text().strip()
    }
    assert headers["Amara"] == f"Amara Away until {long_date(app, day(12))}"
    assert headers["River"] == "River"
    cells = {}
    for row in page.all("tr"):
        for td in (n for n in row.children if getattr(n, "tag", None) == "td"):
            for link in (a for a in td.iter() if a.tag == "a"):
                cells[link.attrs["href"]] = " ".join(td.text().split())
    assert "Due while away" in cells[f"/assignments/{flagged}"]
    assert "Due while away" not in cells[f"/assignments/{submitted}"]
    assert "Due while away" not in cells[f"/assignments/{clear}"]
    tags = list(page.all("span", cls="portal-state--due-while-away"))
    assert len(tags) == 1 and "portal-state" in tags[0].classes()


def test_the_assignment_page_flags_the_absence_and_the_due_date(app, world, editor_client, amara):
    period = away(app, world.amara, 0, 10, note="Back on the 12th.")
    inside = offer(app, world, world.amara, 6)
    page = Page(editor_client.get(f"/assignments/{inside}"))
    assert f"Amara Away until {long_date(app, day(10))}" in page.main
    assert "Due while away" in page.main
    facts = [
        squash(node.text())
        for node in page.one("dl", cls="portal-facts").children
        if not isinstance(node, str)
    ]
    time_away = facts[facts.index("Time away") + 1]
    assert time_away == f"{dates_of(app, period)} — Back on the 12th."
    # The consultant sees the same facts about their own work.
    assert "Due while away" in Page(amara.get(f"/assignments/{inside}")).main
    with app.app_context():
        db.session.get(Assignment, inside).due_on = day(11)
        db.session.commit()
    assert "Due while away" not in Page(editor_client.get(f"/assignments/{inside}")).main
