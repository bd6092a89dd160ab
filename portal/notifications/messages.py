"""The words of each kind of notification, in the reader's language when they are shown.

In-app messages may name the section (the reader is signed in and may see it). E-mails never name
it and never quote anything: a generic line and a link (trauma-informed.md, privacy).
"""

from __future__ import annotations

import json
from datetime import date

from flask_babel import format_date, get_locale
from flask_babel import lazy_gettext as _l

from portal.notifications.models import Notification, NotificationKind

K = NotificationKind

IN_APP = {
    K.ASSIGNMENT_OFFERED: _l("You are offered the section “%(title)s”, due %(date)s."),
    K.DUE_SOON: _l("“%(title)s” is due %(date)s."),
    K.EXTENSION_ANSWERED: _l("Your request for more time on “%(title)s” was answered: %(answer)s."),
    K.ASKED_AGAIN: _l("“%(title)s” changed since your decision. Please look at it again."),
    K.REPLY: _l("%(name)s replied to your comment on “%(title)s”."),
    K.ADDRESSED: _l("Your comment on “%(title)s” is marked as addressed in version %(number)s."),
    K.DECLINED: _l("%(name)s declined “%(title)s”."),
    K.CONSENT_EXPIRING: _l("A consent for an item of “%(title)s” expires on %(date)s."),
    K.OVERDUE: _l("“%(title)s” is overdue for %(name)s (due %(date)s)."),
    K.TIME_ANSWERED: _l("Your time on %(date)s for “%(title)s”: %(answer)s."),
}
# A photo or a narrative changed, rather than the section's text.
ASKED_AGAIN_ITEM = {
    "photo": _l("A photo in “%(title)s” changed since your decision. Please look at it again."),
    "narrative": _l(
        "A narrative in “%(title)s” changed since your decision. Please look at it again."
    ),
}
EMAIL = {
    K.ASSIGNMENT_OFFERED: _l(
        "The editors offered you a section to review. You can accept or decline it in the portal."
    ),
    K.DUE_SOON: _l(
        "A section you are reviewing is due %(date)s. If you need more time, you can ask for it "
        "in the portal."
    ),
    K.EXTENSION_ANSWERED: _l("The editors answered your request for more time."),
    K.ASKED_AGAIN: _l(
        "Something you gave a decision on has changed, so your decision is asked for again."
    ),
    K.REPLY: _l("Someone replied to one of your comments."),
    K.ADDRESSED: _l(
        "One of your comments is marked as addressed. You can confirm it or reopen the thread."
    ),
    K.DECLINED: _l("%(name)s declined an assignment."),
    K.CONSENT_EXPIRING: _l("A consent recorded in the portal expires on %(date)s."),
    K.OVERDUE: _l("An assignment is past its due date."),
    K.TIME_ANSWERED: _l("The editors answered one of your time records."),
}
SUBJECTS = {
    K.ASSIGNMENT_OFFERED: _l("A section is offered to you"),
    K.DUE_SOON: _l("A due date is near"),
    K.EXTENSION_ANSWERED: _l("Your request for more time is answered"),
    K.ASKED_AGAIN: _l("Your decision is asked for again"),
    K.REPLY: _l("A reply to your comment"),
    K.ADDRESSED: _l("Your comment is marked as addressed"),
    K.DECLINED: _l("An assignment was declined"),
    K.CONSENT_EXPIRING: _l("A consent expires soon"),
    K.OVERDUE: _l("An assignment is overdue"),
    K.TIME_ANSWERED: _l("A time record is answered"),
}
ANSWERS = {
    "granted": _l("more time granted"),
    "refused": _l("more time not granted"),
    "approved": _l("approved"),
    "queried": _l("the editors have a question"),
}


def params_of(notification: Notification) -> dict:
    try:
        return json.loads(notification.params or "{}")
    except ValueError:
        return {}


def _values(params: dict) -> dict:
    """The placeholders, in the current language: titles, dates and answers."""
    language = str(get_locale() or "en")
    titles = params.get("title") or {}
    title = titles.get(language) or titles.get("en") or ""
    values = {
        "title": title,
        "name": params.get("name", ""),
        "number": params.get("number", ""),
        "answer": str(ANSWERS.get(params.get("answer", ""), "")),
        "date": "",
    }
    if params.get("date"):
        values["date"] = format_date(date.fromisoformat(params["date"]), "long")
    return values


def in_app_text(notification: Notification) -> str:
    params = params_of(notification)
    words = IN_APP[notification.kind]
    if notification.kind is K.ASKED_AGAIN and params.get("item") in ASKED_AGAIN_ITEM:
        words = ASKED_AGAIN_ITEM[params["item"]]
    return str(words) % _values(params)


def email_line(notification: Notification) -> str:
    return str(EMAIL[notification.kind]) % _values(params_of(notification))
