"""Notifications, each person's delivery preferences, and the e-mail outbox."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.accounts.models import User
from portal.enums import enum_column
from portal.models import Base, utcnow


class NotificationKind(enum.StrEnum):
    ASSIGNMENT_OFFERED = "assignment_offered"
    DUE_SOON = "due_soon"
    EXTENSION_ANSWERED = "extension_answered"
    ASKED_AGAIN = "asked_again"
    REPLY = "reply"
    ADDRESSED = "addressed"
    DECLINED = "declined"
    CONSENT_EXPIRING = "consent_expiring"
    OVERDUE = "overdue"
    TIME_ANSWERED = "time_answered"

    @property
    def title(self) -> str:
        return str(KIND_TITLES[self])

    @property
    def for_editors(self) -> bool:
        return self in EDITOR_KINDS


KIND_TITLES = {
    NotificationKind.ASSIGNMENT_OFFERED: _l("A section is offered to me"),
    NotificationKind.DUE_SOON: _l("A due date is near"),
    NotificationKind.EXTENSION_ANSWERED: _l("My request for more time is answered"),
    NotificationKind.ASKED_AGAIN: _l("My decision is asked for again after a change"),
    NotificationKind.REPLY: _l("Someone replies to my comment"),
    NotificationKind.ADDRESSED: _l("My comment is marked as addressed"),
    NotificationKind.DECLINED: _l("A consultant declines an assignment"),
    NotificationKind.CONSENT_EXPIRING: _l("A consent expires within 60 days"),
    NotificationKind.OVERDUE: _l("An assignment is overdue"),
    NotificationKind.TIME_ANSWERED: _l("My time record is approved or has a question"),
}
EDITOR_KINDS = frozenset(
    {NotificationKind.DECLINED, NotificationKind.CONSENT_EXPIRING, NotificationKind.OVERDUE}
)


class DeliveryMode(enum.StrEnum):
    IN_APP = "in_app"
    IMMEDIATE = "immediate"
    DIGEST = "digest"

    @property
    def title(self) -> str:
        return str(
            {
                self.IN_APP: _l("In the portal only"),
                self.IMMEDIATE: _l("E-mail at once"),
                self.DIGEST: _l("Daily e-mail digest"),
            }[self]
        )


class Notification(Base):
    """One message to one person; its words are made in their language when shown."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[NotificationKind] = mapped_column(
        enum_column(NotificationKind, "notification_kind")
    )
    # Where the notification leads (a path in the portal) and what its words need (JSON).
    link: Mapped[str] = mapped_column(String(300))
    params: Mapped[str] = mapped_column(Text, default="{}")
    # Reminders carry a key, so running the reminder command twice notifies once.
    dedupe_key: Mapped[str | None] = mapped_column(String(120), unique=True, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    read_at: Mapped[datetime | None] = mapped_column()
    # For people who chose the daily digest: when it went into one.
    digested_at: Mapped[datetime | None] = mapped_column()

    user: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<Notification {self.id} {self.kind.value} user={self.user_id}>"


class NotificationPreference(Base):
    __tablename__ = "notification_preferences"
    __table_args__ = (UniqueConstraint("user_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[NotificationKind] = mapped_column(
        enum_column(NotificationKind, "notification_kind")
    )
    mode: Mapped[DeliveryMode] = mapped_column(enum_column(DeliveryMode, "delivery_mode"))


class OutboxState(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"

    @property
    def title(self) -> str:
        return str(
            {
                self.PENDING: _l("Waiting to be sent"),
                self.SENDING: _l("Being sent"),
                self.SENT: _l("Sent"),
                self.FAILED: _l("Could not be sent"),
            }[self]
        )


class OutboxMessage(Base):
    """An e-mail written in the same transaction as its event, sent after commit (with retries)."""

    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    subject: Mapped[str] = mapped_column(String(300))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text)
    state: Mapped[OutboxState] = mapped_column(
        enum_column(OutboxState, "outbox_state"), default=OutboxState.PENDING, index=True
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()

    user: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<OutboxMessage {self.id} {self.state.value}>"
