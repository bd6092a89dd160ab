"""Sending the outbox: a real SMTP server on loopback, retries with back-off, failures shown to
admins, claiming (never sent twice), and .eml files when no SMTP server is configured.
"""

from __future__ import annotations

import html
import os
import stat
import threading
from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from portal.models import utcnow
from portal.notifications import sender
from portal.notifications.models import OutboxMessage, OutboxState
from portal.notifications.sender import BACKOFF_MINUTES, MAX_ATTEMPTS
from tests.conftest import AuthActions
from tests.notifications.conftest import (
    SECTION_TEXT,
    SECTION_TITLE_EN,
    SECTION_TITLE_FR,
    add_section,
    day,
    deliver,
    french,
    offer,
    parts,
    rows,
    use_smtp,
)

NOTHING = {"sent": 0, "retry": 0, "failed": 0}
OFFER_LINE = (
    "The editors offered you a section to review. You can accept or decline it in the portal."
)


def signed_in(app, user_id: int):
    from portal.extensions import limiter

    limiter.reset()
    client = app.test_client()
    AuthActions(client, app).login_as(user_id)
    return client


def only_message(app) -> OutboxMessage:
    (message,) = rows(app, OutboxMessage)
    return message


# A real SMTP server ---------------------------------------------------------------------------


def test_an_offer_is_e_mailed_over_smtp_in_the_consultants_language(
    app, smtp, section_world, make_user
):
    amelie = make_user("consultant", email="amelie@example.org", display_name="Amélie", locale="fr")
    assignment_id = offer(app, section_world.editor, section_world.section, amelie, day(14))

    assert deliver(app) == {"sent": 1, "retry": 0, "failed": 0}
    assert smtp.envelopes == [("portal@portal.example.org", ["amelie@example.org"])]
    (message,) = smtp.messages
    assert message["To"] == "amelie@example.org"
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == [
        "text/plain",
        "text/html",
    ]
    text, html_body = parts(message)
    shown = html.unescape(html_body)
    link = f"https://portal.example.org/assignments/{assignment_id}"
    assert link in text
    assert f'href="{link}"' in html_body

    # French throughout: the subject and the line from the catalog (the English msgid while
    # it waits for a translation), and the greeting and signature, which are translated.
    assert message["Subject"] == french(app, "A section is offered to you")
    for body in (text, shown):
        assert french(app, OFFER_LINE) in body
        assert "Bonjour Amélie," in body
        assert "Portail du Conseil consultatif des survivantes et survivants" in body
        assert "Hello" not in body
        assert "https://portal.example.org/account/notifications" in body
    assert '<html lang="fr">' in html_body
    # A link, never the section.
    for secret in (SECTION_TITLE_EN, SECTION_TITLE_FR, SECTION_TEXT):
        assert secret not in message["Subject"] and secret not in text and secret not in shown

    sent = only_message(app)
    assert (sent.state, sent.attempts, sent.last_error) == (OutboxState.SENT, 1, None)
    assert sent.sent_at is not None
    assert deliver(app) == NOTHING  # sent once
    assert len(smtp.messages) == 1


def test_an_unanswered_server_means_a_retry_a_minute_later(app, smtp_server, section_world):
    ids = section_world
    smtp_server.stop()
    use_smtp(app, smtp_server.port)
    offer(app, ids.editor, ids.section, ids.amara, day(10))

    before = utcnow()
    assert deliver(app) == {"sent": 0, "retry": 1, "failed": 0}
    after = utcnow()
    message = only_message(app)
    assert message.state is OutboxState.PENDING
    assert message.attempts == 1
    assert "Connection refused" in message.last_error
    assert not Path(app.config["PORTAL_MAIL_FOLDER"]).exists()  # no .eml file instead
    assert before + timedelta(minutes=1) <= message.next_attempt_at <= after + timedelta(minutes=1)

    # Before the minute is up nothing is tried, even once the server answers again.
    smtp_server.start()
    assert deliver(app) == NOTHING
    assert deliver(app, now=message.next_attempt_at - timedelta(seconds=1)) == NOTHING
    assert only_message(app).attempts == 1
    assert smtp_server.messages == []

    assert deliver(app, now=message.next_attempt_at) == {"sent": 1, "retry": 0, "failed": 0}
    sent = only_message(app)
    assert (sent.state, sent.attempts, sent.last_error) == (OutboxState.SENT, 2, None)
    (received,) = smtp_server.messages
    assert received["To"] == "consultant@example.org"


def test_after_the_last_attempt_it_fails_and_an_admin_can_send_it_again(
    app, smtp_server, section_world, admin
):
    ids = section_world
    smtp_server.stop()
    use_smtp(app, smtp_server.port)
    offer(app, ids.editor, ids.section, ids.amara, day(10))

    now = utcnow()
    for attempt in range(1, MAX_ATTEMPTS):
        assert deliver(app, now=now) == {"sent": 0, "retry": 1, "failed": 0}
        message = only_message(app)
        assert (message.state, message.attempts) == (OutboxState.PENDING, attempt)
        wait = BACKOFF_MINUTES[min(attempt, len(BACKOFF_MINUTES)) - 1]
        assert message.next_attempt_at == now + timedelta(minutes=wait)
        now = message.next_attempt_at
    assert BACKOFF_MINUTES == (1, 5, 30, 120, 720)
    assert deliver(app, now=now) == {"sent": 0, "retry": 0, "failed": 1}
    failed = only_message(app)
    assert (failed.state, failed.attempts) == (OutboxState.FAILED, MAX_ATTEMPTS)
    assert deliver(app, now=now + timedelta(days=365)) == NOTHING  # never again by itself

    # Admins see it; editors and consultants may not.
    for user_id in (ids.editor, ids.amara):
        client = signed_in(app, user_id)
        assert client.get("/admin/outbox").status_code == 403
        refused = client.post_form(f"/admin/outbox/{failed.id}/retry")
        assert refused.status_code == 403
        assert only_message(app).state is OutboxState.FAILED
    admin_client = signed_in(app, admin)
    page = admin_client.get("/admin/outbox")
    assert page.status_code == 200
    shown = html.unescape(page.get_data(as_text=True))
    assert "Could not be sent" in shown
    assert failed.subject in shown
    assert "Amara" in shown
    assert "Connection refused" in shown
    assert f'action="/admin/outbox/{failed.id}/retry"' in shown
    assert "Send again" in shown

    smtp_server.start()
    response = admin_client.post_form(f"/admin/outbox/{failed.id}/retry")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/outbox")
    assert only_message(app).state is OutboxState.PENDING
    assert only_message(app).attempts == 0  # a fresh set of attempts
    response.close()  # the response is on its way: the sender runs now, after the commit
    sent = only_message(app)
    assert sent.state is OutboxState.SENT
    (received,) = smtp_server.messages
    assert received["To"] == "consultant@example.org"
    assert "Nothing failed." in admin_client.get("/admin/outbox").get_data(as_text=True)


def test_a_message_is_never_sent_twice_by_two_senders(app, smtp, section_world, monkeypatch):
    """While sender A is busy sending the first message, sender B runs in full: B skips the one
    A claimed and sends the rest; A then skips those B claimed. Each message goes out once."""
    ids = section_world
    for number in range(4):
        section = add_section(app, ids.editor, ids.report, f"Section {number}")
        offer(app, ids.editor, section, ids.amara, day(10))
    assert len(rows(app, OutboxMessage)) == 4

    real_send = sender._send
    started = threading.Event()
    other_sender: list[dict] = []

    def send_while_another_sender_runs(email, message_id):
        if not started.is_set():  # only sender A's first message; B sends normally
            started.set()
            thread = threading.Thread(target=lambda: other_sender.append(deliver(app)))
            thread.start()
            thread.join(timeout=30)
        real_send(email, message_id)

    monkeypatch.setattr(sender, "_send", send_while_another_sender_runs)
    first = deliver(app)

    assert other_sender == [{"sent": 3, "retry": 0, "failed": 0}]
    assert first == {"sent": 1, "retry": 0, "failed": 0}
    ids_received = sorted(message["Message-ID"] for message in smtp.messages)
    assert len(ids_received) == 4 and len(set(ids_received)) == 4
    assert {m.state for m in rows(app, OutboxMessage)} == {OutboxState.SENT}
    assert all(m.attempts == 1 for m in rows(app, OutboxMessage))


def test_a_message_claimed_by_a_sender_that_died_is_sent_later(
    app, smtp, section_world, monkeypatch
):
    class WorkerKilled(BaseException):
        pass

    def killed(email, message_id):
        raise WorkerKilled

    ids = section_world
    offer(app, ids.editor, ids.section, ids.amara, day(10))
    monkeypatch.setattr(sender, "_send", killed)
    with pytest.raises(WorkerKilled):
        deliver(app)
    assert only_message(app).state is OutboxState.SENDING
    monkeypatch.undo()

    deliver(app, now=utcnow() + timedelta(days=1))
    assert only_message(app).state is OutboxState.SENT
    assert len(smtp.messages) == 1


# Without an SMTP server ------------------------------------------------------------------------


def test_without_smtp_settings_each_e_mail_is_a_private_eml_file(app, section_world):
    ids = section_world
    assert app.config["PORTAL_MAIL_SERVER"] == ""
    folder = Path(app.config["PORTAL_MAIL_FOLDER"])
    assignment_id = offer(app, ids.editor, ids.section, ids.amara, day(10))

    assert deliver(app) == {"sent": 1, "retry": 0, "failed": 0}
    (path,) = folder.iterdir()
    assert path.suffix == ".eml"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(folder).st_mode) & 0o077 == 0
    message = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert message["To"] == "consultant@example.org"
    assert message["Subject"] == "A section is offered to you"
    text, html_body = parts(message)
    assert f"https://portal.example.org/assignments/{assignment_id}" in text
    assert OFFER_LINE in text and OFFER_LINE in html.unescape(html_body)
    assert SECTION_TITLE_EN not in path.read_text(encoding="utf-8")
    assert only_message(app).state is OutboxState.SENT
