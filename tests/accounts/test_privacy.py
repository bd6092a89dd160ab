"""Privacy self-service: my own data as a ZIP; anonymising a departed consultant."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

from portal.accounts.models import User
from portal.assignments.services import accept, assign_section
from portal.extensions import db
from portal.models import utcnow
from portal.reports import services as reports
from portal.reports.models import Section
from portal.review.models import AnnotationKind, Decision, SectionDecision
from portal.review.services import create_annotation, submit_decision
from tests.conftest import PASSWORD


def _work(app, editor_id: int, consultant_id: int) -> int:
    """The consultant comments and decides on a section; returns the section id."""
    with app.test_request_context():
        editor = db.session.get(User, editor_id)
        consultant = db.session.get(User, consultant_id)
        report = reports.create_report(editor, title_en="Report", year=2027)
        section = reports.create_section(editor, report, title_en="Introduction")
        reports.publish_version(
            editor,
            section,
            body_en="Nothing about us without us.",
            body_fr=None,
            change_summary=None,
            based_on=0,
        )
        assignment = assign_section(
            editor, section, consultant, due_on=utcnow().date() + timedelta(days=3)
        )
        accept(consultant, assignment)
        create_annotation(
            consultant,
            section,
            language="en",
            kind=AnnotationKind.COMMENT,
            body="Keep this line.",
            start=0,
            end=7,
        )
        submit_decision(
            consultant,
            section,
            version_number=1,
            decision=Decision.APPROVE,
            summary=None,
            submission_key="k-1",
        )
        db.session.commit()
        return section.id


def test_a_consultant_downloads_their_own_data(app, client, auth, editor, consultant, consultant2):
    _work(app, editor, consultant)
    auth.login("consultant@example.org")
    response = client.post_form("/account/my-data")
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    names = set(archive.namelist())
    assert {
        "README.txt",
        "profile.json",
        "annotations.json",
        "annotations.csv",
        "decisions.json",
        "assignments.csv",
    } <= names
    profile = json.loads(archive.read("profile.json"))
    assert profile["email"] == "consultant@example.org"
    assert profile["legal_name"] == "Amara Okafor"
    annotations = json.loads(archive.read("annotations.json"))
    assert [a["comment"] for a in annotations] == ["Keep this line."]
    assert [d["decision"] for d in json.loads(archive.read("decisions.json"))] == ["approve"]
    # Nothing of anyone else's.
    assert b"consultant2@example.org" not in b"".join(archive.read(n) for n in names)


def test_an_admin_anonymises_a_departed_consultant(app, client, auth, admin, editor, consultant):
    section_id = _work(app, editor, consultant)
    auth.login("admin@example.org")
    response = client.post_form(f"/admin/accounts/{consultant}/anonymise")
    assert response.status_code == 302
    with app.app_context():
        user = db.session.get(User, consultant)
        assert user.is_anonymised and not user.active
        assert user.legal_name is None
        assert "example.org" not in user.email
        assert user.display_name == f"Former consultant {consultant}"
        decision = db.session.query(SectionDecision).one()
        assert decision.consultant_id == consultant  # the clearance history is kept
    page = client.get(f"/admin/accounts/{consultant}").get_data(as_text=True)
    assert "Amara" not in page and "consultant@example.org" not in page
    auth.logout()
    assert auth.login("consultant@example.org", PASSWORD).status_code == 400
    auth.login("editor@example.org")
    section_page = client.get(f"/sections/{section_id}").get_data(as_text=True)
    assert f"Former consultant {consultant}" in section_page
    assert "Amara" not in section_page
    # The reading page lists comments from plain rows: the database words the name the same way.
    reading = client.get(f"/sections/{section_id}/read?continue=1").get_data(as_text=True)
    assert f"Former consultant {consultant}" in reading
    assert "former-" not in reading and "Amara" not in reading
    # So does the report's grid of sections and consultants.
    with app.app_context():
        report_id = db.session.get(Section, section_id).report_id
    grid = client.get(f"/reports/{report_id}").get_data(as_text=True)
    assert f"Former consultant {consultant}" in grid
    assert "former-" not in grid and "Amara" not in grid
    client.post_form("/language", {"locale": "fr", "next": "/"})
    reading = client.get(f"/sections/{section_id}/read?continue=1").get_data(as_text=True)
    assert f"Ancienne ou ancien consultant {consultant}" in reading
    grid = client.get(f"/reports/{report_id}").get_data(as_text=True)
    assert f"Ancienne ou ancien consultant {consultant}" in grid


def test_only_consultants_can_be_anonymised_and_not_oneself(client, auth, admin, editor):
    auth.login("admin@example.org")
    client.post_form(f"/admin/accounts/{editor}/anonymise")
    page = client.get(f"/admin/accounts/{editor}").get_data(as_text=True)
    assert "Only consultants" in page


def test_sign_offs_and_photo_notes_are_in_my_data_and_survive_anonymising(
    app, client, auth, admin, editor, consultant
):
    from portal.media.models import SignOff
    from portal.reports.models import Section
    from tests.test_access_matrix import _media_objects

    section_id = _work(app, editor, consultant)
    with app.test_request_context():
        objects = _media_objects(
            db.session.get(User, editor),
            db.session.get(User, consultant),
            db.session.get(Section, section_id),
        )
    auth.login("consultant@example.org")
    archive = zipfile.ZipFile(io.BytesIO(client.post_form("/account/my-data").data))
    [sign_off] = json.loads(archive.read("sign_offs.json"))
    assert (sign_off["item_id"], sign_off["decision"], sign_off["version"]) == (
        objects["item_id"],
        "approve",
        1,
    )
    assert "Consent: documented, informed consent" in sign_off["checklist"]
    [note] = json.loads(archive.read("photo_notes.json"))
    assert note["note"] == "This face could be recognised."
    assert note["area"] == "xywh=percent:10.0,10.0,20.0,20.0"
    assert "photo_notes.csv" in archive.namelist()
    auth.logout()

    auth.login("admin@example.org")
    assert client.post_form(f"/admin/accounts/{consultant}/anonymise").status_code == 302
    with app.app_context():
        assert db.session.query(SignOff).one().consultant_id == consultant
    auth.logout()
    auth.login("editor@example.org")
    with app.app_context():
        report_id = db.session.get(Section, section_id).report_id
    clearance = client.get(f"/reports/{report_id}/clearance").get_data(as_text=True)
    assert f"Former consultant {consultant}" in clearance
    assert "Amara" not in clearance


def test_time_away_and_notifications_are_in_my_data_and_anonymising_erases_time_away(
    app, client, auth, admin, editor, consultant
):
    from portal.availability.models import AwayPeriod
    from portal.availability.services import add_period

    _work(app, editor, consultant)  # offering the section notified the consultant
    with app.test_request_context():
        start = utcnow().date() + timedelta(days=5)
        add_period(
            db.session.get(User, consultant),
            starts_on=start,
            ends_on=start + timedelta(days=4),
            note="Family visit",
        )
        db.session.commit()
    auth.login("consultant@example.org")
    archive = zipfile.ZipFile(io.BytesIO(client.post_form("/account/my-data").data))
    assert json.loads(archive.read("time_records.json")) == []
    [away] = json.loads(archive.read("time_away.json"))
    assert (away["starts_on"], away["note"]) == (start.isoformat(), "Family visit")
    notifications = json.loads(archive.read("notifications.json"))
    assert [n["kind"] for n in notifications] == ["assignment_offered"]
    assert "Introduction" in notifications[0]["text"]
    auth.logout()
    auth.login("admin@example.org")
    assert client.post_form(f"/admin/accounts/{consultant}/anonymise").status_code == 302
    with app.app_context():
        assert db.session.query(AwayPeriod).count() == 0


def test_my_time_records_are_in_my_data(app, client, auth, editor, consultant, consultant2):
    from portal.assignments.models import Assignment
    from portal.timesheets.models import TimeActivity
    from portal.timesheets.services import add_time

    section_id = _work(app, editor, consultant)
    with app.test_request_context():
        assignment = db.session.query(Assignment).filter_by(section_id=section_id).one()
        add_time(
            db.session.get(User, consultant),
            assignment,
            worked_on=utcnow().date(),
            minutes=75,
            activity=TimeActivity.ANNOTATING,
            note="Second reading with notes.",
        )
        db.session.commit()
    auth.login("consultant@example.org")
    archive = zipfile.ZipFile(io.BytesIO(client.post_form("/account/my-data").data))
    [record] = json.loads(archive.read("time_records.json"))
    assert (record["minutes"], record["activity"], record["status"]) == (
        75,
        "annotating",
        "submitted",
    )
    assert record["note"] == "Second reading with notes."
    assert "time_records.csv" in archive.namelist()
