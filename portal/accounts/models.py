"""People and the secrets that let them in."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint, case, cast, literal
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.enums import enum_column
from portal.models import Base, utcnow


class Role(enum.StrEnum):
    ADMIN = "admin"
    EDITOR = "editor"
    CONSULTANT = "consultant"

    @property
    def title(self) -> str:
        return str(ROLE_TITLES[self])


ROLE_TITLES = {
    Role.ADMIN: _l("Administrator"),
    Role.EDITOR: _l("Editor"),
    Role.CONSULTANT: _l("Consultant"),
}

LOCALES = {"en": "English", "fr": "Français"}


class User(UserMixin, Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("email = lower(email)", name="email_lowercase"),
        CheckConstraint("locale IN ('en', 'fr')", name="locale_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored normalised (trimmed, lower case), which makes the unique constraint case-insensitive.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    # The stored name; read `display_name`, which speaks of anonymised people neutrally.
    stored_display_name: Mapped[str] = mapped_column("display_name", String(80))
    legal_name: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(enum_column(Role, "role"))
    locale: Mapped[str] = mapped_column(String(5), default="en")
    active: Mapped[bool] = mapped_column(default=True)
    # Null until the person accepts their invitation and chooses a password.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    # Bumped to revoke every session this person has (security.md S3).
    session_generation: Mapped[int] = mapped_column(default=1)
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_pending_secret: Mapped[str | None] = mapped_column(String(64))
    totp_last_counter: Mapped[int | None] = mapped_column()
    totp_enabled_at: Mapped[datetime | None] = mapped_column()
    last_login_at: Mapped[datetime | None] = mapped_column()
    # Set when an admin anonymised a departed person: identity erased, their record kept.
    anonymised_at: Mapped[datetime | None] = mapped_column()
    password_changed_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    recovery_codes: Mapped[list[RecoveryCode]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role.value}>"

    @hybrid_property
    def display_name(self) -> str:
        if self.anonymised_at is not None:
            return str(_l("Former consultant %(number)d", number=self.id))
        return self.stored_display_name

    @classmethod
    def display_name_column(cls):
        """`display_name` as SQL, for plain-row queries: an anonymised person's neutral name in
        the current language, built by the database from the same translated message."""
        template = str(_l("Former consultant %(number)d", number=-1))
        prefix, _sep, suffix = template.partition("-1")
        return case(
            (cls.anonymised_at.is_(None), cls.stored_display_name),
            else_=literal(prefix) + cast(cls.id, String) + literal(suffix),
        )

    @display_name.inplace.setter
    def _display_name_setter(self, value: str) -> None:
        self.stored_display_name = value

    @display_name.inplace.expression
    @classmethod
    def _display_name_expression(cls):
        return cls.stored_display_name

    @property
    def is_anonymised(self) -> bool:
        return self.anonymised_at is not None

    # Flask-Login: the id carries the session generation, so bumping it logs every copy out.
    def get_id(self) -> str:
        return f"{self.id}:{self.session_generation}"

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def invitation_pending(self) -> bool:
        return self.password_hash is None

    @property
    def has_second_factor(self) -> bool:
        return self.totp_secret is not None

    def has_role(self, *roles: Role) -> bool:
        return self.role in roles

    def can_manage_accounts(self) -> bool:
        return self.active and self.role is Role.ADMIN

    def can_see_identity_of(self, other: User) -> bool:
        """Legal names and e-mail addresses are for admins, and for the person themself (Z5)."""
        return self.can_manage_accounts() or self.id == other.id


class TokenPurpose(enum.StrEnum):
    INVITATION = "invitation"
    PASSWORD_RESET = "password_reset"  # noqa: S105  (a purpose name, not a password)


class AccountToken(Base):
    """A one-time link: only its SHA-256 is stored, so a database leak reveals no usable link."""

    __tablename__ = "account_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[TokenPurpose] = mapped_column(enum_column(TokenPurpose, "token_purpose"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])

    def __repr__(self) -> str:
        return f"<AccountToken {self.id} {self.purpose.value} user={self.user_id}>"

    def is_usable(self, now: datetime) -> bool:
        return self.used_at is None and now < self.expires_at


class RecoveryCode(Base):
    """A single-use second-factor recovery code, stored as a SHA-256 of an 80-bit random code."""

    __tablename__ = "recovery_codes"
    __table_args__ = (UniqueConstraint("user_id", "code_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column()

    user: Mapped[User] = relationship(back_populates="recovery_codes")

    def __repr__(self) -> str:
        return f"<RecoveryCode {self.id} user={self.user_id}>"
