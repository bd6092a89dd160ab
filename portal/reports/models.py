"""Reports, their sections, section versions and the section workflow."""

from __future__ import annotations

import enum
import hashlib
import json
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.accounts.models import Role, User
from portal.enums import enum_column
from portal.models import Base, utcnow

EDITORIAL_ROLES = frozenset({Role.EDITOR, Role.ADMIN})


class ReportStatus(enum.StrEnum):
    ACTIVE = "active"
    ARCHIVED = "archived"

    @property
    def title(self) -> str:
        return str({self.ACTIVE: _l("Active"), self.ARCHIVED: _l("Archived")}[self])


class SectionState(enum.StrEnum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    CHANGES_REQUESTED = "changes_requested"
    APPROVED = "approved"
    FINAL = "final"

    @property
    def title(self) -> str:
        return str(SECTION_STATE_TITLES[self])

    @property
    def explanation(self) -> str:
        return str(SECTION_STATE_EXPLANATIONS[self])


SECTION_STATE_TITLES = {
    SectionState.DRAFT: _l("Draft"),
    SectionState.IN_REVIEW: _l("In review"),
    SectionState.CHANGES_REQUESTED: _l("Changes requested"),
    SectionState.APPROVED: _l("Approved"),
    SectionState.FINAL: _l("Final"),
}
SECTION_STATE_EXPLANATIONS = {
    SectionState.DRAFT: _l("Editors are still writing; consultants are not asked to review yet."),
    SectionState.IN_REVIEW: _l("Consultants are reviewing the latest version."),
    SectionState.CHANGES_REQUESTED: _l(
        "Reviewers asked for changes; editors prepare a new version."
    ),
    SectionState.APPROVED: _l("Reviewers approved the latest version; it can be made final."),
    SectionState.FINAL: _l("The text is final and locked: no new versions can be published."),
}
# The moves the workflow allows, and nothing else.
SECTION_TRANSITIONS: dict[SectionState, frozenset[SectionState]] = {
    SectionState.DRAFT: frozenset({SectionState.IN_REVIEW}),
    SectionState.IN_REVIEW: frozenset(
        {SectionState.CHANGES_REQUESTED, SectionState.APPROVED, SectionState.DRAFT}
    ),
    SectionState.CHANGES_REQUESTED: frozenset({SectionState.IN_REVIEW, SectionState.DRAFT}),
    SectionState.APPROVED: frozenset({SectionState.FINAL, SectionState.IN_REVIEW}),
    SectionState.FINAL: frozenset(),
}


class Report(Base):
    __tablename__ = "reports"
    __table_args__ = (CheckConstraint("year BETWEEN 2000 AND 2100", name="year_plausible"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title_en: Mapped[str] = mapped_column(String(200))
    title_fr: Mapped[str | None] = mapped_column(String(200))
    description_en: Mapped[str | None] = mapped_column(Text)
    description_fr: Mapped[str | None] = mapped_column(Text)
    year: Mapped[int] = mapped_column()
    status: Mapped[ReportStatus] = mapped_column(
        enum_column(ReportStatus, "report_status"), default=ReportStatus.ACTIVE
    )
    # Bumped on every edit; an edit based on an older revision is a conflict (security.md R2).
    revision: Mapped[int] = mapped_column(default=1)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    sections: Mapped[list[Section]] = relationship(
        back_populates="report", order_by="(Section.position, Section.id)"
    )

    def __repr__(self) -> str:
        return f"<Report {self.id} {self.year}>"

    @property
    def is_archived(self) -> bool:
        return self.status is ReportStatus.ARCHIVED


class Section(Base):
    __tablename__ = "sections"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    title_en: Mapped[str] = mapped_column(String(200))
    title_fr: Mapped[str | None] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(default=0)
    content_note_en: Mapped[str | None] = mapped_column(Text)
    content_note_fr: Mapped[str | None] = mapped_column(Text)
    state: Mapped[SectionState] = mapped_column(
        enum_column(SectionState, "section_state"), default=SectionState.DRAFT
    )
    state_changed_at: Mapped[datetime | None] = mapped_column()
    state_changed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    archived_at: Mapped[datetime | None] = mapped_column()
    # When on, consultants do not see each other's annotations (independent review).
    independent_review: Mapped[bool] = mapped_column(default=False, server_default=false())
    revision: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    report: Mapped[Report] = relationship(back_populates="sections")
    versions: Mapped[list[SectionVersion]] = relationship(
        back_populates="section", order_by="SectionVersion.number"
    )
    state_changed_by: Mapped[User | None] = relationship(foreign_keys=[state_changed_by_id])

    def __repr__(self) -> str:
        return f"<Section {self.id} report={self.report_id} {self.state.value}>"

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    @property
    def is_locked(self) -> bool:
        return self.state is SectionState.FINAL

    @property
    def has_content_note(self) -> bool:
        return bool(self.content_note_en or self.content_note_fr)

    def can_move_to(self, state: SectionState) -> bool:
        return state in SECTION_TRANSITIONS[self.state]

    def can_publish_version(self) -> bool:
        return not self.is_locked and not self.is_archived


class SectionTransition(Base):
    """One move in a section's workflow: who, when, from what to what."""

    __tablename__ = "section_transitions"

    id: Mapped[int] = mapped_column(primary_key=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id"), index=True)
    from_state: Mapped[SectionState] = mapped_column(enum_column(SectionState, "from_state"))
    to_state: Mapped[SectionState] = mapped_column(enum_column(SectionState, "to_state"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    note: Mapped[str | None] = mapped_column(String(500))

    actor: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<SectionTransition {self.section_id} {self.from_state} -> {self.to_state}>"


def content_sha256(body_en: str, body_fr: str | None) -> str:
    """The fingerprint of a version's text in both languages (sign-offs will point at it)."""
    canonical = json.dumps({"en": body_en, "fr": body_fr or ""}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class SectionVersion(Base):
    """An immutable, numbered state of a section's text; publishing adds one, never edits one."""

    __tablename__ = "section_versions"
    __table_args__ = (
        UniqueConstraint("section_id", "number"),
        CheckConstraint("number >= 1", name="number_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id"), index=True)
    number: Mapped[int] = mapped_column()
    body_en: Mapped[str] = mapped_column(Text)
    body_fr: Mapped[str | None] = mapped_column(Text)
    # SHA-256 of the English text the French was translated from; differs from the English of
    # this version when the English moved on since.
    fr_source_sha256: Mapped[str | None] = mapped_column(String(64))
    content_sha256: Mapped[str] = mapped_column(String(64))
    change_summary: Mapped[str | None] = mapped_column(String(500))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    section: Mapped[Section] = relationship(back_populates="versions")
    author: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<SectionVersion section={self.section_id} v{self.number}>"

    @property
    def has_french(self) -> bool:
        return bool(self.body_fr and self.body_fr.strip())

    @property
    def french_out_of_date(self) -> bool:
        return self.has_french and self.fr_source_sha256 != text_sha256(self.body_en)

    def body(self, lang: str) -> str | None:
        return self.body_fr if lang == "fr" else self.body_en
