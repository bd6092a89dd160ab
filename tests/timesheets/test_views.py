"""Time records through the test client: the consultant records, changes and deletes their time;
editors approve it or ask about it; statements on screen and as CSV; who sees what (Z3, Z4, Z5);
bad input gives a translated message and keeps what was typed; a second tab's save is a conflict.
"""

from __future__ import annotations

import csv
import io
import json
import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from flask_babel import force_locale, format_date
from sqlalchemy import select

from portal.accounts.models import User
from portal.extensions import db
from portal.reports.models import Report, Section
from portal.timesheets.models import TimeRecord, TimeRecordStatus
from tests.reports.pages import Page, location, path_of
from tests.timesheets import (
    NOTE,
    QUESTION,
    add_in,
    audit_events,
    days_ago,
    read,
    records_of,
    signed_in,
    today,
    world,  # noqa: F401  (fixture)
)


def form_for(world, **changes) -> dict:  # noqa: F811
    """A valid new-record form for Amara's introduction, with these changes."""
    values = {
        "assignment": str(world.a_intro),
        "worked_on": today().isoformat(),
        "hours": "1",
        "minutes": "30",
        "activity": "annotating",
        "note": NOTE,
    }
    return values | changes


def hidden_revision(page: Page) -> str:
    return page.value("revision")


def approve_in(app, record_id: int, editor_id: int, when: datetime | None = None) -> None:
    from portal.timesheets import services

    with app.test_request_context():
        row = db.session.get(TimeRecord, record_id)
        services.approve_time(db.session.get(User, editor_id), row, expected_revision=row.revision)
        if when is not None:
            row.approved_at = when
        db.session.commit()


# The consultant's page ---------------------------------------------------------------------


def test_a_consultant_records_time_and_sees_it_waiting(app, world):  # noqa: F811
    client = signed_in(app, world.amara)
    page = Page(client.get("/time"))
    # Only their accepted assignments are offered: not the offered one, not River's.
    assert [value for value, _label in page.options("assignment")] == [
        "",
        str(world.a_intro),
        str(world.a_photos),
    ]
    assert page.value("worked_on") == today().isoformat()

    response = client.post_form("/time", form_for(world))
    assert response.status_code == 302, Page(response).errors()
    assert path_of(response) == "/time"
    page = Page(client.get(location(response)))
    assert "Your time is recorded: 1 h 30 min" in " ".join(page.alerts())
    assert "Waiting for approval" in page.main
    assert NOTE in page.main
    with app.test_request_context():
        heading = format_date(today(), "LLLL y")
    assert heading in [node.text().strip() for node in page.all("h3")]
    [saved] = records_of(app, world.amara)
    assert (saved.minutes, saved.activity.value, saved.note) == (90, "annotating", NOTE)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"hours": "1.5", "minutes": ""}, "hours", "hours as a whole number from 0 to 24"),
        ({"hours": "25"}, "hours", "hours as a whole number from 0 to 24"),
        ({"minutes": "60"}, "minutes", "minutes as a whole number from 0 to 59"),
        ({"minutes": "abc"}, "minutes", "minutes as a whole number from 0 to 59"),
        ({"hours": "0", "minutes": "0"}, "hours", "at least 1 minute"),
        ({"hours": "", "minutes": ""}, "hours", "at least 1 minute"),
        ({"hours": "24", "minutes": "1"}, "hours", "at most 24 hours"),
        ({"worked_on": "tomorrow"}, "worked_on", "Please enter a date"),
        ({"worked_on": ""}, "worked_on", "Please enter the date"),
        ({"activity": ""}, "activity", "Please choose what you did"),
        ({"assignment": ""}, "assignment", "Please choose the assignment"),
        ({"note": "x" * 1001}, "note", "at most 1000 characters"),
    ],
)
def test_bad_input_is_explained_and_what_was_typed_is_kept(app, world, changes, field, message):  # noqa: F811
    client = signed_in(app, world.amara)
    sent = form_for(world, **changes)
    response = client.post_form("/time", sent)
    assert response.status_code == 400
    page = Page(response)
    assert any(message in error for error in page.errors()), page.errors()
    assert "Nothing you typed was lost" in " ".join(page.alerts())
    for name in ("hours", "minutes", "note", "worked_on"):
        assert page.value(name) == sent[name]
    assert records_of(app, world.amara) == []


def test_dates_in_the_future_or_over_a_year_ago_are_refused(app, world):  # noqa: F811
    client = signed_in(app, world.amara)
    for worked_on, message in (
        (today() + timedelta(days=2), "cannot be in the future"),
        (days_ago(367), "past year only"),
    ):
        response = client.post_form("/time", form_for(world, worked_on=worked_on.isoformat()))
        assert response.status_code == 400
        assert any(message in e for e in Page(response).errors())
    assert records_of(app, world.amara) == []


def test_the_daily_limit_is_explained_on_the_time_field(app, world):  # noqa: F811
    add_in(app, world.amara, world.a_photos, 23 * 60)
    client = signed_in(app, world.amara)
    response = client.post_form("/time", form_for(world, hours="1", minutes="1"))
    assert response.status_code == 400
    page = Page(response)
    assert any("more than 24 hours: 23 h is recorded" in e for e in page.errors()), page.errors()
    assert (page.value("hours"), page.value("minutes")) == ("1", "1")
    assert len(records_of(app, world.amara)) == 1


def test_someone_elses_or_an_unaccepted_assignment_is_refused(app, world):  # noqa: F811
    client = signed_in(app, world.amara)
    for assignment in (world.a_river, world.a_offered, 987654, "x"):
        response = client.post_form("/time", form_for(world, assignment=str(assignment)))
        assert response.status_code == 400
        assert any("one of your assignments" in e for e in Page(response).errors())
    assert records_of(app, world.amara) == []


def test_extra_fields_do_not_choose_the_owner_or_the_status(app, world):  # noqa: F811
    client = signed_in(app, world.amara)
    response = client.post_form(
        "/time",
        form_for(
            world,
            consultant_id=str(world.river),
            consultant=str(world.river),
            status="approved",
            approved_by_id=str(world.editor),
            revision="7",
        ),
    )
    assert response.status_code == 302
    [saved] = records_of(app, world.amara)
    assert saved.status is TimeRecordStatus.SUBMITTED
    assert (saved.approved_by_id, saved.revision) == (None, 1)
    assert records_of(app, world.river) == []


def test_a_consultant_sees_only_their_own_records(app, world):  # noqa: F811
    mine = add_in(app, world.amara, world.a_intro, 75, note=NOTE)
    theirs = add_in(app, world.river, world.a_river, 45, note="River's own note.")
    client = signed_in(app, world.river)
    page = Page(client.get("/time"))
    assert "River's own note." in page.main
    assert NOTE not in page.main
    assert "1 h 15 min" not in page.main
    # Amara's record does not exist for River (Z3), whatever the action.
    assert client.get(f"/time/{mine}/edit").status_code == 404
    assert client.post_form(f"/time/{mine}/edit", form_for(world)).status_code == 404
    assert client.post_form(f"/time/{mine}/delete", {"revision": "1"}).status_code == 404
    assert client.get("/time/987654/edit").status_code == 404
    assert read(app, mine).minutes == 75
    # River's statement is River's, whoever is asked for.
    approve_in(app, mine, world.editor)
    approve_in(app, theirs, world.editor)
    statement = Page(client.get(f"/time/statement?consultant={world.amara}"))
    assert "River" in statement.main
    assert "Amara" not in statement.main
    assert "45 min" in statement.main
    assert "1 h 15 min" not in statement.main
    exported = client.get(f"/time/statement.csv?consultant={world.amara}")
    assert [row["consultant"] for row in csv.DictReader(io.StringIO(exported.text))] == ["River"]


def test_editors_and_admins_do_not_record_time_and_consultants_do_not_judge(app, world):  # noqa: F811
    record_id = add_in(app, world.amara, world.a_intro)
    for user_id in (world.editor, world.admin):
        client = signed_in(app, user_id)
        assert client.get("/time").status_code == 403
        assert client.post_form("/time", form_for(world)).status_code == 403
        assert client.get(f"/time/{record_id}/edit").status_code == 403
    assert len(records_of(app, world.amara)) == 1
    client = signed_in(app, world.amara)
    assert client.get("/time/review").status_code == 403
    assert client.post_form(f"/time/{record_id}/approve", {"revision": "1"}).status_code == 403
    assert client.get(f"/time/{record_id}/query").status_code == 403
    assert read(app, record_id).status is TimeRecordStatus.SUBMITTED


def test_two_saves_at_once_cannot_pass_the_daily_limit_together(app, world, monkeypatch):  # noqa: F811
    """Both requests pass every check before the lock, so the race happens on every run."""
    from portal.timesheets import services

    barrier = threading.Barrier(2, timeout=30)
    original = services._lock_days_of

    def waiting(consultant):
        barrier.wait()
        return original(consultant)

    clients = [signed_in(app, world.amara) for _ in range(2)]
    tokens = [client.csrf_token() for client in clients]
    monkeypatch.setattr(services, "_lock_days_of", waiting)
    sent = form_for(world, hours="13", minutes="20")
    results: list = [None, None]

    def send(index: int) -> None:
        try:
            response = clients[index].post("/time", data=sent | {"csrf_token": tokens[index]})
            results[index] = response.status_code
        except BaseException as error:  # reported below, from the test's thread
            results[index] = error

    threads = [threading.Thread(target=send, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(results, key=str) == [302, 400], results
    assert [r.minutes for r in records_of(app, world.amara)] == [800]


# Changing and deleting ---------------------------------------------------------------------


def test_a_consultant_changes_and_deletes_an_unapproved_record(app, world):  # noqa: F811
    record_id = add_in(app, world.amara, world.a_intro, 90, note=NOTE)
    client = signed_in(app, world.amara)
    page = Page(client.get(f"/time/{record_id}/edit"))
    assert (page.value("hours"), page.value("minutes"), page.value("note")) == ("1", "30", NOTE)
    assert page.value("assignment") == str(world.a_intro)
    response = client.post_form(
        f"/time/{record_id}/edit",
        form_for(world, assignment=str(world.a_photos), hours="2", minutes="0")
        | {"revision": hidden_revision(page)},
    )
    assert response.status_code == 302
    saved = read(app, record_id)
    assert (saved.assignment_id, saved.minutes, saved.revision) == (world.a_photos, 120, 2)

    # A delete sent from a page older than the last change is refused.
    stale = client.post_form(f"/time/{record_id}/delete", {"revision": "1"})
    assert stale.status_code == 302
    assert read(app, record_id) is not None
    listing = Page(client.get("/time"))
    assert "changed since you opened the page" in " ".join(listing.alerts())
    response = client.post_form(f"/time/{record_id}/delete", {"revision": "2"})
    assert response.status_code == 302
    assert read(app, record_id) is None
    assert [action for action, *_rest in audit_events(app, "time_record.")] == [
        "time_record.added",
        "time_record.changed",
        "time_record.deleted",
    ]


def test_a_second_tab_saving_first_is_a_conflict_that_keeps_the_text(app, world):  # noqa: F811
    record_id = add_in(app, world.amara, world.a_intro, 90, note=NOTE)
    first, second = signed_in(app, world.amara), signed_in(app, world.amara)
    first_revision = hidden_revision(Page(first.get(f"/time/{record_id}/edit")))
    second_revision = hidden_revision(Page(second.get(f"/time/{record_id}/edit")))
    saved = first.post_form(
        f"/time/{record_id}/edit",
        form_for(world, note="Saved from the first tab.") | {"revision": first_revision},
    )
    assert saved.status_code == 302
    mine = "Written in the second tab, and worth keeping."
    response = second.post_form(
        f"/time/{record_id}/edit",
        form_for(world, hours="3", minutes="15", note=mine) | {"revision": second_revision},
    )
    assert response.status_code == 409
    page = Page(response)
    assert "changed since you opened the page" in page.main
    assert "Saved from the first tab." in page.main  # what is saved now
    assert (page.value("note"), page.value("hours"), page.value("minutes")) == (mine, "3", "15")
    assert read(app, record_id).note == "Saved from the first tab."
    # Saving again from the conflict page, which carries the new revision, goes through.
    again = second.post_form(
        f"/time/{record_id}/edit",
        form_for(world, hours="3", minutes="15", note=mine) | {"revision": hidden_revision(page)},
    )
    assert again.status_code == 302
    assert (read(app, record_id).note, read(app, record_id).minutes) == (mine, 195)


def test_approval_while_editing_keeps_the_text_but_saves_nothing(app, world):  # noqa: F811
    record_id = add_in(app, world.amara, world.a_intro, 90)
    client = signed_in(app, world.amara)
    revision = hidden_revision(Page(client.get(f"/time/{record_id}/edit")))
    approve_in(app, record_id, world.editor)
    response = client.post_form(
        f"/time/{record_id}/edit", form_for(world, note="My late change.") | {"revision": revision}
    )
    assert response.status_code == 409
    page = Page(response)
    assert "can no longer be changed" in page.main
    assert page.value("note") == "My late change."
    assert not [
        b for b in page.all("button") if b.attrs.get("type") == "submit" and "Save" in b.text()
    ]
    assert read(app, record_id).minutes == 90
    # Afterwards the record is locked: no edit page, no delete.
    response = client.get(f"/time/{record_id}/edit")
    assert response.status_code == 302
    assert client.post_form(f"/time/{record_id}/delete", {"revision": "2"}).status_code == 302
    assert read(app, record_id) is not None
    listing = Page(client.get("/time"))
    assert "Approved" in listing.main
    assert f"/time/{record_id}/edit" not in listing.html


# The editors' check ------------------------------------------------------------------------


def test_editors_approve_or_ask_and_the_consultant_answers(app, world):  # noqa: F811
    asked_id = add_in(app, world.amara, world.a_intro, 90, note=NOTE)
    approved_id = add_in(app, world.amara, world.a_photos, 30)
    editor = signed_in(app, world.editor)
    page = Page(editor.get("/time/review"))
    assert "Amara" in page.main
    assert NOTE in page.main
    assert "Amara Okafor" not in page.html  # legal names are for admins, on statements only
    assert "consultant@example.org" not in page.html
    forms = {
        node.attrs["action"]: node
        for node in page.all("form")
        if "approve" in node.attrs.get("action", "")
    }
    assert set(forms) == {f"/time/{asked_id}/approve", f"/time/{approved_id}/approve"}

    response = editor.post_form(
        f"/time/{approved_id}/approve", {"revision": "1", "next": "/time/review?status=submitted"}
    )
    assert location(response) == "/time/review?status=submitted"
    assert read(app, approved_id).status is TimeRecordStatus.APPROVED
    # A second click is told, not failed; an unsafe `next` is not followed.
    response = editor.post_form(
        f"/time/{approved_id}/approve", {"revision": "1", "next": "//evil.example/"}
    )
    assert location(response) == "/time/review"
    assert "approved already" in " ".join(Page(editor.get("/time/review")).alerts())

    query = Page(editor.get(f"/time/{asked_id}/query?next=/time/review"))
    assert "1 h 30 min" in query.main
    response = editor.post_form(
        f"/time/{asked_id}/query",
        {"question": QUESTION, "revision": query.value("revision"), "next": "/time/review"},
    )
    assert location(response) == "/time/review"
    assert read(app, asked_id).status is TimeRecordStatus.QUERIED

    consultant = signed_in(app, world.amara)
    mine = Page(consultant.get("/time"))
    assert QUESTION in mine.main
    assert "The editors have a question about one of your records" in mine.main
    edit = Page(consultant.get(f"/time/{asked_id}/edit"))
    assert QUESTION in edit.main
    assert "Asked by Camille" in edit.main
    response = consultant.post_form(
        f"/time/{asked_id}/edit",
        form_for(world, note="It was the 4th.") | {"revision": edit.value("revision")},
    )
    assert response.status_code == 302
    assert "sent back to the editors" in " ".join(Page(consultant.get("/time")).alerts())
    assert read(app, asked_id).status is TimeRecordStatus.SUBMITTED
    page = Page(editor.get("/time/review"))
    assert "Earlier question, answered:" in page.main
    assert "It was the 4th." in page.main

    details = " ".join(detail for *_rest, detail in audit_events(app, "time_record."))
    assert NOTE not in details and QUESTION not in details and "4th" not in details


def test_an_editor_approves_only_what_they_saw(app, world):  # noqa: F811
    record_id = add_in(app, world.amara, world.a_intro, 90)
    editor = signed_in(app, world.editor)
    Page(editor.get("/time/review"))  # the editor loads the list at revision 1...
    consultant = signed_in(app, world.amara)
    consultant.post_form(
        f"/time/{record_id}/edit", form_for(world, hours="9", minutes="0") | {"revision": "1"}
    )
    response = editor.post_form(f"/time/{record_id}/approve", {"revision": "1"})
    assert response.status_code == 302
    assert "was not approved" in " ".join(Page(editor.get("/time/review")).alerts())
    assert read(app, record_id).status is TimeRecordStatus.SUBMITTED
    # A question sent from a stale page keeps its text.
    response = editor.post_form(
        f"/time/{record_id}/query", {"question": QUESTION, "revision": "1", "next": ""}
    )
    assert response.status_code == 409
    assert Page(response).value("question") == QUESTION
    assert editor.post_form("/time/987654/approve", {"revision": "1"}).status_code == 404


def test_the_review_list_filters(app, world, make_user):  # noqa: F811
    add_in(app, world.amara, world.a_intro, 61, note="Amara waiting")
    river = add_in(app, world.river, world.a_river, 62, note="River approved")
    approve_in(app, river, world.editor)
    editor = signed_in(app, world.editor)
    waiting = Page(editor.get("/time/review")).main
    assert "Amara waiting" in waiting and "River approved" not in waiting
    approved = Page(editor.get("/time/review?status=approved")).main
    assert "River approved" in approved and "Amara waiting" not in approved
    everyone = Page(editor.get(f"/time/review?status=all&consultant={world.river}")).main
    assert "River approved" in everyone and "Amara waiting" not in everyone
    nothing = Page(editor.get("/time/review?status=all&report=987654")).main
    assert "No time records match" in nothing
    assert editor.get("/time/review?status=nonsense&consultant=x").status_code == 200


# Statements --------------------------------------------------------------------------------

MAY = datetime(2026, 5, 12, 9, tzinfo=UTC)


@pytest.fixture
def paid(app, world):  # noqa: F811
    """Amara: 1 h 30 and 30 min on the introduction and 45 min on photographs approved in May
    2026; 20 min approved in June; 2 h waiting. River: 1 h approved in May."""
    for assignment, minutes, when in (
        (world.a_intro, 90, MAY),
        (world.a_intro, 30, MAY),
        (world.a_photos, 45, MAY),
        (world.a_photos, 20, datetime(2026, 6, 1, tzinfo=UTC)),
    ):
        approve_in(app, add_in(app, world.amara, assignment, minutes), world.editor, when)
    add_in(app, world.amara, world.a_intro, 120)
    approve_in(app, add_in(app, world.river, world.a_river, 60), world.editor, MAY)
    return world


def test_the_statement_totals_approved_time_per_assignment(app, paid):
    client = signed_in(app, paid.amara)
    page = Page(client.get("/time/statement?month=2026-05"))
    rows = [
        [cell.text().strip() for cell in row.iter() if cell.tag in ("th", "td")]
        for row in page.all("tr")
    ]
    assert ["Introduction — 2027 Report", "2", "2 h", "2"] in rows
    assert ["Photographs — 2027 Report", "1", "45 min", "0.75"] in rows
    assert ["Total", "3", "2 h 45 min", "2.75"] in rows
    assert "Amara Okafor" not in page.html  # not even to the consultant: admins only
    rows = list(csv.DictReader(io.StringIO(client.get("/time/statement.csv?month=2026-05").text)))
    assert [(r["section"], r["records"], r["minutes"], r["hours"]) for r in rows] == [
        ("Introduction", "2", "120", "2.00"),
        ("Photographs", "1", "45", "0.75"),
    ]
    assert "legal_name" not in rows[0]
    june = Page(client.get("/time/statement?month=2026-06")).main
    assert "20 min" in june
    assert "No time was approved" in Page(client.get("/time/statement?month=2026-07")).main


def test_legal_names_are_on_statements_for_admins_only(app, paid):
    url = f"/time/statement?consultant={paid.amara}&month=2026-05"
    editor = signed_in(app, paid.editor)
    page = Page(editor.get(url))
    assert "Amara" in page.main and "2 h 45 min" in page.main
    assert "Amara Okafor" not in page.html
    assert "consultant@example.org" not in page.html
    exported = editor.get(url.replace("statement?", "statement.csv?"))
    assert "Amara Okafor" not in exported.text
    assert "legal_name" not in exported.text.splitlines()[0]

    admin = signed_in(app, paid.admin)
    assert "Amara Okafor" in Page(admin.get(url)).main
    rows = list(
        csv.DictReader(io.StringIO(admin.get(url.replace("statement?", "statement.csv?")).text))
    )
    assert {r["legal_name"] for r in rows} == {"Amara Okafor"}
    exports = audit_events(app, "time_statement.exported")
    assert [(object_id, json.loads(detail)) for _a, object_id, detail in exports] == [
        (str(paid.amara), {"month": "2026-05"}),
        (str(paid.amara), {"month": "2026-05"}),
    ]


def test_statement_cells_that_look_like_formulas_are_escaped(app, paid):
    with app.app_context():
        db.session.get(Section, paid.intro).title_en = '=HYPERLINK("http://x")'
        db.session.get(Section, paid.photos).title_en = "-2+3"
        db.session.scalar(select(Report)).title_en = "+Report"
        db.session.get(User, paid.amara).display_name = "@Amara"
        db.session.commit()
    admin = signed_in(app, paid.admin)
    rows = list(
        csv.DictReader(
            io.StringIO(
                admin.get(f"/time/statement.csv?consultant={paid.amara}&month=2026-05").text
            )
        )
    )
    assert [r["section"] for r in rows] == ['\'=HYPERLINK("http://x")', "'-2+3"]
    assert {r["report"] for r in rows} == {"'+Report"}
    assert {r["consultant"] for r in rows} == {"'@Amara"}


def test_statement_choices_are_checked(app, paid):
    editor = signed_in(app, paid.editor)
    assert "Choose a consultant and a month" in Page(editor.get("/time/statement")).main
    assert editor.get(f"/time/statement?consultant={paid.editor}").status_code == 404
    assert editor.get("/time/statement?consultant=987654").status_code == 404
    response = editor.get(f"/time/statement?consultant={paid.amara}&month=2026-13")
    assert response.status_code == 400
    assert any("like 2026-05" in e for e in Page(response).errors())
    assert Page(response).value("month") == "2026-13"
    response = editor.get("/time/statement.csv?month=2026-05")
    assert location(response) == "/time/statement?month=2026-05"
    assert audit_events(app, "time_statement.") == []


# Language ----------------------------------------------------------------------------------


def test_the_page_renders_in_french_for_a_french_account(app, world, make_user):  # noqa: F811
    from portal.assignments import services as assignments

    francophone = make_user("consultant", display_name="Noor", locale="fr")
    with app.test_request_context():
        editor = db.session.get(User, world.editor)
        section = db.session.get(Section, world.intro)
        section.title_fr = "Introduction (version française)"
        offer = assignments.assign_section(
            editor, section, db.session.get(User, francophone), due_on=today() + timedelta(days=9)
        )
        assignments.accept(db.session.get(User, francophone), offer)
        db.session.commit()
        assignment_id = offer.id
    record_id = add_in(app, francophone, assignment_id, 90)
    approve_in(app, record_id, world.editor, datetime(2026, 5, 4, tzinfo=UTC))
    client = signed_in(app, francophone)
    response = client.get("/time")
    assert response.status_code == 200
    page = Page(response)
    assert '<html lang="fr">' in page.html
    assert "Sortie rapide" in page.html  # the shared layout, in French
    assert "Introduction (version française)" in page.main
    with app.test_request_context(), force_locale("fr"):
        worked = format_date(today(), "LLLL y")
        approved = format_date(date(2026, 5, 4), "long")
    assert worked in page.main
    assert approved in page.main  # "4 mai 2026"
    statement = Page(client.get("/time/statement?month=2026-05"))
    assert "1,5" in statement.main  # hours with a decimal comma


def test_the_menu_leads_each_role_to_its_time_page(app, world):  # noqa: F811
    consultant = Page(signed_in(app, world.amara).get("/time"))
    [link] = [a for a in consultant.all("a", cls="usa-nav-link") if a.attrs["href"] == "/time"]
    assert link.text().strip() == "Time records"
    assert link.attrs.get("aria-current") == "page"
    assert not [a for a in consultant.all("a") if a.attrs.get("href") == "/time/review"]
    for user_id in (world.editor, world.admin):
        page = Page(signed_in(app, user_id).get("/"))
        [link] = [a for a in page.all("a", cls="usa-nav-link") if a.attrs["href"] == "/time/review"]
        assert link.text().strip() == "Time to review"
