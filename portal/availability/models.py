"""An away period: days on which a consultant is not available for work."""

from __future__ import annotations

from datetime import date, datetime

from babel.dates import format_interval
from flask_babel import get_locale
from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.accounts.models import User
from portal.models import Base, utcnow

MAX_NOTE = 300


class AwayPeriod(Base):
    """From `starts_on` to `ends_on`, both days included."""

    __tablename__ = "away_periods"
    __table_args__ = (
        # Periods of one person never overlap (services.add_period), so two cannot start on the
        # same day: a double submission makes one row (security.md R3).
        UniqueConstraint("consultant_id", "starts_on"),
        CheckConstraint("ends_on >= starts_on", name="ends_on_or_after_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Indexed by the unique constraint, which leads with it.
    consultant_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    starts_on: Mapped[date] = mapped_column()
    ends_on: Mapped[date] = mapped_column()
    # Seen by the editors; never required, since nobody has to explain being away.
    note: Mapped[str | None] = mapped_column(String(MAX_NOTE))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    consultant: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<AwayPeriod {self.id} user={self.consultant_id} {self.starts_on}..{self.ends_on}>"

    def covers(self, day: date) -> bool:
        return self.starts_on <= day <= self.ends_on

    def is_current(self, today: date) -> bool:
        return self.covers(today)

    def belongs_to(self, user: User) -> bool:
        return self.consultant_id == user.id

    @property
    def dates(self) -> str:
        """The period in the reader's language, such as "March 3-17" or "3-17 mars", with the
        year when it is not this year's ("Dec 28, 2027 - Jan 4, 2028"); Babel picks the dashes.

        Babel's interval format: Flask-Babel's format_date has no form for a range, and two
        separate long dates would repeat the month and year.
        """
        this_year = utcnow().year
        skeleton = "MMMMd" if self.starts_on.year == self.ends_on.year == this_year else "yMMMd"
        return format_interval(self.starts_on, self.ends_on, skeleton, locale=get_locale() or "en")
