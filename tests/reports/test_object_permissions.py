"""Z3: a consultant reaches only the sections offered to them, from the offer on, and nothing else.

A consultant with no assignment, or whose assignment was declined or withdrawn, gets 404 for every
reading URL of the section (latest text, a version, a comparison) and for the assignment, exactly
as for an id that does not exist; never 403 and never 200 with the section's title or text. Every
other consultant's assignment is 404 too. The editors' own pages are refused to every consultant
by role (403, the role matrix of tests/test_access_matrix.py), the same answer whatever the id, so
they tell nothing either. Editors and admins see everything.
"""

from __future__ import annotations

import re
from datetime import timedelta
from types import SimpleNamespace

import pytest

from portal.accounts.models import User
from portal.assignments import services as assignment_services
from portal.assignments.models import Assignment, AssignmentState
from portal.extensions import db
from portal.models import utcnow
from portal.reports import services
from portal.reports.models import Section
from tests.conftest import AuthActions

TITLE = "Confidential topic box on forced labour"
TITLE_FR = "Encadré confidentiel"
TEXT_V1 = "Unpublished draft paragraph about recruitment debts."
TEXT_V2 = "Unpublished draft paragraph about recruitment debts and seized papers."
NOTE = "Describes confinement, without graphic detail."
SECRETS = (TITLE, TITLE_FR, "recruitment debts", "seized papers", NOTE)
MISSING = 987654


@pytest.fixture
def world(app, editor, admin, consultant, consultant2, make_user):
    """One section offered to Amara and to River; a stranger has nothing; a sibling section."""
    stranger = make_user("consultant", display_name="Stranger")
    with app.test_request_context():
        author = db.session.get(User, editor)
        report = services.create_report(author, title_en="2027 Report", year=2027)
        section = services.create_section(
            author, report, title_en=TITLE, title_fr=TITLE_FR, content_note_en=NOTE
        )
        for number, body in enumerate((TEXT_V1, TEXT_V2)):
            services.publish_version(
                author, section, body_en=body, body_fr=None, change_summary=None, based_on=number
            )
        sibling = services.create_section(author, report, title_en="Sibling section")
        services.publish_version(
            author, sibling, body_en="Sibling text.", body_fr=None, change_summary=None, based_on=0
        )
        due = utcnow().date() + timedelta(days=10)
        mine, theirs = (
            assignment_services.assign_section(
                author, section, db.session.get(User, person), due_on=due
            )
            for person in (consultant, consultant2)
        )
        db.session.commit()
        return SimpleNamespace(
            editor=editor,
            admin=admin,
            amara=consultant,
            river=consultant2,
            stranger=stranger,
            report=report.id,
            section=section.id,
            sibling=sibling.id,
            mine=mine.id,
            theirs=theirs.id,
        )


def client_for(app, user_id: int):
    client = app.test_client()
    AuthActions(client, app).login_as(user_id)
    return client


def reading_urls(section: int) -> list[str]:
    return [
        f"/sections/{section}/read",
        f"/sections/{section}/read?continue=1",
        f"/sections/{section}/read?continue=1&lang=both",
        f"/sections/{section}/read?version=1&continue=1",
        f"/sections/{section}/versions/1",
        f"/sections/{section}/versions/2?continue=1&lang=fr",
        f"/sections/{section}/compare",
        f"/sections/{section}/compare?from=1&to=2&lang=en",
    ]


def editorial_urls(world) -> list[str]:
    return [
        f"/reports/{world.report}",
        f"/reports/{world.report}/edit",
        f"/reports/{world.report}/sections/new",
        f"/sections/{world.section}",
        f"/sections/{world.section}/edit",
        f"/sections/{world.section}/publish",
        f"/sections/{world.section}/assign",
    ]


def consultant_posts(assignment: int) -> list[tuple[str, dict]]:
    later = (utcnow().date() + timedelta(days=40)).isoformat()
    return [
        (f"/assignments/{assignment}/accept", {}),
        (f"/assignments/{assignment}/decline", {"reason": "probe"}),
        (f"/assignments/{assignment}/start", {}),
        (f"/assignments/{assignment}/submit", {}),
        (f"/assignments/{assignment}/extension", {"until": later, "reason": "probe"}),
    ]


def body(response) -> str:
    return response.get_data(as_text=True)


def leaks(response) -> list[str]:
    text = body(response)
    return [secret for secret in SECRETS if secret.lower() in text.lower()]


def normalised(response) -> str:
    """The page without what differs between any two requests (tokens, the current address)."""
    text = re.sub(r'name="csrf_token"[^>]*value="[^"]*"', "", body(response))
    return re.sub(r'name="next" value="[^"]*"', "", text)


def assert_not_found(client, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 404, f"GET {url}: {response.status_code}"
    assert leaks(response) == [], f"GET {url} shows {leaks(response)}"
    missing = client.get(re.sub(r"/(sections|assignments)/\d+", rf"/\1/{MISSING}", url))
    assert missing.status_code == 404
    assert normalised(response) == normalised(missing), f"GET {url} differs from a missing id"


def set_state(app, assignment_id: int, state: AssignmentState) -> None:
    with app.app_context():
        db.session.get(Assignment, assignment_id).state = state
        db.session.commit()


def states(app) -> dict[int, AssignmentState]:
    with app.app_context():
        return {a.id: a.state for a in db.session.scalars(db.select(Assignment))}


def probe_everything(app, client, world, *, own: int | None) -> None:
    """GETs on the section and on assignments are 404; POSTs change nothing."""
    before = states(app)
    for url in reading_urls(world.section) + reading_urls(world.sibling):
        assert_not_found(client, url)
    for assignment in (world.mine, world.theirs):
        assert_not_found(client, f"/assignments/{assignment}")
    for url in editorial_urls(world):
        response = client.get(url)
        assert response.status_code == 403, f"GET {url}: {response.status_code}"
        assert leaks(response) == []
    others = [a for a in (world.mine, world.theirs) if a != own]
    for assignment in others:
        for url, data in consultant_posts(assignment):
            response = client.post_form(url, data)
            assert response.status_code == 404, f"POST {url}: {response.status_code}"
            assert leaks(response) == []
    assert states(app) == before


# Consultants -------------------------------------------------------------------------------


def test_a_consultant_with_no_assignment_finds_nothing(app, world):
    probe_everything(app, client_for(app, world.stranger), world, own=None)


@pytest.mark.parametrize("how", ["declined", "withdrawn"])
def test_after_a_decline_or_withdrawal_the_section_is_gone(app, world, how):
    amara = client_for(app, world.amara)
    assert amara.get(f"/sections/{world.section}/read?continue=1").status_code == 200
    if how == "declined":
        # Followed, so the page that shows the confirmation is not one of the probes below.
        done = amara.post_form(f"/assignments/{world.mine}/decline", follow_redirects=True)
        assert "You declined this assignment." in body(done)
    else:
        editor = client_for(app, world.editor)
        assert editor.post_form(f"/assignments/{world.mine}/withdraw").status_code == 302
    probe_everything(app, amara, world, own=world.mine)


@pytest.mark.parametrize("how", ["declined", "withdrawn"])
def test_answering_a_closed_assignment_again_is_told_and_shows_nothing(app, world, how):
    """Her own assignment: a repeated answer is told it is no longer possible (R3), on her
    dashboard, without the section's title; nothing changes."""
    set_state(app, world.mine, AssignmentState(how))
    amara = client_for(app, world.amara)
    for url, data in consultant_posts(world.mine):
        response = amara.post_form(url, data)
        assert leaks(response) == []
        if url.endswith("/extension"):
            assert response.status_code == 404
            continue
        assert response.status_code == 302
        assert response.headers["Location"].endswith("/assignments")
        dashboard = amara.get("/assignments")
        message = f"This is not possible while the assignment is “{AssignmentState(how).title}”."
        assert message in body(dashboard)
    assert states(app)[world.mine] is AssignmentState(how)


def test_another_consultants_assignment_is_404_to_an_assigned_consultant(app, world):
    amara = client_for(app, world.amara)
    before = states(app)
    assert_not_found(amara, f"/assignments/{world.theirs}")
    for url, data in consultant_posts(world.theirs):
        response = amara.post_form(url, data)
        assert response.status_code == 404, url
        assert leaks(response) == []
    assert states(app) == before
    # Her own section is hers to read; its sibling is not.
    for url in reading_urls(world.sibling):
        assert_not_found(amara, url)


def test_missing_ids_are_404_too(app, world):
    amara = client_for(app, world.amara)
    for url in [*reading_urls(MISSING), f"/assignments/{MISSING}"]:
        assert amara.get(url).status_code == 404, url


@pytest.mark.parametrize(
    "state",
    [
        AssignmentState.OFFERED,
        AssignmentState.ACCEPTED,
        AssignmentState.IN_REVIEW,
        AssignmentState.SUBMITTED,
    ],
)
def test_a_consultant_reads_the_section_from_the_offer_on(app, world, state):
    set_state(app, world.mine, state)
    amara = client_for(app, world.amara)
    for url in reading_urls(world.section):
        response = amara.get(url, follow_redirects=True)
        assert response.status_code == 200, url
        assert TITLE in body(response), url
    assert TEXT_V2 in body(amara.get(f"/sections/{world.section}/read?continue=1"))
    assignment = amara.get(f"/assignments/{world.mine}")
    assert assignment.status_code == 200 and TITLE in body(assignment)


def test_before_the_offer_there_is_nothing_to_see(app, world):
    """A section offered later: 404 until the offer is made, readable from then on."""
    with app.test_request_context():
        author = db.session.get(User, world.editor)
        later = services.create_section(
            author, db.session.get(Section, world.section).report, title_en="Offered later"
        )
        services.publish_version(
            author, later, body_en="Later text.", body_fr=None, change_summary=None, based_on=0
        )
        db.session.commit()
        later_id = later.id
    amara = client_for(app, world.amara)
    for url in reading_urls(later_id):
        assert amara.get(url).status_code == 404, url
    editor = client_for(app, world.editor)
    offered = editor.post_form(
        f"/sections/{later_id}/assign",
        {
            "consultant": str(world.amara),
            "due_on": (utcnow().date() + timedelta(days=5)).isoformat(),
        },
    )
    assert offered.status_code == 302
    response = amara.get(f"/sections/{later_id}/read?continue=1")
    assert response.status_code == 200 and "Later text." in body(response)


# Editors -----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["editor", "admin"])
def test_editors_and_admins_see_everything(app, world, role):
    client = client_for(app, getattr(world, role))
    urls = (
        reading_urls(world.section)
        + editorial_urls(world)
        + [f"/assignments/{world.mine}", f"/assignments/{world.theirs}"]
    )
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, f"{url}: {response.status_code}"
    assert TEXT_V2 in body(client.get(f"/sections/{world.section}/read?continue=1"))
    assert TITLE in body(client.get(f"/reports/{world.report}"))
    # Declined or withdrawn assignments stay visible to editors.
    set_state(app, world.mine, AssignmentState.DECLINED)
    assert client.get(f"/assignments/{world.mine}").status_code == 200
