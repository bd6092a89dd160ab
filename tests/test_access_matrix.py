"""Z1 and Z2: every route x method x principal has a declared outcome, and it holds.

A new route fails this test until someone decides, here, who may use it. A denied request must
leave the database exactly as it was.
"""

from __future__ import annotations

import functools

import pytest
from sqlalchemy import select

from portal.extensions import db
from tests.test_security import assert_security_headers

# "consultant" is assigned to the matrix's section; "outsider" is a consultant who is not.
PRINCIPALS = ("anonymous", "consultant", "outsider", "editor", "admin", "deactivated")

# Outcomes: "ok" reaches the view; "login" is sent to sign in (302 to /login, or 401 with the
# sign-in form for a POST); "forbidden" is a 403; "missing" is a 404, which is what anyone gets
# for an object that is not theirs (security.md Z3) or a link that does not exist.
PUBLIC = dict.fromkeys(PRINCIPALS, "ok")
MISSING = dict.fromkeys(PRINCIPALS, "missing")
SIGNED_IN = {
    "anonymous": "login",
    "consultant": "ok",
    "outsider": "ok",
    "editor": "ok",
    "admin": "ok",
    "deactivated": "login",
}
ADMIN_ONLY = {
    **SIGNED_IN,
    "consultant": "forbidden",
    "outsider": "forbidden",
    "editor": "forbidden",
}
EDITORIAL = {**SIGNED_IN, "consultant": "forbidden", "outsider": "forbidden"}
CONSULTANT_ONLY = {**SIGNED_IN, "editor": "forbidden", "admin": "forbidden"}
# A section's pages and objects: its assigned consultant and editors reach them; another
# consultant is told they do not exist.
ASSIGNED = {**SIGNED_IN, "outsider": "missing"}
ASSIGNED_CONSULTANT = {**CONSULTANT_ONLY, "outsider": "missing"}
# Something that belongs to the matrix's consultant alone: to anyone else it does not exist.
OWN = {**SIGNED_IN, "outsider": "missing", "editor": "missing", "admin": "missing"}

MATRIX: dict[tuple[str, str], dict[str, str]] = {
    ("static", "GET"): PUBLIC,
    ("core.healthz", "GET"): PUBLIC,
    ("core.set_language", "POST"): PUBLIC,
    ("core.home", "GET"): SIGNED_IN,
    ("accounts.login", "GET"): PUBLIC,
    ("accounts.login", "POST"): PUBLIC,
    ("accounts.logout", "POST"): PUBLIC,
    ("accounts.second_factor_challenge", "GET"): PUBLIC,
    ("accounts.second_factor_challenge", "POST"): PUBLIC,
    ("accounts.accept_invitation", "GET"): MISSING,
    ("accounts.accept_invitation", "POST"): MISSING,
    ("accounts.reset_password", "GET"): MISSING,
    ("accounts.reset_password", "POST"): MISSING,
    ("accounts.forgot_password", "GET"): MISSING,
    ("accounts.forgot_password", "POST"): MISSING,
    ("accounts.account", "GET"): SIGNED_IN,
    ("accounts.account", "POST"): SIGNED_IN,
    ("accounts.change_password", "GET"): SIGNED_IN,
    ("accounts.change_password", "POST"): SIGNED_IN,
    ("accounts.second_factor", "GET"): SIGNED_IN,
    ("accounts.second_factor_start", "POST"): SIGNED_IN,
    ("accounts.second_factor_confirm", "POST"): SIGNED_IN,
    ("accounts.second_factor_disable", "POST"): SIGNED_IN,
    ("accounts.recovery_codes", "POST"): SIGNED_IN,
    ("accounts.my_data", "POST"): SIGNED_IN,
    ("admin.anonymise", "POST"): ADMIN_ONLY,
    ("admin.accounts", "GET"): ADMIN_ONLY,
    ("admin.invite", "GET"): ADMIN_ONLY,
    ("admin.invite", "POST"): ADMIN_ONLY,
    ("admin.account", "GET"): ADMIN_ONLY,
    ("admin.change_role", "POST"): ADMIN_ONLY,
    ("admin.update_details", "POST"): ADMIN_ONLY,
    ("admin.deactivate", "POST"): ADMIN_ONLY,
    ("admin.reactivate", "POST"): ADMIN_ONLY,
    ("admin.end_sessions", "POST"): ADMIN_ONLY,
    ("admin.reset_link", "POST"): ADMIN_ONLY,
    ("admin.resend_invitation", "POST"): ADMIN_ONLY,
    ("audit.events", "GET"): ADMIN_ONLY,
    ("audit.export_csv", "GET"): ADMIN_ONLY,
    ("reports.index", "GET"): EDITORIAL,
    ("reports.new_report", "GET"): EDITORIAL,
    ("reports.new_report", "POST"): EDITORIAL,
    ("reports.report", "GET"): EDITORIAL,
    ("reports.edit_report", "GET"): EDITORIAL,
    ("reports.edit_report", "POST"): EDITORIAL,
    ("reports.set_report_status", "POST"): EDITORIAL,
    ("reports.new_section", "GET"): EDITORIAL,
    ("reports.new_section", "POST"): EDITORIAL,
    ("reports.section", "GET"): EDITORIAL,
    ("reports.edit_section", "GET"): EDITORIAL,
    ("reports.edit_section", "POST"): EDITORIAL,
    ("reports.move_section", "POST"): EDITORIAL,
    ("reports.archive_section", "POST"): EDITORIAL,
    ("reports.transition", "POST"): EDITORIAL,
    ("reports.publish", "GET"): EDITORIAL,
    ("reports.publish", "POST"): EDITORIAL,
    # Readable by a consultant assigned to the section (the matrix's consultant is).
    ("reports.read", "GET"): ASSIGNED,
    ("reports.version", "GET"): ASSIGNED,
    ("reports.compare", "GET"): ASSIGNED,
    ("assignments.dashboard", "GET"): CONSULTANT_ONLY,
    ("assignments.assignment", "GET"): ASSIGNED,
    ("assignments.accept", "POST"): ASSIGNED_CONSULTANT,
    ("assignments.decline", "POST"): ASSIGNED_CONSULTANT,
    ("assignments.start", "POST"): ASSIGNED_CONSULTANT,
    ("assignments.submit", "POST"): ASSIGNED_CONSULTANT,
    ("assignments.request_extension", "POST"): ASSIGNED_CONSULTANT,
    ("assignments.assign", "GET"): EDITORIAL,
    ("assignments.assign", "POST"): EDITORIAL,
    ("assignments.answer_extension", "POST"): EDITORIAL,
    ("assignments.withdraw", "POST"): EDITORIAL,
    # The matrix's consultant has accepted the section, so they may annotate and decide.
    ("review.annotate", "GET"): ASSIGNED,
    ("review.annotate", "POST"): ASSIGNED,
    ("review.thread", "GET"): ASSIGNED,
    ("review.reply", "POST"): ASSIGNED,
    ("review.resolve", "POST"): ASSIGNED,
    ("review.reopen", "POST"): ASSIGNED,
    ("review.confirm", "POST"): ASSIGNED,
    ("review.addressed", "POST"): EDITORIAL,
    ("review.decision", "GET"): ASSIGNED_CONSULTANT,
    ("review.decision", "POST"): ASSIGNED_CONSULTANT,
    ("review.set_independent_review", "POST"): EDITORIAL,
    ("review.report_annotations", "GET"): EDITORIAL,
    ("review.export_report", "GET"): EDITORIAL,
    ("review.export_section", "GET"): EDITORIAL,
    ("review.print_report", "GET"): EDITORIAL,
    # Photos and narratives: editors prepare them, the assigned consultant reviews them.
    ("media.new_photo", "GET"): EDITORIAL,
    ("media.new_photo", "POST"): EDITORIAL,
    ("media.new_narrative", "GET"): EDITORIAL,
    ("media.new_narrative", "POST"): EDITORIAL,
    ("media.item", "GET"): ASSIGNED,
    ("media.image", "GET"): ASSIGNED,
    ("media.edit_item", "GET"): EDITORIAL,
    ("media.edit_item", "POST"): EDITORIAL,
    ("media.remove_item", "POST"): EDITORIAL,
    ("media.record_consent", "GET"): EDITORIAL,
    ("media.record_consent", "POST"): EDITORIAL,
    ("media.withdraw_consent", "POST"): EDITORIAL,
    ("media.review", "GET"): ASSIGNED_CONSULTANT,
    ("media.review", "POST"): ASSIGNED_CONSULTANT,
    ("media.withdraw_sign_off", "POST"): ASSIGNED_CONSULTANT,
    ("media.add_region", "POST"): ASSIGNED,
    # Only the person who marked an area can remove it; to anyone else it does not exist.
    ("media.delete_region", "POST"): OWN,
    ("media.clearance", "GET"): EDITORIAL,
    ("media.clearance_csv", "GET"): EDITORIAL,
    ("media.checklists", "GET"): ADMIN_ONLY,
    ("media.new_criterion", "GET"): ADMIN_ONLY,
    ("media.new_criterion", "POST"): ADMIN_ONLY,
    ("media.edit_criterion", "GET"): ADMIN_ONLY,
    ("media.edit_criterion", "POST"): ADMIN_ONLY,
    ("media.retire_criterion", "POST"): ADMIN_ONLY,
    ("media.delete_criterion", "POST"): ADMIN_ONLY,
    # Availability: a consultant's own time away; anyone else's period does not exist for them.
    ("availability.periods", "GET"): CONSULTANT_ONLY,
    ("availability.periods", "POST"): CONSULTANT_ONLY,
    ("availability.remove", "POST"): ASSIGNED_CONSULTANT,
    # Time records: a consultant records and changes their own (the matrix's consultant owns the
    # record; to another consultant it does not exist); editors and admins approve or ask about
    # any record; everyone signed in has a statement (a consultant only ever their own).
    ("timesheets.my_time", "GET"): CONSULTANT_ONLY,
    ("timesheets.my_time", "POST"): CONSULTANT_ONLY,
    ("timesheets.edit", "GET"): ASSIGNED_CONSULTANT,
    ("timesheets.edit", "POST"): ASSIGNED_CONSULTANT,
    ("timesheets.delete", "POST"): ASSIGNED_CONSULTANT,
    ("timesheets.review", "GET"): EDITORIAL,
    ("timesheets.approve", "POST"): EDITORIAL,
    ("timesheets.query", "GET"): EDITORIAL,
    ("timesheets.query", "POST"): EDITORIAL,
    ("timesheets.statement", "GET"): SIGNED_IN,
    ("timesheets.statement_csv", "GET"): SIGNED_IN,
    # Notifications: everyone their own; the outbox is the admins'.
    ("notifications.index", "GET"): SIGNED_IN,
    ("notifications.open_notification", "POST"): OWN,
    ("notifications.mark_read", "POST"): OWN,
    ("notifications.mark_all_read", "POST"): SIGNED_IN,
    ("notifications.preferences", "GET"): SIGNED_IN,
    ("notifications.preferences", "POST"): SIGNED_IN,
    ("notifications.outbox", "GET"): ADMIN_ONLY,
    ("notifications.retry", "POST"): ADMIN_ONLY,
}

SAMPLE_ARGS = {
    "filename": "css/portal.css",
    "token": "not-a-real-token",
    "number": 1,
    "fmt": "csv",
    "size": "thumb",
    "kind": "photo",
}


def declared_routes(app) -> set[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routes.add((rule.endpoint, method))
    return routes


def test_every_route_is_classified(app):
    routes = declared_routes(app)
    unclassified = sorted(routes - MATRIX.keys())
    stale = sorted(MATRIX.keys() - routes)
    assert not unclassified, f"routes nobody classified in MATRIX: {unclassified}"
    assert not stale, f"MATRIX lists routes that no longer exist: {stale}"


def database_fingerprint(app) -> list:
    with app.app_context():
        rows = []
        for table in db.metadata.sorted_tables:
            rows.append(
                (
                    table.name,
                    [
                        tuple(r)
                        for r in db.session.execute(
                            select(table).order_by(*table.primary_key.columns)
                        )
                    ],
                )
            )
        db.session.rollback()
        return rows


def _url(app, endpoint: str, objects: dict) -> str:
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    args = {name: objects.get(name, SAMPLE_ARGS.get(name)) for name in rule.arguments}
    with app.test_request_context():
        from flask import url_for

        return url_for(endpoint, **args)


def _outcome(response, view_ran: bool) -> str:
    assert response.status_code < 500, response.status_code
    if response.status_code == 403:
        return "forbidden"
    if response.status_code == 404:
        return "missing"
    if view_ran:
        return "ok"
    sent_to_login = response.status_code == 401 or (
        response.status_code in (302, 303) and response.location.split("?")[0].endswith("/login")
    )
    return "login" if sent_to_login else f"unexpected {response.status_code}"


def record_view_calls(app) -> list[str]:
    """Wrap every view so the test knows whether a request reached it."""
    calls: list[str] = []
    for endpoint, view in list(app.view_functions.items()):

        def recorder(*args, _view=view, _endpoint=endpoint, **kwargs):
            calls.append(_endpoint)
            return _view(*args, **kwargs)

        functools.update_wrapper(recorder, view)  # keeps the portal_public/portal_roles marks
        app.view_functions[endpoint] = recorder
    return calls


@pytest.fixture
def principals(app, make_user, auth):
    ids = {
        "consultant": make_user("consultant", email="c@example.org"),
        "editor": make_user("editor", email="e@example.org"),
        "admin": make_user("admin", email="a@example.org"),
        "deactivated": make_user("consultant", email="d@example.org"),
        "outsider": make_user("consultant", email="o@example.org"),
    }
    ids["objects"] = _objects(app, ids)
    return ids


def _objects(app, ids: dict) -> dict:
    """The objects the routes act on: someone else's account, and a section the consultant has."""
    from datetime import timedelta

    from portal.accounts.models import Role, User
    from portal.assignments.services import accept, assign_section
    from portal.models import utcnow
    from portal.reports import services as reports
    from portal.review.models import AnnotationKind
    from portal.review.services import create_annotation

    with app.app_context():
        editor = db.session.get(User, ids["editor"])
        report = reports.create_report(editor, title_en="Report", year=2027)
        section = reports.create_section(editor, report, title_en="Section")
        reports.publish_version(
            editor, section, body_en="Text.", body_fr=None, change_summary=None, based_on=0
        )
        consultant = db.session.get(User, ids["consultant"])
        assignment = assign_section(
            editor, section, consultant, due_on=utcnow().date() + timedelta(days=7)
        )
        accept(consultant, assignment)
        annotation = create_annotation(
            consultant,
            section,
            language="en",
            kind=AnnotationKind.COMMENT,
            body="A note.",
            start=0,
            end=5,
        )
        db.session.commit()
        media = _media_objects(editor, consultant, section)
        # The matrix's consultant recorded time on their assignment (waiting for approval).
        from portal.timesheets.models import TimeActivity
        from portal.timesheets.services import add_time

        time_record = add_time(
            consultant,
            assignment,
            worked_on=utcnow().date(),
            minutes=90,
            activity=TimeActivity.READING,
        )
        db.session.commit()
        from portal.availability.models import AwayPeriod

        away_period = AwayPeriod(
            consultant_id=consultant.id,
            starts_on=utcnow().date() + timedelta(days=3),
            ends_on=utcnow().date() + timedelta(days=9),
        )
        db.session.add(away_period)
        db.session.commit()
        # Offering the section notified the consultant (in the portal, and by e-mail).
        from portal.notifications.models import Notification, OutboxMessage

        notification_id = db.session.scalar(
            select(Notification.id).where(Notification.user_id == consultant.id)
        )
        message_id = db.session.scalar(
            select(OutboxMessage.id).where(OutboxMessage.user_id == consultant.id)
        )
        target = User(email="target@example.org", display_name="Target", role=Role.CONSULTANT)
        db.session.add(target)
        db.session.commit()
        return {
            "user_id": target.id,
            "report_id": report.id,
            "section_id": section.id,
            "assignment_id": assignment.id,
            "annotation_id": annotation.id,
            **media,
            "notification_id": notification_id,
            "away_period_id": away_period.id,
            "time_record_id": time_record.id,
            "message_id": message_id,
        }


def _media_objects(editor, consultant, section) -> dict:
    """A photo with consent, the consultant's sign-off (every criterion answered) and a region."""
    import uuid

    from portal.media import services as media
    from portal.media import storage
    from portal.media.imaging import process_image
    from portal.media.models import Answer, ItemKind
    from portal.models import utcnow
    from tests.media.conftest import PHOTO_FIELDS, jpeg_bytes

    image = process_image(jpeg_bytes(), max_bytes=10**7, max_pixels=10**7)
    fields = PHOTO_FIELDS | {
        "image_name": storage.store(image),
        "image_sha256": image.sha256,
        "image_format": image.format,
        "width": image.width,
        "height": image.height,
    }
    item = media.add_item(editor, section, ItemKind.PHOTO, fields, identifiable=True)
    consent = media.record_consent(
        editor,
        item,
        given_by="Participant A",
        given_on=utcnow().date(),
        scope="The 2027 report",
        uses_allowed=None,
        expires_on=None,
    )
    criteria = media.criteria(ItemKind.PHOTO)
    sign_off = media.submit_sign_off(
        consultant,
        item,
        version_number=1,
        decision=media.SignOffDecision.APPROVE,
        reasons=None,
        answers={c.id: media.AnswerGiven(Answer.MEETS) for c in criteria},
        submission_key=uuid.uuid4().hex,
    )
    region = media.add_region(
        consultant,
        item,
        x=0.1,
        y=0.1,
        width=0.2,
        height=0.2,
        note="This face could be recognised.",
        submission_key=uuid.uuid4().hex,
    )
    db.session.commit()
    return {
        "item_id": item.id,
        "consent_id": consent.id,
        "sign_off_id": sign_off.id,
        "region_id": region.id,
        "criterion_id": criteria[0].id,
    }


def _restore_assignment(app, objects: dict) -> None:
    """Undo a decline, withdrawal, removal or retirement made by an earlier row, so each row
    meets the same world."""
    from datetime import timedelta

    from portal.assignments.models import Assignment, AssignmentState
    from portal.availability.models import AwayPeriod
    from portal.media.models import ChecklistCriterion, MediaItem
    from portal.models import utcnow

    with app.app_context():
        assignment = db.session.get(Assignment, objects["assignment_id"])
        if assignment.state is not AssignmentState.ACCEPTED:
            assignment.state = AssignmentState.ACCEPTED
        db.session.get(MediaItem, objects["item_id"]).archived_at = None
        db.session.get(ChecklistCriterion, objects["criterion_id"]).retired_at = None
        if db.session.get(AwayPeriod, objects["away_period_id"]) is None:
            db.session.add(
                AwayPeriod(
                    id=objects["away_period_id"],
                    consultant_id=assignment.consultant_id,
                    starts_on=utcnow().date() + timedelta(days=3),
                    ends_on=utcnow().date() + timedelta(days=9),
                )
            )
        db.session.commit()


def _client_for(app, principal: str, ids: dict):
    from portal.accounts.models import User
    from portal.extensions import limiter
    from tests.conftest import AuthActions

    limiter.reset()  # hundreds of sign-ins from one address would trip the throttle
    client = app.test_client()
    if principal == "anonymous":
        return client
    user_id = ids[principal]
    AuthActions(client, app).login_as(user_id)
    if principal == "deactivated":
        # Deactivated behind the session's back: the stored session must stop working anyway.
        with app.app_context():
            db.session.get(User, user_id).active = False
            db.session.commit()
    return client


def test_role_matrix(app, principals):
    calls = record_view_calls(app)
    failures = []
    for (endpoint, method), expected_by_principal in sorted(MATRIX.items()):
        url = _url(app, endpoint, principals["objects"])
        for principal in PRINCIPALS:
            expected = expected_by_principal[principal]
            client = _client_for(app, principal, principals)
            before = database_fingerprint(app) if expected != "ok" else None
            if method == "POST":
                token = client.csrf_token()
            calls.clear()
            if method == "GET":
                response = client.get(url)
            else:
                response = client.post(url, data={"csrf_token": token})
            actual = _outcome(response, view_ran=endpoint in calls)
            # security.md B3 and Z6: the headers are on every response, whatever the outcome.
            assert_security_headers(response, static=endpoint == "static")
            response.close()
            if actual != expected:
                failures.append(
                    f"{method} {url} as {principal}: expected {expected}, got "
                    f"{actual} ({response.status_code})"
                )
            elif before is not None and database_fingerprint(app) != before:
                failures.append(f"{method} {url} as {principal}: denied, but the database changed")
            _restore_assignment(app, principals["objects"])
            if principal == "deactivated":
                from portal.accounts.models import User

                with app.app_context():
                    db.session.get(User, principals["deactivated"]).active = True
                    db.session.commit()
    assert not failures, "\n".join(failures)
