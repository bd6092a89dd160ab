"""Exports of comments and decisions: CSV, JSON and a printable page, display names only."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from portal.accounts.models import User
from portal.assignments.services import accept, assign_section
from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.models import utcnow
from portal.reports import services as reports
from portal.review.models import AnnotationKind, Decision
from portal.review.services import create_annotation, reply, submit_decision


def _reviewed_section(app, editor_id: int, consultant_id: int) -> tuple[int, int]:
    with app.test_request_context():
        editor = db.session.get(User, editor_id)
        consultant = db.session.get(User, consultant_id)
        report = reports.create_report(editor, title_en="Export report", year=2027)
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
        annotation = create_annotation(
            consultant,
            section,
            language="en",
            kind=AnnotationKind.CONCERN,
            body="This may identify me.",
            start=0,
            end=7,
        )
        reply(editor, annotation, "We will change it.")
        submit_decision(
            consultant,
            section,
            version_number=1,
            decision=Decision.CHANGES_REQUESTED,
            summary="Remove the detail.",
            submission_key="export-1",
        )
        db.session.commit()
        return report.id, section.id


def test_exports_carry_display_names_only(app, client, auth, editor, consultant):
    report_id, section_id = _reviewed_section(app, editor, consultant)
    auth.login("editor@example.org")
    as_json = client.get(f"/reports/{report_id}/annotations.json")
    assert as_json.status_code == 200
    data = as_json.get_json()
    assert [a["author"] for a in data["annotations"]] == ["Amara"]
    assert data["annotations"][0]["replies"][0]["reply"] == "We will change it."
    assert [(d["consultant"], d["decision"]) for d in data["decisions"]] == [
        ("Amara", "changes_requested")
    ]
    as_csv = client.get(f"/sections/{section_id}/annotations.csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.get_data(as_text=True))))
    assert [row["record"] for row in rows] == ["annotation", "reply", "decision"]
    printable = client.get(f"/reports/{report_id}/annotations/print").get_data(as_text=True)
    assert "This may identify me." in printable and "Changes requested" in printable
    for body in (as_json.get_data(as_text=True), as_csv.get_data(as_text=True), printable):
        assert "consultant@example.org" not in body
        assert "Amara Okafor" not in body
    with app.app_context():
        exported = db.session.query(AuditEvent).filter_by(action="review.exported").count()
    assert exported == 2


def test_consultants_cannot_export(app, client, auth, editor, consultant):
    report_id, section_id = _reviewed_section(app, editor, consultant)
    auth.login("consultant@example.org")
    assert client.get(f"/reports/{report_id}/annotations.json").status_code == 403
    assert client.get(f"/sections/{section_id}/annotations.csv").status_code == 403


def test_the_editors_list_puts_concerns_first_and_filters(app, client, auth, editor, consultant):
    report_id, _section_id = _reviewed_section(app, editor, consultant)
    auth.login("editor@example.org")
    page = client.get(f"/reports/{report_id}/annotations").get_data(as_text=True)
    assert "This may identify me." in page
    empty = client.get(f"/reports/{report_id}/annotations?kind=suggestion").get_data(as_text=True)
    assert "This may identify me." not in empty
    assert client.get(f"/reports/{report_id}/annotations?state=bogus&section=x").status_code == 200


def test_csv_cells_that_look_like_formulas_are_escaped(app, client, auth, editor, consultant):
    """Comments are typed by people: none may run as a spreadsheet formula (CSV injection); the
    JSON export keeps the text as written."""
    report_id, section_id = _reviewed_section(app, editor, consultant)
    with app.test_request_context():
        section = db.session.get(reports.Section, section_id)
        person = db.session.get(User, consultant)
        formula = create_annotation(
            person,
            section,
            language="en",
            kind=AnnotationKind.COMMENT,
            body='=HYPERLINK("https://evil.example")',
            start=8,
            end=13,
        )
        reply(db.session.get(User, editor), formula, "+1 agreed")
        db.session.commit()
    auth.login("editor@example.org")
    as_csv = client.get(f"/sections/{section_id}/annotations.csv").get_data(as_text=True)
    cells = [cell for row in csv.reader(io.StringIO(as_csv)) for cell in row]
    assert '\'=HYPERLINK("https://evil.example")' in cells and "'+1 agreed" in cells
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells)
    as_json = client.get(f"/reports/{report_id}/annotations.json").get_json()
    assert '=HYPERLINK("https://evil.example")' in [a["comment"] for a in as_json["annotations"]]
