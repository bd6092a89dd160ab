"""Time records and notifications in a real browser, in English and in French.

A consultant records time on an assignment she accepted; the editor approves it from the time
review page; the consultant sees the unread count in the header, opens her notifications, opens
the one about her time (which marks it read and leads to the record, now approved) and marks the
rest read. She also records a period away. axe-core checks every page visited.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from types import SimpleNamespace

import pytest
from flask_babel import force_locale, gettext
from playwright.sync_api import expect

from portal.models import utcnow

pytestmark = pytest.mark.e2e

LANGS = ["en", "fr"]


@pytest.fixture
def words(live_server):
    def say(lang: str, message: str, **variables) -> str:
        with live_server.app.test_request_context(), force_locale(lang):
            return gettext(message, **variables)

    return say


@pytest.fixture
def make_world(live_server, make_account):
    """An editor and a consultant of this test's own; the consultant accepted a section."""
    from portal.accounts import services as accounts
    from portal.assignments import services as assignments
    from portal.extensions import db
    from portal.reports import services as reports

    def make(lang: str) -> SimpleNamespace:
        tag = uuid.uuid4().hex[:6]
        editor = make_account("editor", locale=lang, name=f"Editor {tag}")
        consultant = make_account("consultant", locale=lang, name=f"Reviewer {tag}")
        with live_server.app.test_request_context():
            editor_user = accounts.user_by_email(editor.email)
            consultant_user = accounts.user_by_email(consultant.email)
            report = reports.create_report(
                editor_user, title_en=f"Time {tag}", title_fr=f"Temps {tag}", year=2027
            )
            db.session.flush()
            section = reports.create_section(
                editor_user, report, title_en=f"Outreach {tag}", title_fr=f"Approche {tag}"
            )
            db.session.flush()
            assignment = assignments.assign_section(
                editor_user, section, consultant_user, due_on=utcnow().date() + timedelta(days=20)
            )
            assignments.accept(consultant_user, assignment)
            db.session.commit()
            return SimpleNamespace(
                tag=tag, editor=editor, consultant=consultant, assignment_id=assignment.id
            )

    return make


def choose(page, name: str, value: str) -> None:
    radio = page.locator(f"input[type=radio][name={name}][value='{value}']")
    page.locator(f"label[for='{radio.get_attribute('id')}']").click()
    expect(radio).to_be_checked()


@pytest.mark.parametrize("lang", LANGS)
def test_time_is_approved_and_the_notification_is_read(
    page, fresh_context, axe, ui, words, make_world, lang
):
    world = make_world(lang)
    today = utcnow().date()

    # The consultant records an hour and a half of reading.
    ui.sign_in(page, world.consultant.email, world.consultant.password)
    page.goto("/time")
    axe(page)
    page.locator("#assignment").select_option(str(world.assignment_id))
    page.locator("#worked_on").fill(today.isoformat())
    page.locator("#hours").fill("1")
    page.locator("#minutes").fill("30")
    choose(page, "activity", "reading")
    page.locator("#note").fill("Read the draft twice.")
    page.locator("main form [type=submit]").last.click()
    expect(page.locator("main")).to_contain_text(words(lang, "Waiting for approval"))
    axe(page)

    # The editor approves it from the time review page.
    editor_page = fresh_context().new_page()
    ui.sign_in(editor_page, world.editor.email, world.editor.password)
    editor_page.goto("/time/review")
    axe(editor_page)
    row = editor_page.locator("tr", has_text=world.consultant.display_name)
    row.locator("form[action$='/approve'] button[type=submit]").click()
    expect(editor_page.locator(".usa-alert")).to_be_visible()
    axe(editor_page)

    # The consultant sees the unread count, opens her notifications and the one about her time.
    page.goto("/")
    badge = page.locator("header .portal-badge")
    expect(badge).to_be_visible()
    unread_before = int(badge.inner_text().split()[0])
    assert unread_before >= 2  # the offer, and the approved time
    page.locator("header a[href='/notifications']").click()
    axe(page)
    approved = words(lang, "approved")
    item = page.locator(".portal-notification--unread", has_text=approved)
    expect(item).to_have_count(1)
    item.locator("form[action$='/open'] button").click()
    page.wait_for_url("**/time**")
    assert ui.urlpath(page.url) == "/time"
    expect(page.locator("main")).to_contain_text(words(lang, "Approved"))
    axe(page)
    expect(page.locator("header .portal-badge")).to_contain_text(str(unread_before - 1))

    # Mark all as read: the badge goes.
    page.goto("/notifications")
    page.locator("form[action$='/read-all'] button").click()
    expect(page.locator("header .portal-badge")).to_have_count(0)
    expect(page.locator(".portal-notification--unread")).to_have_count(0)
    axe(page)

    # She chooses a daily digest for replies, and records time away.
    page.goto("/account/notifications")
    axe(page)
    choose(page, "mode-reply", "in_app")
    page.locator("main form [type=submit]").click()
    expect(page.locator(".usa-alert--success")).to_be_visible()
    expect(page.locator("input[name='mode-reply'][value='in_app']")).to_be_checked()
    page.goto("/account/availability")
    axe(page)
    start = today + timedelta(days=30)
    page.locator("#starts_on").fill(start.isoformat())
    page.locator("#ends_on").fill((start + timedelta(days=6)).isoformat())
    page.locator("main form [type=submit]").first.click()
    expect(page.locator(".usa-alert--success")).to_be_visible()
    axe(page)
