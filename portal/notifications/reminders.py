"""Reminders for cron: before due dates, on overdue, and consents close to expiry.

`flask --app wsgi send-reminders` may run as often as you like: each reminder has a key (what,
which object, which window), and a key notifies once. Nothing goes to a consultant who is away.
"""

from __future__ import annotations

from datetime import date, timedelta

from flask import current_app
from sqlalchemy import select

from portal.accounts.models import Role, User
from portal.assignments.models import OPEN_STATES, Assignment
from portal.extensions import db
from portal.notifications.models import NotificationKind
from portal.notifications.services import bilingual_title, notify, path_for

K = NotificationKind
CONSENT_WINDOW = timedelta(days=60)


def _window(days_left: int, windows: tuple[int, ...]) -> int | None:
    """The smallest reminder window that holds `days_left` (so a missed day still reminds)."""
    fitting = [window for window in windows if 0 <= days_left <= window]
    return min(fitting) if fitting else None


def _away_ids(users, today: date) -> set[int]:
    try:
        from portal.availability.services import away_on
    except ImportError:  # availability not installed in this build
        return set()
    return away_on(users, today)


def _editors() -> list[User]:
    return list(
        db.session.scalars(
            select(User).where(User.role.in_([Role.EDITOR, Role.ADMIN]), User.active.is_(True))
        )
    )


def send_reminders(today: date) -> dict[str, int]:
    counts = {"due_soon": 0, "overdue": 0, "consent_expiring": 0, "skipped_away": 0}
    windows = current_app.config["PORTAL_REMINDER_DAYS"]
    assignments = db.session.scalars(
        select(Assignment).where(Assignment.state.in_(OPEN_STATES))
    ).all()
    away = _away_ids([a.consultant_id for a in assignments], today)
    for assignment in assignments:
        section = assignment.section
        link = path_for("assignments.assignment", assignment_id=assignment.id)
        days_left = (assignment.due_on - today).days
        window = _window(days_left, windows)
        if window is not None:
            if assignment.consultant_id in away:
                counts["skipped_away"] += 1
            elif notify(
                assignment.consultant,
                K.DUE_SOON,
                link=link,
                params={"title": bilingual_title(section), "date": assignment.due_on.isoformat()},
                dedupe_key=f"due:{assignment.id}:{assignment.due_on.isoformat()}:{window}",
            ):
                counts["due_soon"] += 1
        if days_left < 0:
            offered_by = assignment.offered_by
            editors = [offered_by] if offered_by is not None and offered_by.active else _editors()
            for editor in editors:
                if notify(
                    editor,
                    K.OVERDUE,
                    link=link,
                    params={
                        "title": bilingual_title(section),
                        "name": assignment.consultant.display_name,
                        "date": assignment.due_on.isoformat(),
                    },
                    dedupe_key=(
                        f"overdue:{assignment.id}:{assignment.due_on.isoformat()}:{editor.id}"
                    ),
                ):
                    counts["overdue"] += 1
    counts["consent_expiring"] = _consents(today)
    db.session.flush()
    return counts


def _consents(today: date) -> int:
    from portal.media.models import ConsentRecord, MediaItem

    renewed = select(ConsentRecord.replaces_id).where(ConsentRecord.replaces_id.is_not(None))
    rows = db.session.scalars(
        select(ConsentRecord)
        .join(MediaItem, MediaItem.id == ConsentRecord.item_id)
        .where(
            ConsentRecord.withdrawn_on.is_(None),
            ConsentRecord.expires_on <= today + CONSENT_WINDOW,
            ConsentRecord.id.not_in(renewed),
            MediaItem.archived_at.is_(None),
        )
    ).all()
    sent = 0
    for consent in rows:
        item = consent.item
        creator = db.session.get(User, item.created_by_id) if item.created_by_id else None
        editors = [creator] if creator is not None and creator.active else _editors()
        for editor in editors:
            if notify(
                editor,
                K.CONSENT_EXPIRING,
                link=path_for("media.item", item_id=item.id) + "#consent",
                params={
                    "title": bilingual_title(item.section),
                    "date": consent.expires_on.isoformat(),
                },
                dedupe_key=f"consent:{consent.id}:{consent.expires_on.isoformat()}:{editor.id}",
            ):
                sent += 1
    return sent
