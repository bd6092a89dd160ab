"""The notification pages: the unread count in the header, the list in the reader's language,
opening (same-site links only), marking read, other people's notifications, and preferences.
"""

from __future__ import annotations

import html
import re

from babel.dates import format_date

from portal.extensions import db
from portal.models import utcnow
from portal.notifications.models import (
    DeliveryMode,
    Notification,
    NotificationKind,
    NotificationPreference,
)
from tests.conftest import AuthActions
from tests.notifications.conftest import (
    SECTION_TITLE_EN,
    SECTION_TITLE_FR,
    add_section,
    count,
    day,
    french,
    offer,
    rows,
)

K = NotificationKind
BADGE = re.compile(r'<span class="portal-badge">(\d+)<span class="usa-sr-only">\s*([^<]*)</span>')


def signed_in(app, user_id: int):
    from portal.extensions import limiter

    limiter.reset()
    client = app.test_client()
    AuthActions(client, app).login_as(user_id)
    return client


def page_text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def badge(response) -> tuple[str, str] | None:
    found = BADGE.search(response.get_data(as_text=True))
    return (found.group(1), found.group(2).strip()) if found else None


def unread(app, user_id: int) -> int:
    return count(app, Notification, Notification.user_id == user_id, Notification.read_at.is_(None))


def add_notification(app, user_id: int, link: str) -> int:
    """A notification row made directly (as a bad or old row could be)."""
    with app.app_context():
        row = Notification(
            user_id=user_id,
            kind=K.ASSIGNMENT_OFFERED,
            link=link,
            params='{"title": {"en": "A section"}}',
            created_at=utcnow(),
        )
        db.session.add(row)
        db.session.commit()
        return row.id


def test_the_header_shows_the_unread_count(app, section_world):
    ids = section_world
    other = add_section(app, ids.editor, ids.report, "Another section")
    offer(app, ids.editor, ids.section, ids.amara, day(10))
    offer(app, ids.editor, other, ids.amara, day(12))
    amara = signed_in(app, ids.amara)
    assert badge(amara.get("/notifications")) == ("2", "unread")
    assert badge(amara.get("/account")) == ("2", "unread")

    amara.post_form("/notifications/read-all")
    assert badge(amara.get("/notifications")) is None
    river = signed_in(app, ids.river)
    assert badge(river.get("/notifications")) is None


def test_the_list_is_in_the_readers_language(app, section_world, make_user):
    ids = section_world
    amelie = make_user("consultant", display_name="Amélie", locale="fr")
    due = day(10)
    offer(app, ids.editor, ids.section, amelie, due)
    offer(app, ids.editor, ids.section, ids.amara, due)

    french_client = signed_in(app, amelie)
    response = french_client.get("/notifications")
    assert badge(response) == ("1", french(app, "unread"))
    french_page = page_text(response)
    expected = french(
        app,
        "You are offered the section “%(title)s”, due %(date)s.",
        title=SECTION_TITLE_FR,
        date=format_date(due, "long", locale="fr"),
    )
    assert expected in french_page
    assert SECTION_TITLE_EN not in french_page

    english_page = page_text(signed_in(app, ids.amara).get("/notifications"))
    english_date = format_date(due, "long", locale="en")
    assert f"You are offered the section “{SECTION_TITLE_EN}”, due {english_date}." in english_page
    assert SECTION_TITLE_FR not in english_page


def test_open_marks_read_and_goes_where_the_notification_leads_never_off_the_site(
    app, section_world
):
    ids = section_world
    assignment_id = offer(app, ids.editor, ids.section, ids.amara, day(10))
    (notification,) = rows(app, Notification)
    amara = signed_in(app, ids.amara)
    response = amara.post_form(f"/notifications/{notification.id}/open")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/assignments/{assignment_id}"
    assert unread(app, ids.amara) == 0
    assert amara.get(response.headers["Location"]).status_code == 200

    # A link that would lead off the site (a bad or tampered row) goes to the home page.
    for link in (
        "//evil.example",
        "//evil.example/assignments/1",
        "javascript:alert(1)",
        "https://evil.example/",
        "/\\evil.example",
        "/%2F%2Fevil.example",
        "\t//evil.example",
    ):
        notification_id = add_notification(app, ids.amara, link)
        response = amara.post_form(f"/notifications/{notification_id}/open")
        assert response.status_code == 302, link
        assert response.headers["Location"] == "/", link
    assert unread(app, ids.amara) == 0


def test_mark_one_and_mark_all_as_read(app, section_world):
    ids = section_world
    other = add_section(app, ids.editor, ids.report, "Another section")
    offer(app, ids.editor, ids.section, ids.amara, day(10))
    offer(app, ids.editor, other, ids.amara, day(12))
    offer(app, ids.editor, ids.section, ids.river, day(10))
    first, _second = rows(app, Notification, Notification.user_id == ids.amara)
    amara = signed_in(app, ids.amara)
    # Without a CSRF token nothing changes.
    assert amara.post(f"/notifications/{first.id}/read").status_code == 400
    assert amara.post("/notifications/read-all").status_code == 400
    assert unread(app, ids.amara) == 2

    response = amara.post_form(f"/notifications/{first.id}/read")
    assert response.headers["Location"] == "/notifications"
    assert unread(app, ids.amara) == 1
    listed = amara.get("/notifications").get_data(as_text=True)
    assert listed.count("portal-notification--unread") == 1

    response = amara.post_form("/notifications/read-all", follow_redirects=True)
    assert "All notifications are marked as read." in page_text(response)
    assert unread(app, ids.amara) == 0
    assert unread(app, ids.river) == 1  # someone else's are untouched
    response = amara.post_form("/notifications/read-all", follow_redirects=True)
    assert "Nothing was unread." in page_text(response)


def test_someone_elses_notification_is_not_found_and_stays_unread(app, section_world):
    ids = section_world
    offer(app, ids.editor, ids.section, ids.river, day(10))
    (rivers,) = rows(app, Notification)
    amara = signed_in(app, ids.amara)
    empty = page_text(amara.get("/notifications"))
    assert "No notifications yet. When something needs you, it appears here." in empty
    for action in ("open", "read"):
        assert amara.post_form(f"/notifications/{rivers.id}/{action}").status_code == 404
        assert amara.post_form(f"/notifications/987654/{action}").status_code == 404
    assert unread(app, ids.river) == 1
    assert SECTION_TITLE_EN not in page_text(amara.get("/notifications"))


# Preferences -----------------------------------------------------------------------------------


def checked_modes(response) -> dict[str, str]:
    """kind -> mode of the checked radio buttons on the preferences page."""
    chosen = {}
    for tag in re.findall(r"<input[^>]*>", response.get_data(as_text=True)):
        name = re.search(r'name="mode-([a-z_]+)"', tag)
        if name and re.search(r"\schecked\b", tag):
            chosen[name.group(1)] = re.search(r'value="([a-z_]+)"', tag).group(1)
    return chosen


# The defaults the brief's kinds start with (other kinds may be added by other features).
KNOWN_CONSULTANT_DEFAULTS = {
    "assignment_offered": "immediate",
    "due_soon": "immediate",
    "extension_answered": "immediate",
    "asked_again": "immediate",
    "reply": "digest",
    "addressed": "digest",
}
KNOWN_EDITOR_DEFAULTS = {
    "reply": "digest",
    "declined": "immediate",
    "consent_expiring": "digest",
    "overdue": "immediate",
}


def defaults_for(app, user_id: int) -> dict[str, str]:
    """kind -> default mode, for each kind this person can choose."""
    from portal.accounts.models import User
    from portal.notifications.services import DEFAULT_MODES, kinds_for

    with app.app_context():
        kinds = kinds_for(db.session.get(User, user_id))
    return {kind.value: DEFAULT_MODES[kind].value for kind in kinds}


def saved_modes(app, user_id: int) -> dict[str, str]:
    return {
        row.kind.value: row.mode.value
        for row in rows(app, NotificationPreference, NotificationPreference.user_id == user_id)
    }


def test_the_preferences_page_saves_each_choice(app, consultant, editor):
    amara = signed_in(app, consultant)
    page = amara.get("/account/notifications")
    assert page.status_code == 200
    defaults = defaults_for(app, consultant)
    assert defaults.items() >= KNOWN_CONSULTANT_DEFAULTS.items()
    assert not defaults.keys() & {"declined", "consent_expiring", "overdue"}
    assert checked_modes(page) == defaults

    choices = defaults | {"reply": "in_app", "due_soon": "digest"}
    response = amara.post_form(
        "/account/notifications", {f"mode-{kind}": mode for kind, mode in choices.items()}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/notifications"
    page = amara.get("/account/notifications")
    assert "Your notification choices are saved." in page_text(page)
    assert checked_modes(page) == choices
    assert saved_modes(app, consultant) == choices

    # Changing one's mind updates the saved choices.
    again = choices | {"reply": "immediate"}
    response = amara.post_form(
        "/account/notifications", {f"mode-{kind}": mode for kind, mode in again.items()}
    )
    assert response.status_code == 302
    assert saved_modes(app, consultant) == again

    # Editors choose among the kinds that reach editors.
    editor_defaults = defaults_for(app, editor)
    assert editor_defaults.items() >= KNOWN_EDITOR_DEFAULTS.items()
    assert "assignment_offered" not in editor_defaults
    assert checked_modes(signed_in(app, editor).get("/account/notifications")) == editor_defaults


def test_an_invalid_choice_is_refused_in_the_readers_language_and_keeps_the_others(app, make_user):
    amelie = make_user("consultant", display_name="Amélie", locale="fr")
    client = signed_in(app, amelie)
    sent = defaults_for(app, amelie) | {"reply": "in_app", "asked_again": "carrier_pigeon"}
    response = client.post_form(
        "/account/notifications", {f"mode-{kind}": mode for kind, mode in sent.items()}
    )
    assert response.status_code == 400
    shown = page_text(response)
    assert french(app, "Please choose one option.") in shown
    assert (
        french(
            app,
            "Please choose one option for each kind of event. Nothing you chose was lost.",
        )
        in shown
    )
    kept = checked_modes(response)
    assert kept["reply"] == "in_app"  # what was chosen is kept on the page
    assert kept["asked_again"] == "immediate"  # the refused one shows what holds
    assert saved_modes(app, amelie) == {}  # nothing saved

    missing = dict(sent)
    del missing["asked_again"]
    response = client.post_form(
        "/account/notifications", {f"mode-{kind}": mode for kind, mode in missing.items()}
    )
    assert response.status_code == 400
    assert saved_modes(app, amelie) == {}


def test_choosing_in_app_only_stops_the_e_mails(app, section_world):
    from portal.notifications.models import OutboxMessage

    ids = section_world
    amara = signed_in(app, ids.amara)
    choices = {f"mode-{kind}": DeliveryMode.IN_APP.value for kind in defaults_for(app, ids.amara)}
    assert amara.post_form("/account/notifications", choices).status_code == 302
    offer(app, ids.editor, ids.section, ids.amara, day(10))
    assert count(app, Notification) == 1
    assert count(app, OutboxMessage) == 0
    with app.test_request_context():
        from portal.notifications.services import send_digests

        assert send_digests() == 0  # nor later, in a digest
    assert count(app, OutboxMessage) == 0
