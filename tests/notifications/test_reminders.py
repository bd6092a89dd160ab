"""`flask send-reminders`: due-date reminders per window, overdue notices to the offering editor,
expiring consents to the item's creator; each sent once however often cron runs it, and nothing
to a consultant who is away.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pytest

from portal.accounts.models import User
from portal.assignments import services as assignments
from portal.assignments.models import Assignment
from portal.extensions import db
from portal.media import services as media
from portal.media.models import ConsentRecord, ItemKind
from portal.notifications.models import Notification, NotificationKind, OutboxMessage
from portal.reports.models import Section
from tests.notifications.conftest import add_section, count, day, deliver, offer, rows

K = NotificationKind
BASE = 20  # "today" for the reminder runs, in days from now (due dates must not be in the past)


def remind(runner, today: date):
    result = runner.invoke(args=["send-reminders", "--today", today.isoformat()])
    assert result.exit_code == 0, result.output
    return result.output


def by_link(app, kind: NotificationKind) -> dict[str, list[int]]:
    """Who was notified of this kind, per link."""
    found: dict[str, list[int]] = {}
    for n in rows(app, Notification, Notification.kind == kind):
        found.setdefault(n.link, []).append(n.user_id)
    return found


def totals(app) -> tuple[int, int]:
    return count(app, Notification), count(app, OutboxMessage)


@pytest.fixture
def due_dates(app, section_world, make_user):
    """Amara has six assignments from the editor, due 10, 7, 5, 2, 0 and -1 days after BASE."""
    ids = section_world
    ids.other_editor = make_user("editor", display_name="Jordan")
    ids.jobs = {}
    for offset in (10, 7, 5, 2, 0, -1):
        section = add_section(app, ids.editor, ids.report, f"Due {offset}")
        ids.jobs[offset] = offer(app, ids.editor, section, ids.amara, day(BASE + offset))
    assert deliver(app)["sent"] == 6  # the offers' e-mails went out when they were made
    return ids


def expect(ids, due_soon: dict[int, int], overdue: dict[int, int]):
    link = "/assignments/{}".format
    return (
        {link(ids.jobs[d]): [ids.amara] * n for d, n in due_soon.items() if n},
        {link(ids.jobs[d]): [ids.editor] * n for d, n in overdue.items() if n},
    )


def test_reminders_per_window_once_each_and_overdue_to_the_offering_editor(app, runner, due_dates):
    ids = due_dates
    assert app.config["PORTAL_REMINDER_DAYS"] == (7, 2)
    assert totals(app) == (6, 6)  # the six offers

    output = remind(runner, day(BASE))
    assert "4 due-date reminders, 1 overdue notices, 0 consent notices, 0 skipped (away)" in (
        output
    )
    assert "e-mail: 5 sent, 0 to retry, 0 failed" in output
    due_soon, overdue = expect(
        ids,
        due_soon={10: 0, 7: 1, 5: 1, 2: 1, 0: 1, -1: 0},
        overdue={-1: 1},
    )
    assert by_link(app, K.DUE_SOON) == due_soon
    assert by_link(app, K.OVERDUE) == overdue  # the offering editor, not Jordan
    assert totals(app) == (11, 11)
    assert len(list(Path(app.config["PORTAL_MAIL_FOLDER"]).iterdir())) == 11

    output = remind(runner, day(BASE))
    assert "0 due-date reminders, 0 overdue notices, 0 consent notices" in output
    assert totals(app) == (11, 11)

    # Three days on: due in 10 enters the 7-day window, due in 5 the 2-day window, and the
    # two due in 2 and 0 become overdue; the others stay in the window they were reminded in.
    output = remind(runner, day(BASE + 3))
    assert "2 due-date reminders, 2 overdue notices" in output
    due_soon, overdue = expect(
        ids,
        due_soon={10: 1, 7: 1, 5: 2, 2: 1, 0: 1, -1: 0},
        overdue={2: 1, 0: 1, -1: 1},
    )
    assert by_link(app, K.DUE_SOON) == due_soon
    assert by_link(app, K.OVERDUE) == overdue
    assert totals(app) == (15, 15)
    assert count(app, Notification, Notification.user_id == ids.other_editor) == 0


def test_the_windows_come_from_the_configuration(app, runner, section_world):
    ids = section_world
    app.config["PORTAL_REMINDER_DAYS"] = (3,)
    offer(app, ids.editor, ids.section, ids.amara, day(BASE + 4))
    assert "0 due-date reminders" in remind(runner, day(BASE))
    assert "1 due-date reminders" in remind(runner, day(BASE + 1))
    assert "0 due-date reminders" in remind(runner, day(BASE + 3))


def test_an_extension_moves_the_reminders_with_the_due_date(app, runner, section_world):
    ids = section_world
    job = offer(app, ids.editor, ids.section, ids.amara, day(BASE + 2))
    assert "1 due-date reminders" in remind(runner, day(BASE))
    with app.app_context():
        assignment = db.session.get(Assignment, job)
        amara, editor = db.session.get(User, ids.amara), db.session.get(User, ids.editor)
        assignments.request_extension(amara, assignment, until=day(BASE + 9))
        assignments.answer_extension(editor, assignment, grant=True)
        db.session.commit()
    # Due on BASE + 9 now: the 7-day window of the new date, then its 2-day window.
    assert "1 due-date reminders, 0 overdue notices" in remind(runner, day(BASE + 3))
    assert "0 due-date reminders, 0 overdue notices" in remind(runner, day(BASE + 6))
    assert "1 due-date reminders" in remind(runner, day(BASE + 7))
    assert "0 due-date reminders, 0 overdue notices" in remind(runner, day(BASE + 9))
    keys = [n.dedupe_key for n in rows(app, Notification, Notification.kind == K.DUE_SOON)]
    assert keys == [
        f"due:{job}:{day(BASE + 2).isoformat()}:2",
        f"due:{job}:{day(BASE + 9).isoformat()}:7",
        f"due:{job}:{day(BASE + 9).isoformat()}:2",
    ]


def add_away_period(app, user_id: int, starts_on: date, ends_on: date) -> None:
    try:
        from portal.availability.services import add_period
    except ImportError as error:
        pytest.skip(f"portal.availability.services.add_period is not importable yet: {error}")
    with app.app_context():
        add_period(db.session.get(User, user_id), starts_on=starts_on, ends_on=ends_on, note=None)
        db.session.commit()


def test_a_consultant_who_is_away_gets_no_reminder_that_day(app, runner, section_world):
    ids = section_world
    amara_job = offer(app, ids.editor, ids.section, ids.amara, day(BASE + 2))
    river_job = offer(app, ids.editor, ids.section, ids.river, day(BASE + 2))
    add_away_period(app, ids.amara, day(BASE - 1), day(BASE))

    output = remind(runner, day(BASE))
    assert "1 due-date reminders, 0 overdue notices, 0 consent notices, 1 skipped (away)" in (
        output
    )
    assert by_link(app, K.DUE_SOON) == {f"/assignments/{river_job}": [ids.river]}

    # Back the next day: the reminder she missed comes then, once.
    assert "1 due-date reminders" in remind(runner, day(BASE + 1))
    assert "0 due-date reminders" in remind(runner, day(BASE + 1))
    assert by_link(app, K.DUE_SOON) == {
        f"/assignments/{river_job}": [ids.river],
        f"/assignments/{amara_job}": [ids.amara],
    }


def test_closed_assignments_get_no_reminder_and_no_overdue_notice(app, runner, section_world):
    ids = section_world
    jobs = {}
    for name, offset in (("declined", 2), ("withdrawn", -1), ("submitted", 0), ("late", -2)):
        section = add_section(app, ids.editor, ids.report, name)
        jobs[name] = offer(app, ids.editor, section, ids.amara, day(BASE + offset))
    with app.app_context():
        amara, editor = db.session.get(User, ids.amara), db.session.get(User, ids.editor)
        get = lambda name: db.session.get(Assignment, jobs[name])  # noqa: E731
        assignments.decline(amara, get("declined"))
        assignments.withdraw(editor, get("withdrawn"))
        assignments.accept(amara, get("submitted"))
        assignments.start_review(amara, get("submitted"))
        assignments.submit_review(amara, get("submitted"))
        assignments.decline(amara, get("late"))
        db.session.commit()
    before = totals(app)
    output = remind(runner, day(BASE))
    assert "0 due-date reminders, 0 overdue notices" in output
    assert totals(app) == before


def test_overdue_goes_to_the_editors_when_the_offering_editor_has_left(
    app, runner, section_world, make_user
):
    ids = section_world
    other_editor = make_user("editor", display_name="Jordan")
    offer(app, ids.editor, ids.section, ids.amara, day(BASE - 1))
    with app.app_context():
        db.session.get(User, ids.editor).active = False
        db.session.commit()
    remind(runner, day(BASE))
    assert [n.user_id for n in rows(app, Notification, Notification.kind == K.OVERDUE)] == [
        other_editor
    ]


# Consents ---------------------------------------------------------------------------------------


@pytest.fixture
def consents(app, section_world, make_user):
    """Narratives added by Jordan, each with a consent: one expiring in 30 days, one withdrawn,
    one renewed, and one expiring in 90 days."""
    ids = section_world
    creator = make_user("editor", display_name="Jordan")
    with app.app_context():
        jordan = db.session.get(User, creator)
        section = db.session.get(Section, ids.section)
        made = {}
        for name, expires in (("expiring", 30), ("withdrawn", 30), ("renewed", 30), ("later", 90)):
            item = media.add_item(
                jordan, section, ItemKind.NARRATIVE, {"title_en": name, "body_en": "A story."}
            )
            made[name] = (
                item,
                media.record_consent(
                    jordan,
                    item,
                    given_by="Participant A",
                    given_on=day(0),
                    scope="The 2027 report",
                    uses_allowed=None,
                    expires_on=day(expires),
                ),
            )
        db.session.commit()
        media.withdraw_consent(jordan, made["withdrawn"][1])
        item, old = made["renewed"]
        media.record_consent(
            jordan,
            item,
            given_by="Participant A",
            given_on=day(0),
            scope="The 2027 report",
            uses_allowed=None,
            expires_on=None,
            replaces=old,
        )
        db.session.commit()
        return SimpleNamespace(
            creator=creator,
            editor=ids.editor,
            items={name: item.id for name, (item, _consent) in made.items()},
        )


def test_an_expiring_consent_is_told_to_the_items_creator_once(app, runner, consents):
    assert count(app, ConsentRecord) == 5
    output = remind(runner, day(0))
    assert "1 consent notices" in output
    (notice,) = rows(app, Notification, Notification.kind == K.CONSENT_EXPIRING)
    assert notice.user_id == consents.creator
    assert notice.link == f"/items/{consents.items['expiring']}#consent"

    assert "0 consent notices" in remind(runner, day(0))
    assert "0 consent notices" in remind(runner, day(10))
    assert count(app, Notification, Notification.kind == K.CONSENT_EXPIRING) == 1
    assert count(app, Notification, Notification.user_id == consents.editor) == 0
    # The one expiring in 90 days is told once it is within 60 days.
    assert "1 consent notices" in remind(runner, day(31))
    assert by_link(app, K.CONSENT_EXPIRING) == {
        f"/items/{consents.items['expiring']}#consent": [consents.creator],
        f"/items/{consents.items['later']}#consent": [consents.creator],
    }


def test_the_reminder_day_is_today_unless_a_real_date_is_given(runner, app):
    result = runner.invoke(args=["send-reminders"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"{day(0).isoformat()}: 0 due-date reminders")
    result = runner.invoke(args=["send-reminders", "--today", "2026-02-30"])
    assert result.exit_code == 2
    assert count(app, Notification) == 0


def test_send_mail_and_send_digests_commands(app, runner, section_world):
    from portal.notifications.models import DeliveryMode
    from portal.notifications.services import set_preferences

    ids = section_world
    with app.app_context():
        set_preferences(
            db.session.get(User, ids.river), {K.ASSIGNMENT_OFFERED: DeliveryMode.DIGEST}
        )
        db.session.commit()
    offer(app, ids.editor, ids.section, ids.amara, day(10))
    offer(app, ids.editor, ids.section, ids.river, day(10))
    result = runner.invoke(args=["send-mail"])
    assert result.exit_code == 0, result.output
    assert "e-mail: 1 sent, 0 to retry, 0 failed." in result.output
    result = runner.invoke(args=["send-digests"])
    assert result.exit_code == 0, result.output
    assert "1 digests queued; e-mail: 1 sent, 0 to retry." in result.output
    assert "0 digests queued" in runner.invoke(args=["send-digests"]).output
    assert [m.user_id for m in rows(app, OutboxMessage)] == [ids.amara, ids.river]
