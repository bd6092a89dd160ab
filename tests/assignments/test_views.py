"""Assignments through the test client: the editor offers, the consultant answers and works.

The editor assigns a consultant (due date, instructions); the consultant sees it on their home
dashboard with what it is waiting on, accepts, starts (and lands on the draft, content note first),
asks for more time, which the editor grants or refuses, declines with or without a reason (the
editor sees it; the e-mail carries a link only), and submits. Bad input: 400, a translated message
and the typed text kept.
"""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace
from typing import ClassVar

import pytest
from flask_babel import force_locale, format_date, gettext
from sqlalchemy import func, select

from portal.accounts.models import User
from portal.assignments import services as assignment_services
from portal.assignments.models import Assignment, AssignmentState, ExtensionState
from portal.extensions import db
from portal.models import utcnow
from portal.reports import services
from portal.reports.models import Section
from tests.conftest import AuthActions
from tests.reports.pages import Page, path_of

NOTE = "Describes debt bondage and confinement at sea, without graphic detail."
BODY_EN = "# Forced labour at sea\n\nWorkers described debts that grew faster than wages."
BODY_FR = "# Le travail forcé en mer\n\nDes travailleurs ont décrit des dettes."
REASON = "This topic is too close to my own experience right now."


def today():
    return utcnow().date()


def iso(days: int) -> str:
    return (today() + timedelta(days=days)).isoformat()


def translated(app, message: str, locale: str, **variables) -> str:
    with app.test_request_context(), force_locale(locale):
        return gettext(message, **variables)


def signed_in(app, user_id: int):
    client = app.test_client()
    AuthActions(client, app).login_as(user_id)
    return client


@pytest.fixture
def world(app, editor, consultant, consultant2, deactivated, make_user):
    admin = make_user("admin", display_name="Morgan")
    with app.test_request_context():
        author = db.session.get(User, editor)
        report = services.create_report(author, title_en="2027 Report", year=2027)
        section = services.create_section(
            author,
            report,
            title_en="Topic box: forced labour at sea",
            title_fr="Encadré : le travail forcé en mer",
            content_note_en=NOTE,
        )
        services.publish_version(
            author, section, body_en=BODY_EN, body_fr=BODY_FR, change_summary=None, based_on=0
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
def editor_client(app, world):
    return signed_in(app, world.editor)


@pytest.fixture
def amara(app, world):
    return signed_in(app, world.amara)


def offer(app, world, consultant=None, days=10, **kwargs) -> int:
    with app.test_request_context():
        assignment = assignment_services.assign_section(
            db.session.get(User, world.editor),
            db.session.get(Section, world.section),
            db.session.get(User, consultant or world.amara),
            due_on=today() + timedelta(days=days),
            **kwargs,
        )
        db.session.commit()
        return assignment.id


def read(app, assignment_id: int) -> Assignment:
    with app.app_context():
        assignment = db.session.get(Assignment, assignment_id)
        db.session.expunge(assignment)
        return assignment


def set_state(app, assignment_id: int, state: AssignmentState) -> None:
    with app.app_context():
        db.session.get(Assignment, assignment_id).state = state
        db.session.commit()


# Offering ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["editor", "admin"])
def test_editor_assigns_a_consultant(app, world, role):
    client = signed_in(app, getattr(world, role))
    form = Page(client.get(f"/sections/{world.section}/assign"))
    names = [label for value, label in form.options("consultant") if value]
    assert names == ["Amara", "River"]  # active consultants only
    response = client.post_form(
        f"/sections/{world.section}/assign",
        {
            "consultant": str(world.river),
            "due_on": iso(14),
            "instructions_en": "Please check the second paragraph.",
            "instructions_fr": "Merci de relire le second paragraphe.",
        },
    )
    assert path_of(response) == f"/sections/{world.section}"
    with app.app_context():
        assignment = db.session.scalars(select(Assignment)).one()
        assert (assignment.consultant_id, assignment.state) == (
            world.river,
            AssignmentState.OFFERED,
        )
        assert assignment.due_on == today() + timedelta(days=14)
        assert assignment.offered_by_id == getattr(world, role)
        assert assignment.instructions_fr == "Merci de relire le second paragraphe."
    page = Page(client.get(f"/sections/{world.section}"))
    assert "The section is offered to River." in page.alerts()
    consultants = page.one("section", **{"aria-labelledby": "assign-heading"}).text()
    assert "River" in consultants and "Offered" in consultants


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"due_on": iso(-1)}, "The due date cannot be in the past."),
        ({"due_on": ""}, "Please choose a date."),
        ({"due_on": "31/12/2027"}, None),
        ({"consultant": ""}, "Please choose a consultant."),
        ({"instructions_en": "i" * 2001}, "Please use at most 2000 characters."),
    ],
)
def test_bad_assignment_input_is_refused_and_the_text_kept(
    app, editor_client, world, changes, message
):
    data = {
        "consultant": str(world.amara),
        "due_on": iso(7),
        "instructions_en": "Instructions I wrote with care.",
        "instructions_fr": "Des consignes écrites avec soin.",
        **changes,
    }
    response = editor_client.post_form(f"/sections/{world.section}/assign", data)
    assert response.status_code == 400
    page = Page(response)
    assert page.errors()
    if message:
        assert translated(app, message, "en") in page.errors()
    for name in ("instructions_en", "instructions_fr"):
        assert page.value(name) == data[name]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Assignment)) == 0


def test_the_past_due_date_error_is_on_the_due_date_field(app, editor_client, world):
    page = Page(
        editor_client.post_form(
            f"/sections/{world.section}/assign",
            {"consultant": str(world.amara), "due_on": iso(-3)},
        )
    )
    error = page.one(id="due_on-error")
    assert error.text() == "The due date cannot be in the past."
    assert page.value("due_on") == iso(-3)
    assert page.value("consultant") == str(world.amara)


def test_deactivated_consultants_and_editors_cannot_be_chosen(app, editor_client, world):
    for person in (world.former, world.editor):
        response = editor_client.post_form(
            f"/sections/{world.section}/assign", {"consultant": str(person), "due_on": iso(7)}
        )
        assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Assignment)) == 0


def test_a_second_offer_is_told_not_failed(app, editor_client, world):
    offer(app, world)
    response = editor_client.post_form(
        f"/sections/{world.section}/assign", {"consultant": str(world.amara), "due_on": iso(20)}
    )
    assert response.status_code == 400
    assert "Amara is already assigned to this section." in Page(response).errors()
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Assignment)) == 1


def test_the_assign_form_in_french(app, editor_client, world):
    editor_client.post_form("/language", {"locale": "fr", "next": "/"})
    response = editor_client.post_form(
        f"/sections/{world.section}/assign", {"consultant": str(world.amara), "due_on": iso(-1)}
    )
    assert response.status_code == 400
    assert translated(app, "The due date cannot be in the past.", "fr") in Page(response).errors()


# The consultant's side ---------------------------------------------------------------------


def test_the_consultant_sees_the_offer_on_their_home_dashboard(app, world, amara):
    assignment_id = offer(
        app, world, days=5, instructions_en="Please look at the wording of the second paragraph."
    )
    offer(app, world, consultant=world.river)
    response = amara.get("/")
    assert response.status_code == 200
    page = Page(response)
    assert "My assignments" in page.main
    assert "1 assignment" in page.main
    card = page.one("li", cls="usa-card")
    assert "Topic box: forced labour at sea" in card.text()
    assert "Offered" in card.text()
    with app.test_request_context():
        due = format_date(today() + timedelta(days=5), "long")
    assert f"Due {due}" in page.main
    assert "Next: Waiting for you to accept or decline." in page.main
    assert "This section has a content note." in page.main
    links = {a.attrs["href"] for a in card.iter() if a.tag == "a"}
    assert links == {f"/assignments/{assignment_id}"}
    detail = Page(amara.get(f"/assignments/{assignment_id}"))
    assert "Please look at the wording of the second paragraph." in detail.main
    assert NOTE in detail.main
    assert "“Amara”" in detail.main  # who sees their work, and under which name
    assert "Accept" in [b.text() for b in detail.all("button")]
    # Two forms ask for a reason (more time, decline): each label names its own box.
    assert detail.ambiguous_labels() == []
    for box in ("extension-reason", "decline-reason"):
        assert detail.one("textarea", id=box).attrs["name"] == "reason"
        assert len(list(detail.all("label", **{"for": box}))) == 1


def test_a_french_reader_sees_french_titles_notes_and_instructions(app, world, amara):
    assignment_id = offer(
        app, world, instructions_en="Read it closely.", instructions_fr="Lisez-le attentivement."
    )
    with app.app_context():
        db.session.get(Section, world.section).content_note_fr = "Décrit la servitude pour dettes."
        db.session.commit()
    amara.post_form("/language", {"locale": "fr", "next": "/"})
    home = Page(amara.get("/"))
    assert "Encadré : le travail forcé en mer" in home.main
    assert "Topic box" not in home.main
    detail = Page(amara.get(f"/assignments/{assignment_id}"))
    assert "Lisez-le attentivement." in detail.main and "Read it closely." not in detail.main
    assert "Décrit la servitude pour dettes." in detail.main and NOTE not in detail.main
    note_first = Page(amara.get(f"/sections/{world.section}/read"))
    assert "Décrit la servitude pour dettes." in note_first.main


def test_accept_start_read_and_submit(app, world, amara):
    assignment_id = offer(app, world)
    accepted = amara.post_form(f"/assignments/{assignment_id}/accept", follow_redirects=True)
    assert (
        "Thank you. The assignment is accepted; open the draft when you are ready."
        in Page(accepted).alerts()
    )
    assert "Ready when you are: open the draft to start." in Page(amara.get("/")).main

    started = amara.post_form(f"/assignments/{assignment_id}/start")
    assert path_of(started) == f"/sections/{world.section}/read"
    reading = Page(amara.get(path_of(started)))
    assert "Your review has started. Take the time you need." in reading.alerts()
    assert NOTE in reading.main and "Workers described" not in reading.main
    assert "Back to the assignment" in reading.main
    opened = Page(amara.get(f"/sections/{world.section}/read?continue=1"))
    assert "Workers described debts" in opened.main
    french = Page(amara.get(f"/sections/{world.section}/read?continue=1&lang=fr"))
    assert [a.attrs["lang"] for a in french.all("article")] == ["fr"]
    assert "Des travailleurs" in french.main
    both = Page(amara.get(f"/sections/{world.section}/read?continue=1&lang=both"))
    assert [a.attrs["lang"] for a in both.all("article")] == ["en", "fr"]
    assert read(app, assignment_id).state is AssignmentState.IN_REVIEW
    assert "You are reviewing this section." in Page(amara.get("/")).main

    submitted = amara.post_form(f"/assignments/{assignment_id}/submit", follow_redirects=True)
    assert "Your review is submitted. Thank you for your work." in Page(submitted).alerts()
    assert read(app, assignment_id).state is AssignmentState.SUBMITTED
    assert "Submitted. Nothing more is needed from you." in Page(amara.get("/")).main


def test_a_move_out_of_order_is_explained(app, world, amara):
    assignment_id = offer(app, world)
    response = amara.post_form(f"/assignments/{assignment_id}/submit", follow_redirects=True)
    assert "This is not possible while the assignment is “Offered”." in Page(response).alerts()
    assert read(app, assignment_id).state is AssignmentState.OFFERED


def test_a_double_accept_is_told_not_failed(app, world, amara):
    assignment_id = offer(app, world)
    amara.post_form(f"/assignments/{assignment_id}/accept")
    again = amara.post_form(f"/assignments/{assignment_id}/accept", follow_redirects=True)
    assert again.status_code == 200
    assert "This is not possible while the assignment is “Accepted”." in Page(again).alerts()


# More time ---------------------------------------------------------------------------------


def test_more_time_requested_then_granted(app, world, amara, editor_client):
    assignment_id = offer(app, world, days=5)
    amara.post_form(f"/assignments/{assignment_id}/accept")
    response = amara.post_form(
        f"/assignments/{assignment_id}/extension",
        {"until": iso(15), "reason": "I would like to read it with my support worker."},
        follow_redirects=True,
    )
    page = Page(response)
    assert (
        "Your request for more time is sent. Until it is answered, nothing changes."
        in page.alerts()
    )
    assert "Waiting for the editors to answer your request for more time." in page.main
    home = Page(amara.get("/"))
    assert "More time requested" in home.main

    editor_view = Page(editor_client.get(f"/assignments/{assignment_id}"))
    with app.test_request_context():
        asked = format_date(today() + timedelta(days=15), "long")
    assert f"Amara asks for a due date of {asked}." in editor_view.main
    assert "I would like to read it with my support worker." in editor_view.main
    granted = editor_client.post_form(
        f"/assignments/{assignment_id}/extension/answer", {"decision": "grant", "new_due_on": ""}
    )
    assert path_of(granted) == f"/sections/{world.section}"
    assignment = read(app, assignment_id)
    assert assignment.due_on == today() + timedelta(days=15)
    assert assignment.extension_state is ExtensionState.GRANTED
    assert assignment.extension_answered_by_id == world.editor
    assert "More time granted" in Page(amara.get(f"/assignments/{assignment_id}")).main


def test_more_time_refused_keeps_the_date(app, world, amara, editor_client):
    assignment_id = offer(app, world, days=5)
    amara.post_form(f"/assignments/{assignment_id}/extension", {"until": iso(15)})
    editor_client.post_form(
        f"/assignments/{assignment_id}/extension/answer", {"decision": "refuse"}
    )
    assignment = read(app, assignment_id)
    assert assignment.due_on == today() + timedelta(days=5)
    assert assignment.extension_state is ExtensionState.REFUSED
    assert "More time not granted" in Page(amara.get(f"/assignments/{assignment_id}")).main


@pytest.mark.parametrize(
    ("until", "message"),
    [
        (3, "Please choose a date after the current due date."),
        (5, "Please choose a date after the current due date."),
        (None, "Please choose a date."),
    ],
)
def test_a_bad_extension_request_is_refused_and_the_text_kept(app, world, amara, until, message):
    assignment_id = offer(app, world, days=5)
    typed = "Anything I wanted the editors to know."
    response = amara.post_form(
        f"/assignments/{assignment_id}/extension",
        {"until": iso(until) if until is not None else "", "reason": typed},
    )
    assert response.status_code == 400
    page = Page(response)
    assert translated(app, message, "en") in page.errors()
    assert page.value("reason", id="extension-reason") == typed
    assert read(app, assignment_id).extension_state is None


def test_more_time_for_overdue_work_needs_a_date_from_today_on(app, world, amara):
    assignment_id = offer(app, world, days=5)
    with app.app_context():
        db.session.get(Assignment, assignment_id).due_on = today() - timedelta(days=6)
        db.session.commit()
    response = amara.post_form(
        f"/assignments/{assignment_id}/extension", {"until": iso(-2), "reason": "Sorry."}
    )
    assert response.status_code == 400
    page = Page(response)
    assert "Please choose a date from today on." in page.errors()
    assert page.value("until") == iso(-2)
    assert read(app, assignment_id).extension_state is None
    assert (
        amara.post_form(f"/assignments/{assignment_id}/extension", {"until": iso(0)}).status_code
        == 302
    )
    assert read(app, assignment_id).extension_pending


def test_a_bad_extension_answer_is_refused(app, world, amara, editor_client):
    assignment_id = offer(app, world, days=5)
    amara.post_form(f"/assignments/{assignment_id}/extension", {"until": iso(15)})
    no_choice = editor_client.post_form(f"/assignments/{assignment_id}/extension/answer", {})
    assert no_choice.status_code == 400
    assert "Please choose an answer." in Page(no_choice).errors()
    too_early = editor_client.post_form(
        f"/assignments/{assignment_id}/extension/answer",
        {"decision": "grant", "new_due_on": iso(4)},
    )
    assert too_early.status_code == 400
    page = Page(too_early)
    assert "Please choose a date after the current due date." in page.errors()
    assert page.value("new_due_on") == iso(4)
    assignment = read(app, assignment_id)
    assert assignment.extension_pending and assignment.due_on == today() + timedelta(days=5)


# Declining ---------------------------------------------------------------------------------


class FakeSMTP:
    sent: ClassVar[list] = []

    def __init__(self, host, port, timeout=None):
        self.host = host

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def starttls(self):
        pass

    def login(self, user, password):
        pass

    def send_message(self, message):
        FakeSMTP.sent.append(message)


@pytest.fixture
def outbox(app, monkeypatch):
    FakeSMTP.sent = []
    monkeypatch.setattr("portal.mail.smtplib.SMTP", FakeSMTP)
    app.config["PORTAL_MAIL_SERVER"] = "smtp.example.org"
    return FakeSMTP.sent


def deliver(app) -> None:
    """Send the outbox, as the sender does once the response is on its way (or from cron)."""
    from portal.notifications.sender import deliver_pending

    with app.app_context():
        deliver_pending()


@pytest.mark.parametrize("reason", [REASON, ""])
def test_declining_with_or_without_a_reason(app, world, amara, editor_client, outbox, reason):
    assignment_id = offer(app, world)
    response = amara.post_form(f"/assignments/{assignment_id}/decline", {"reason": reason})
    assert path_of(response) == "/assignments"
    home = Page(amara.get("/"))
    assert (
        "You declined this assignment. The editors have been told; no reason is needed."
        in home.alerts()
    )
    assignment = read(app, assignment_id)
    assert assignment.state is AssignmentState.DECLINED
    assert assignment.decline_reason == (reason or None)

    section_page = Page(editor_client.get(f"/sections/{world.section}"))
    consultants = section_page.one("section", **{"aria-labelledby": "assign-heading"}).text()
    assert "Declined" in consultants
    assert (f"Reason given: {reason}" in " ".join(consultants.split())) is bool(reason)

    deliver(app)
    (message,) = [m for m in outbox if m["To"] == "editor@example.org"]
    body = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    assert f"https://portal.example.org/sections/{world.section}" in body
    assert f'href="https://portal.example.org/sections/{world.section}"' in html
    assert "Amara" in body
    # A link only: no reason, no title, nothing of the text.
    for secret in (REASON, "forced labour", "Workers described", NOTE):
        assert secret.lower() not in body.lower()
        assert secret.lower() not in html.lower()
        assert secret.lower() not in message["Subject"].lower()


def test_the_decline_e_mail_is_in_the_editors_language(app, world, amara, outbox):
    with app.app_context():
        db.session.get(User, world.editor).locale = "fr"
        db.session.commit()
    assignment_id = offer(app, world)
    amara.post_form(f"/assignments/{assignment_id}/decline", {"reason": ""})
    deliver(app)
    (message,) = [m for m in outbox if m["To"] == "editor@example.org"]
    assert message["Subject"] == translated(app, "An assignment was declined", "fr")


def test_a_double_decline_sends_one_e_mail(app, world, amara, outbox):
    assignment_id = offer(app, world)
    amara.post_form(f"/assignments/{assignment_id}/decline", {"reason": REASON})
    again = amara.post_form(
        f"/assignments/{assignment_id}/decline", {"reason": REASON}, follow_redirects=True
    )
    assert again.status_code == 200
    assert "This is not possible while the assignment is “Declined”." in Page(again).alerts()
    deliver(app)
    assert len([m for m in outbox if m["To"] == "editor@example.org"]) == 1


def test_no_e_mail_when_mail_is_off_and_declining_still_works(app, world, amara):
    assignment_id = offer(app, world)
    assert app.config["PORTAL_MAIL_SERVER"] == ""
    response = amara.post_form(f"/assignments/{assignment_id}/decline", {"reason": ""})
    assert response.status_code == 302
    assert read(app, assignment_id).state is AssignmentState.DECLINED


def test_a_too_long_reason_is_refused_and_kept(app, world, amara, outbox):
    assignment_id = offer(app, world)
    reason = "r" * 1001
    response = amara.post_form(f"/assignments/{assignment_id}/decline", {"reason": reason})
    assert response.status_code == 400
    page = Page(response)
    assert "Please use at most 1000 characters." in page.errors()
    assert page.value("reason", id="decline-reason") == reason
    assert read(app, assignment_id).state is AssignmentState.OFFERED
    assert outbox == []


def test_a_declined_assignment_stays_listed_without_a_link(app, world, amara):
    assignment_id = offer(app, world)
    amara.post_form(f"/assignments/{assignment_id}/decline", {"reason": ""})
    page = Page(amara.get("/"))
    assert "You declined. Nothing is needed from you." in page.main
    assert f"/assignments/{assignment_id}" not in page.html


def test_withdrawing_an_offer(app, world, amara, editor_client):
    assignment_id = offer(app, world)
    response = editor_client.post_form(
        f"/assignments/{assignment_id}/withdraw", follow_redirects=True
    )
    assert "The request is withdrawn." in Page(response).alerts()
    assert read(app, assignment_id).state is AssignmentState.WITHDRAWN
    assert "The editors withdrew this request." in Page(amara.get("/")).main
    assert amara.get(f"/assignments/{assignment_id}").status_code == 404
    # Offered again: the consultant sees it again.
    again = editor_client.post_form(
        f"/sections/{world.section}/assign", {"consultant": str(world.amara), "due_on": iso(9)}
    )
    assert again.status_code == 302
    assert amara.get(f"/assignments/{assignment_id}").status_code == 200


# The dashboards ----------------------------------------------------------------------------


def test_the_editor_dashboard_marks_states_and_overdue_in_words(app, world, editor_client):
    late = offer(app, world, days=1)
    with app.app_context():
        db.session.get(Assignment, late).due_on = today() - timedelta(days=2)
        db.session.commit()
    offer(app, world, consultant=world.river, days=3)
    page = Page(editor_client.get(f"/reports/{world.report}"))
    header = [th.text().strip() for th in page.one("thead").iter() if th.tag == "th"]
    assert header[2:4] == ["Amara", "River"]
    row = page.one("tr", id=f"section-{world.section}")
    cells = [" ".join(td.text().split()) for td in row.children if getattr(td, "tag", "") == "td"]
    assert cells[1].startswith("Offered Overdue")
    assert "Overdue" not in cells[2]
    icon = [n for n in row.iter() if n.tag == "img"]
    assert len(icon) == 1 and icon[0].attrs["alt"] == ""  # the word carries the meaning
    overdue_only = Page(editor_client.get(f"/reports/{world.report}?overdue=y"))
    assert "1 section" in overdue_only.main
    other = Page(editor_client.get(f"/reports/{world.report}?state=accepted"))
    assert "No section matches." in other.main
    by_river = Page(editor_client.get(f"/reports/{world.report}?consultant={world.river}"))
    assert "1 section" in by_river.main and by_river.value("consultant") == str(world.river)


def test_the_consultant_dashboard_orders_by_due_date_and_paginates(app, world, amara):
    with app.test_request_context():
        author = db.session.get(User, world.editor)
        report = db.session.get(Section, world.section).report
        for n in range(21):
            section = services.create_section(author, report, title_en=f"Part {n:02d}")
            assignment_services.assign_section(
                author,
                section,
                db.session.get(User, world.amara),
                due_on=today() + timedelta(days=30 - n),
            )
        db.session.commit()
    first = Page(amara.get("/"))
    titles = [h.text().strip() for h in first.all("h3")]
    assert titles[:3] == ["Part 20", "Part 19", "Part 18"]
    assert len(titles) == 20 and "21 assignments" in first.main
    assert "Page 1 of 2" in first.main
    second = Page(amara.get("/assignments?page=2"))
    assert [h.text().strip() for h in second.all("h3")] == ["Part 00"]
