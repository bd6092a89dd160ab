"""SQL statements per main page: the same at two data sizes (no N+1), and within a budget.

Each page is read twice, in two worlds built side by side in one database: a small one and one
three times larger (more sections, consultants, editors, annotations, replies, sign-offs, regions,
notifications and time records). A page whose statement count grows with the data loads
something row by row; a page over its budget does more work than it did when the budget was set.
The second request is counted: the first after signing in also warms caches.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import event

from portal.extensions import db
from tests.conftest import PASSWORD

# Statements per page, the same on SQLite and PostgreSQL. Every page starts with loading the
# signed-in account and counts their unread notifications for the header: 2 of each budget.
BUDGETS = {
    # + a page of assignments and its count; the items waiting for their decision (with latest
    # versions and sections) and the consultant's own sign-offs; their current away period.
    "consultant dashboard": 7,
    # + the report; active consultants (filter); a page of sections and its count; their
    # assignments; the grid's consultants; their away periods.
    "editor report page": 9,
    # + the section and its report; assignments, transitions and versions, each with the people
    # they name; the latest version; decisions with their versions and consultants; items with
    # versions and consents.
    "section page": 17,
    # + the section and its report; the consultant's assignment (once: the loader, the page and
    # two permission checks ask, the session answers after the first); the latest version and
    # all versions; a page of annotations with authors and anchored versions (counted only when
    # there is more than one page), the orphaned ones, their replies; items with versions and
    # consents.
    "big section reading page": 14,
    # + the report; a page of annotations (with authors and sections) and its count; consultants
    # (filter); sections (filter).
    "annotations list": 7,
    # + the report; sections with their latest version; decisions (with version numbers and
    # consultant names); working consultants; items with their latest version; their consents;
    # sign-offs (with version numbers and consultant names).
    "clearance report": 9,
    # + a page of notifications and its count.
    "notifications": 4,
    # + the item with its section (one statement: the permission check reuses it); versions and
    # their one other author; sign-offs with versions, consultants, checklist answers and
    # criteria; consents; regions with their authors.
    "photo item page": 13,
    # + a page of records (with assignment, section, report, consultant) and its count; approvers;
    # questioners; consultants with records (filter); reports (filter).
    "time review": 8,
}

SMALL, LARGE = 2, 6  # the size unit of each world: sections, consultants, editors

TEXT_EN = """# Recruitment and debt

Labour inspectors now review the conditions of recruitment on fishing vessels.

Survivors asked for private interviews away from supervisors, in the languages people speak.

- Plain-language consent forms
- Compensation for unpaid wages
"""
TEXT_FR = """# Recrutement et endettement

Les inspecteurs du travail examinent désormais les conditions de recrutement sur les navires.

Les personnes survivantes ont demandé des entretiens privés, dans les langues que les gens
parlent.
"""


@dataclass
class World:
    tag: str
    editor_email: str
    consultant_email: str
    report_id: int
    big_section_id: int
    photo_id: int


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (96, 120, 160)).save(buffer, "JPEG")
    return buffer.getvalue()


def build(app, size: int, tag: str) -> World:
    """A report of `size` sections, each offered to `size` consultants who all work on it."""
    from portal.accounts import services as accounts
    from portal.accounts.models import Role
    from portal.assignments import services as assignments
    from portal.media import services as media
    from portal.media import storage
    from portal.media.imaging import process_image
    from portal.media.models import Answer, ItemKind
    from portal.models import utcnow
    from portal.reports import services as reports
    from portal.reports.models import SectionState
    from portal.review import services as review
    from portal.review.models import AnnotationKind, Decision
    from portal.timesheets import services as timesheets
    from portal.timesheets.models import TimeActivity

    today = utcnow().date()
    with app.test_request_context():

        def person(role: Role, n: int):
            return accounts.create_user(
                email=f"{role.value}-{tag}-{n}@example.org",
                display_name=f"{role.value.title()} {tag} {n}",
                role=role,
                password=PASSWORD,
            )

        editors = [person(Role.EDITOR, n) for n in range(size)]
        consultants = [person(Role.CONSULTANT, n) for n in range(size)]
        editor = editors[0]
        report = reports.create_report(editor, title_en=f"Report {tag}", year=2027)
        sections = []
        for n in range(size):
            section = reports.create_section(
                editor, report, title_en=f"Section {tag} {n}", content_note_en="Debt bondage."
            )
            reports.publish_version(
                editor, section, body_en=TEXT_EN, body_fr=TEXT_FR, change_summary=None, based_on=0
            )
            reports.transition_section(editor, section, SectionState.IN_REVIEW)
            for consultant in consultants:
                offer = assignments.assign_section(
                    editor, section, consultant, due_on=today + timedelta(days=n + 1)
                )
                assignments.accept(consultant, offer)
                assignments.start_review(consultant, offer)
            sections.append(section)
        big = sections[0]
        plain = review.plain_text(reports.latest_version(big), "en")
        for n, section in enumerate(sections):
            passes = 3 if section is big else 1
            for k, author in enumerate([*consultants, editors[n % size]] * passes):
                start = (k * 7) % (len(plain) - 20)
                annotation = review.create_annotation(
                    author,
                    section,
                    language="en",
                    kind=list(AnnotationKind)[k % 3],
                    body=f"Remark {tag} {n}.{k}",
                    replacement="A new wording",
                    start=start,
                    end=start + 12,
                )
                review.reply(editors[k % size], annotation, f"Reply {tag} {n}.{k}")
                review.reply(consultants[(k + 1) % size], annotation, "Agreed.")
            for k, consultant in enumerate(consultants):
                review.submit_decision(
                    consultant,
                    section,
                    version_number=1,
                    decision=list(Decision)[k % 3],
                    summary="Soften the second paragraph.",
                    submission_key=f"{tag}-{n}-{k}",
                )
            reports.publish_version(  # every decision is now on an older version
                editors[n % size],
                section,
                body_en=TEXT_EN + "\nA sentence added in version 2.\n",
                body_fr=TEXT_FR,
                change_summary="Second round.",
                based_on=1,
            )
            reports.transition_section(editors[n % size], section, SectionState.CHANGES_REQUESTED)
            narrative = media.add_item(
                editor,
                section,
                ItemKind.NARRATIVE,
                {"title_en": f"Story {tag} {n}", "body_en": "I was promised work."},
            )
            media.record_consent(
                editor,
                narrative,
                given_by="A survivor",
                given_on=today - timedelta(days=10),
                scope="This report.",
                uses_allowed=None,
                expires_on=None,
            )
        image = process_image(_jpeg(), max_bytes=1024 * 1024, max_pixels=10_000)
        photo = media.add_item(
            editor,
            big,
            ItemKind.PHOTO,
            {
                "caption_en": f"Photo {tag}",
                "alt_en": "A blue rectangle.",
                "image_name": storage.store(image),
                "image_sha256": image.sha256,
                "image_format": image.format,
                "width": image.width,
                "height": image.height,
            },
            identifiable=True,
        )
        media.record_consent(
            editor,
            photo,
            given_by="The person shown",
            given_on=today - timedelta(days=10),
            scope="This report.",
            uses_allowed=None,
            expires_on=None,
        )
        criteria = media.criteria(ItemKind.PHOTO)
        for round_number in (1, 2):
            for k, consultant in enumerate(consultants):
                answers = {
                    c.id: media.AnswerGiven(
                        Answer.DOES_NOT_MEET if c.position == k % 3 + 1 else Answer.MEETS,
                        f"Note {c.id}",
                    )
                    for c in criteria
                }
                media.submit_sign_off(
                    consultant,
                    photo,
                    version_number=round_number,
                    decision=media.DECISIONS[k % 3],
                    reasons="The caption should say more.",
                    answers=answers,
                    submission_key=f"{tag}-photo-{round_number}-{k}",
                )
                if round_number == 1:
                    media.add_region(
                        consultant,
                        photo,
                        x=0.1,
                        y=0.1,
                        width=0.2,
                        height=0.2,
                        note=f"Area {tag} {k}",
                        submission_key=f"{tag}-region-{k}",
                    )
            if round_number == 1:
                media.publish_item_version(
                    editors[-1],
                    photo,
                    expected_revision=photo.revision,
                    fields={"caption_en": f"Photo {tag}, recaptioned", "alt_en": "A rectangle."},
                    identifiable=True,
                )
        for n, section in enumerate(sections):
            for k, consultant in enumerate(consultants):
                offer = assignments.reading_assignment(consultant, section)
                record = timesheets.add_time(
                    consultant,
                    offer,
                    worked_on=today - timedelta(days=n),
                    minutes=30 + k,
                    activity=TimeActivity.READING,
                )
                judge = editors[(n + k) % size]
                if k % 2:
                    timesheets.approve_time(judge, record, expected_revision=record.revision)
                else:
                    timesheets.query_time(
                        judge, record, expected_revision=record.revision, question="Which day?"
                    )
        db.session.commit()
        return World(
            tag=tag,
            editor_email=editor.email,
            consultant_email=consultants[0].email,
            report_id=report.id,
            big_section_id=big.id,
            photo_id=photo.id,
        )


def pages(world: World) -> dict[str, tuple[str, str, str]]:
    """Each page: who reads it, its address, and words only this world's page shows."""
    editor, consultant, tag = world.editor_email, world.consultant_email, world.tag
    return {
        "consultant dashboard": (consultant, "/", f"Section {tag} "),
        "editor report page": (editor, f"/reports/{world.report_id}", f"Section {tag} "),
        "section page": (editor, f"/sections/{world.big_section_id}", f"Consultant {tag} "),
        "big section reading page": (
            consultant,
            f"/sections/{world.big_section_id}/read?continue=1",
            f"Remark {tag} ",
        ),
        "annotations list": (editor, f"/reports/{world.report_id}/annotations", f"Remark {tag} "),
        "clearance report": (editor, f"/reports/{world.report_id}/clearance", f"Story {tag} "),
        "notifications": (consultant, "/notifications", f"Section {tag} "),
        "photo item page": (editor, f"/items/{world.photo_id}", f"Area {tag} "),
        "time review": (editor, f"/time/review?status=all&report={world.report_id}", tag),
    }


def counted_get(app, client, url: str) -> tuple[list[str], str]:
    statements: list[str] = []

    def listener(conn, cursor, statement, *args):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", listener)
    try:
        response = client.get(url)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert response.status_code == 200, (url, response.status_code)
    return statements, response.get_data(as_text=True)


def shape(statement: str) -> str:
    """A statement with its IN lists collapsed, for saying which statements a page repeats."""
    return re.sub(r"\s+", " ", re.sub(r"\(\?(, \?)*\)|\(%\(.*?\)s.*?\)", "(…)", statement))[:140]


@pytest.fixture
def worlds(app):
    return build(app, SMALL, "small"), build(app, LARGE, "large")


def test_each_main_page_reads_a_fixed_number_of_statements_within_its_budget(app, worlds):
    clients = {}

    def client_for(email: str):
        if email not in clients:
            client = app.test_client()
            response = client.post_form("/login", {"email": email, "password": PASSWORD})
            assert response.status_code == 302
            clients[email] = client
        return clients[email]

    counts, problems = {}, []
    for name in BUDGETS:
        seen, shown = [], []
        for world in worlds:
            email, url, marker = pages(world)[name]
            client = client_for(email)
            client.get(url)  # the first read warms caches
            statements, html = counted_get(app, client, url)
            seen.append(statements)
            shown.append(html.count(marker))
        # Each page shows its world's rows, more of them in the larger world.
        assert 2 <= shown[0] < shown[1], (name, shown)
        small, large = seen
        counts[name] = (len(small), len(large))
        if len(small) != len(large):
            grown = Counter(map(shape, large)) - Counter(map(shape, small))
            problems.append(f"{name}: {len(small)} -> {len(large)} statements; more of {grown}")
        elif len(large) > BUDGETS[name]:
            problems.append(f"{name}: {len(large)} statements, budget {BUDGETS[name]}")
    assert not problems, "\n".join(problems) + f"\nall pages (small, large): {counts}"


def test_the_reports_list_reads_the_same_statements_for_two_reports_or_six(app, editor):
    """The reports list counts each report's live sections in one statement (budget 4: the
    account, unread notifications, the reports, the section counts)."""
    from portal.accounts.models import User
    from portal.reports import services as reports

    client = app.test_client()
    email = "editor@example.org"
    assert client.post_form("/login", {"email": email, "password": PASSWORD}).status_code == 302

    def add_reports(count: int, start: int) -> None:
        with app.test_request_context():
            author = db.session.get(User, editor)
            for n in range(start, start + count):
                report = reports.create_report(author, title_en=f"Report {n}", year=2027)
                for m in range(n + 1):  # a different number of sections in each
                    section = reports.create_section(author, report, title_en=f"S{n}-{m}")
                    if m == 1:
                        reports.set_section_archived(author, section, True)  # not counted
            db.session.commit()

    counts = []
    for count, start in ((2, 0), (4, 2)):
        add_reports(count, start)
        client.get("/reports")
        statements, html = counted_get(app, client, "/reports")
        counts.append(len(statements))
        for n in range(start + count):
            assert f"Report {n}<" in html
    assert counts[0] == counts[1] <= 4, counts
    # Report 3 has four sections, one archived: three are counted.
    row = re.search(r"Report 3</a></th>\s*<td>2027</td>\s*<td>(\d+)</td>", html)
    assert row is not None and row.group(1) == "3"
