"""Annotations, their replies and actions, and section decisions."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.accounts.models import User
from portal.enums import enum_column
from portal.models import Base, utcnow
from portal.reports.models import Section, SectionVersion


class AnnotationKind(enum.StrEnum):
    COMMENT = "comment"
    SUGGESTION = "suggestion"
    CONCERN = "concern"

    @property
    def title(self) -> str:
        return str(
            {
                self.COMMENT: _l("Comment"),
                self.SUGGESTION: _l("Suggested rewording"),
                self.CONCERN: _l("Concern"),
            }[self]
        )


class AnnotationState(enum.StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"
    ADDRESSED = "addressed"

    @property
    def title(self) -> str:
        return str(
            {
                self.OPEN: lazy_pgettext("annotation state", "Open"),
                self.RESOLVED: _l("Resolved"),
                self.ADDRESSED: _l("Addressed"),
            }[self]
        )


class AnchorMethod(enum.StrEnum):
    EXACT = "exact"
    CONTEXT = "context"
    FUZZY = "fuzzy"
    ORPHAN = "orphan"


class Annotation(Base):
    """A consultant's (or editor's) remark on a passage of one language of a section's text."""

    __tablename__ = "annotations"
    __table_args__ = (
        CheckConstraint("language IN ('en', 'fr')", name="language_known"),
        CheckConstraint("pos_start <= pos_end", name="span_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id"), index=True)
    # The version it was written on, and the version its current anchor refers to.
    version_id: Mapped[int] = mapped_column(ForeignKey("section_versions.id"))
    anchored_version_id: Mapped[int] = mapped_column(ForeignKey("section_versions.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[AnnotationKind] = mapped_column(enum_column(AnnotationKind, "annotation_kind"))
    language: Mapped[str] = mapped_column(String(2))
    block_id: Mapped[str | None] = mapped_column(String(40))
    # W3C TextQuoteSelector and TextPositionSelector (offsets into the version's plain text).
    quote_exact: Mapped[str] = mapped_column(Text)
    quote_prefix: Mapped[str] = mapped_column(String(64), default="")
    quote_suffix: Mapped[str] = mapped_column(String(64), default="")
    pos_start: Mapped[int] = mapped_column()
    pos_end: Mapped[int] = mapped_column()
    anchor_method: Mapped[AnchorMethod] = mapped_column(
        enum_column(AnchorMethod, "anchor_method"), default=AnchorMethod.EXACT
    )
    anchor_score: Mapped[float] = mapped_column(default=1.0)
    body: Mapped[str] = mapped_column(Text)
    replacement: Mapped[str | None] = mapped_column(Text)
    state: Mapped[AnnotationState] = mapped_column(
        enum_column(AnnotationState, "annotation_state"), default=AnnotationState.OPEN
    )
    addressed_in: Mapped[int | None] = mapped_column()
    # One form submission makes one annotation, however often it is sent (R3).
    submission_key: Mapped[str | None] = mapped_column(String(64), unique=True, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    section: Mapped[Section] = relationship()
    version: Mapped[SectionVersion] = relationship(foreign_keys=[version_id])
    anchored_version: Mapped[SectionVersion] = relationship(foreign_keys=[anchored_version_id])
    author: Mapped[User] = relationship()
    replies: Mapped[list[AnnotationReply]] = relationship(
        back_populates="annotation", order_by="AnnotationReply.created_at"
    )
    actions: Mapped[list[AnnotationAction]] = relationship(
        back_populates="annotation", order_by="AnnotationAction.at"
    )

    def __repr__(self) -> str:
        return f"<Annotation {self.id} {self.kind.value} {self.state.value}>"

    @property
    def is_orphan(self) -> bool:
        return self.anchor_method is AnchorMethod.ORPHAN


class AnnotationReply(Base):
    __tablename__ = "annotation_replies"

    id: Mapped[int] = mapped_column(primary_key=True)
    annotation_id: Mapped[int] = mapped_column(ForeignKey("annotations.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    submission_key: Mapped[str | None] = mapped_column(String(64), unique=True, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    annotation: Mapped[Annotation] = relationship(back_populates="replies")
    author: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<AnnotationReply {self.id} on {self.annotation_id}>"


class AnnotationAction(Base):
    """Who resolved, reopened, marked addressed or confirmed a thread, and when."""

    __tablename__ = "annotation_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    annotation_id: Mapped[int] = mapped_column(ForeignKey("annotations.id"), index=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(20))
    version_number: Mapped[int | None] = mapped_column()
    at: Mapped[datetime] = mapped_column(default=utcnow)

    annotation: Mapped[Annotation] = relationship(back_populates="actions")
    actor: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<AnnotationAction {self.action} on {self.annotation_id}>"


class Decision(enum.StrEnum):
    APPROVE = "approve"
    APPROVE_WITH_CHANGES = "approve_with_changes"
    CHANGES_REQUESTED = "changes_requested"

    @property
    def title(self) -> str:
        return str(DECISION_TITLES[self])

    @property
    def caution(self) -> int:
        """Higher is more cautious; a section's outcome is its most cautious current decision."""
        return {self.APPROVE: 0, self.APPROVE_WITH_CHANGES: 1, self.CHANGES_REQUESTED: 2}[self]


DECISION_TITLES = {
    Decision.APPROVE: _l("Approve"),
    Decision.APPROVE_WITH_CHANGES: _l("Approve with changes"),
    Decision.CHANGES_REQUESTED: _l("Changes requested"),
}


class SectionDecision(Base):
    """A consultant's decision on one exact version (its SHA-256). Never edited (R1)."""

    __tablename__ = "section_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("section_versions.id"))
    consultant_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    decision: Mapped[Decision] = mapped_column(enum_column(Decision, "decision"))
    summary: Mapped[str | None] = mapped_column(Text)
    content_sha256: Mapped[str] = mapped_column(String(64))
    # One form submission makes one row, however often it is sent (R3).
    submission_key: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    version: Mapped[SectionVersion] = relationship()
    consultant: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<SectionDecision {self.id} {self.decision.value} v={self.version_id}>"
