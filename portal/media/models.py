"""Photos and survivor narratives attached to a section: their versions, consent records, the
trauma-informed checklists, consultants' sign-offs and the regions they mark on photos."""

from __future__ import annotations

import enum
import hashlib
import json
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, Float, ForeignKey, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.accounts.models import User
from portal.enums import enum_column
from portal.models import Base, utcnow
from portal.reports.models import Section


class ItemKind(enum.StrEnum):
    PHOTO = "photo"
    NARRATIVE = "narrative"

    @property
    def title(self) -> str:
        return str({self.PHOTO: _l("Photo"), self.NARRATIVE: _l("Narrative")}[self])


class MediaItem(Base):
    """A photo or a narrative proposed for a section; its content lives in its versions."""

    __tablename__ = "media_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id"), index=True)
    kind: Mapped[ItemKind] = mapped_column(enum_column(ItemKind, "item_kind"))
    # Photos: whether it shows a person who could be recognised (then consent is required).
    # Narratives always need consent.
    identifiable_people: Mapped[bool] = mapped_column(default=False, server_default=false())
    archived_at: Mapped[datetime | None] = mapped_column()
    archived_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Bumped on every new version; a new version based on an older one is a conflict (R2).
    revision: Mapped[int] = mapped_column(default=1)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    section: Mapped[Section] = relationship()
    versions: Mapped[list[MediaVersion]] = relationship(
        back_populates="item", order_by="MediaVersion.number"
    )
    consents: Mapped[list[ConsentRecord]] = relationship(
        back_populates="item", order_by="ConsentRecord.id"
    )

    def __repr__(self) -> str:
        return f"<MediaItem {self.id} {self.kind.value}>"

    @property
    def is_photo(self) -> bool:
        return self.kind is ItemKind.PHOTO

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    @property
    def needs_consent(self) -> bool:
        return self.kind is ItemKind.NARRATIVE or self.identifiable_people

    @property
    def latest(self) -> MediaVersion | None:
        return self.versions[-1] if self.versions else None


class MediaVersion(Base):
    """An immutable, numbered state of an item: editing makes a new one (database triggers)."""

    __tablename__ = "media_versions"
    __table_args__ = (
        UniqueConstraint("item_id", "number"),
        CheckConstraint("number >= 1", name="number_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("media_items.id"), index=True)
    number: Mapped[int] = mapped_column()
    # Photos.
    caption_en: Mapped[str | None] = mapped_column(String(1000))
    caption_fr: Mapped[str | None] = mapped_column(String(1000))
    alt_en: Mapped[str | None] = mapped_column(String(500))
    alt_fr: Mapped[str | None] = mapped_column(String(500))
    credit: Mapped[str | None] = mapped_column(String(300))
    provenance: Mapped[str | None] = mapped_column(String(1000))
    staged: Mapped[bool] = mapped_column(default=False, server_default=false())
    image_sha256: Mapped[str | None] = mapped_column(String(64))
    # Server-generated base name of the stored files (full image and WebP derivatives).
    image_name: Mapped[str | None] = mapped_column(String(64))
    image_format: Mapped[str | None] = mapped_column(String(10))
    width: Mapped[int | None] = mapped_column()
    height: Mapped[int | None] = mapped_column()
    # Narratives (Markdown).
    title_en: Mapped[str | None] = mapped_column(String(200))
    title_fr: Mapped[str | None] = mapped_column(String(200))
    body_en: Mapped[str | None] = mapped_column(Text)
    body_fr: Mapped[str | None] = mapped_column(Text)
    # Both kinds.
    content_note_en: Mapped[str | None] = mapped_column(String(1000))
    content_note_fr: Mapped[str | None] = mapped_column(String(1000))
    content_sha256: Mapped[str] = mapped_column(String(64))
    change_summary: Mapped[str | None] = mapped_column(String(500))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    item: Mapped[MediaItem] = relationship(back_populates="versions")
    author: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<MediaVersion item={self.item_id} v{self.number}>"

    @property
    def has_content_note(self) -> bool:
        return bool(self.content_note_en or self.content_note_fr)


# What an editor writes on each kind of item (the form fields, and the version's columns).
PHOTO_FIELDS = (
    "caption_en",
    "caption_fr",
    "alt_en",
    "alt_fr",
    "credit",
    "provenance",
    "staged",
    "content_note_en",
    "content_note_fr",
)
NARRATIVE_FIELDS = (
    "title_en",
    "title_fr",
    "body_en",
    "body_fr",
    "content_note_en",
    "content_note_fr",
)
# The stored image's columns (photos only).
IMAGE_FIELDS = ("image_sha256", "image_name", "image_format", "width", "height")
# What a version's fingerprint covers: everything a reviewer judges.
FINGERPRINT_FIELDS = tuple(dict.fromkeys(("image_sha256", *PHOTO_FIELDS, *NARRATIVE_FIELDS)))


def fingerprint(kind: ItemKind, fields: dict) -> str:
    """SHA-256 of the image bytes' digest plus the texts (photos), or of the texts (narratives)."""
    canonical = {"kind": kind.value} | {name: fields.get(name) for name in FINGERPRINT_FIELDS}
    encoded = json.dumps(canonical, sort_keys=True, ensure_ascii=False).encode()
    return hashlib.sha256(encoded).hexdigest()


# Consent --------------------------------------------------------------------------------------


class ConsentState(enum.StrEnum):
    VALID = "valid"
    EXPIRING = "expiring"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"
    RENEWED = "renewed"
    MISSING = "missing"
    NOT_NEEDED = "not_needed"

    @property
    def title(self) -> str:
        return str(CONSENT_STATE_TITLES[self])

    @property
    def blocks(self) -> bool:
        return self in {self.EXPIRED, self.WITHDRAWN, self.MISSING}


CONSENT_STATE_TITLES = {
    ConsentState.VALID: _l("Consent given"),
    ConsentState.EXPIRING: _l("Consent expires soon"),
    ConsentState.EXPIRED: _l("Consent expired"),
    ConsentState.WITHDRAWN: _l("Consent withdrawn"),
    ConsentState.RENEWED: _l("Renewed"),
    ConsentState.MISSING: _l("No consent recorded"),
    ConsentState.NOT_NEEDED: _l("No consent needed"),
}


class ConsentRecord(Base):
    """Consent from one person for one item: scope, dates, and its withdrawal."""

    __tablename__ = "consent_records"
    __table_args__ = (CheckConstraint("expires_on > given_on", name="expiry_after_given"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("media_items.id"), index=True)
    # Who gave consent: a name or a reference, as the editor judges safe to show reviewers.
    given_by: Mapped[str] = mapped_column(String(200))
    given_on: Mapped[date] = mapped_column()
    scope: Mapped[str] = mapped_column(String(2000))
    uses_allowed: Mapped[int | None] = mapped_column()
    expires_on: Mapped[date] = mapped_column()
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A renewal points at the record it replaces; the replaced one no longer counts.
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("consent_records.id"), unique=True)
    withdrawn_on: Mapped[date | None] = mapped_column()
    withdrawn_recorded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    withdrawn_recorded_at: Mapped[datetime | None] = mapped_column()

    item: Mapped[MediaItem] = relationship(back_populates="consents")
    recorded_by: Mapped[User | None] = relationship(foreign_keys=[recorded_by_id])
    withdrawn_recorded_by: Mapped[User | None] = relationship(
        foreign_keys=[withdrawn_recorded_by_id]
    )
    replaces: Mapped[ConsentRecord | None] = relationship(remote_side=[id])

    def __repr__(self) -> str:
        return f"<ConsentRecord {self.id} item={self.item_id}>"


# Checklists -----------------------------------------------------------------------------------


class ChecklistCriterion(Base):
    """One admin-managed, bilingual criterion of the photo or the narrative checklist."""

    __tablename__ = "checklist_criteria"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ItemKind] = mapped_column(enum_column(ItemKind, "item_kind"))
    position: Mapped[int] = mapped_column(default=0)
    text_en: Mapped[str] = mapped_column(String(1000))
    text_fr: Mapped[str] = mapped_column(String(1000))
    sources: Mapped[str | None] = mapped_column(String(1000))
    retired_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<ChecklistCriterion {self.id} {self.kind.value}>"

    @property
    def is_retired(self) -> bool:
        return self.retired_at is not None


class Answer(enum.StrEnum):
    MEETS = "meets"
    DOES_NOT_MEET = "does_not_meet"
    NOT_APPLICABLE = "not_applicable"

    @property
    def title(self) -> str:
        return str(
            {
                self.MEETS: _l("Meets"),
                self.DOES_NOT_MEET: _l("Does not meet"),
                self.NOT_APPLICABLE: _l("Not applicable"),
            }[self]
        )


# Sign-offs ------------------------------------------------------------------------------------


class SignOffDecision(enum.StrEnum):
    APPROVE = "approve"
    APPROVE_WITH_CHANGES = "approve_with_changes"
    NOT_APPROVED = "not_approved"
    # Not a decision: the consultant takes back their earlier one (a new record, R1).
    WITHDRAWN = "withdrawn"

    @property
    def title(self) -> str:
        return str(SIGN_OFF_TITLES[self])

    @property
    def caution(self) -> int:
        """Higher is more cautious; an item's state is its most cautious current decision."""
        return {self.APPROVE: 0, self.APPROVE_WITH_CHANGES: 1, self.NOT_APPROVED: 2}[self]


SIGN_OFF_TITLES = {
    SignOffDecision.APPROVE: _l("Approve"),
    SignOffDecision.APPROVE_WITH_CHANGES: _l("Approve with changes"),
    SignOffDecision.NOT_APPROVED: _l("Not approved"),
    SignOffDecision.WITHDRAWN: _l("Decision withdrawn"),
}


class SignOff(Base):
    """A consultant's decision on one exact item version (its SHA-256). Never edited (R1)."""

    __tablename__ = "sign_offs"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("media_items.id"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("media_versions.id"))
    consultant_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    decision: Mapped[SignOffDecision] = mapped_column(
        enum_column(SignOffDecision, "sign_off_decision")
    )
    reasons: Mapped[str | None] = mapped_column(Text)
    content_sha256: Mapped[str] = mapped_column(String(64))
    # The decision a withdrawal takes back.
    withdraws_id: Mapped[int | None] = mapped_column(ForeignKey("sign_offs.id"), unique=True)
    # One form submission makes one row, however often it is sent (R3).
    submission_key: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    item: Mapped[MediaItem] = relationship()
    version: Mapped[MediaVersion] = relationship()
    consultant: Mapped[User] = relationship()
    answers: Mapped[list[ChecklistAnswer]] = relationship(
        back_populates="sign_off", order_by="ChecklistAnswer.id"
    )

    def __repr__(self) -> str:
        return f"<SignOff {self.id} {self.decision.value} v={self.version_id}>"


class ChecklistAnswer(Base):
    """One criterion answered as part of a sign-off (immutable with it)."""

    __tablename__ = "checklist_answers"
    __table_args__ = (UniqueConstraint("sign_off_id", "criterion_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sign_off_id: Mapped[int] = mapped_column(ForeignKey("sign_offs.id"), index=True)
    criterion_id: Mapped[int] = mapped_column(ForeignKey("checklist_criteria.id"), index=True)
    answer: Mapped[Answer] = mapped_column(enum_column(Answer, "checklist_answer"))
    note: Mapped[str | None] = mapped_column(String(2000))

    sign_off: Mapped[SignOff] = relationship(back_populates="answers")
    criterion: Mapped[ChecklistCriterion] = relationship()


# Regions on photos ----------------------------------------------------------------------------


class PhotoRegion(Base):
    """A rectangle on a photo with a note: fractions of the image (W3C media-fragment xywh)."""

    __tablename__ = "photo_regions"
    __table_args__ = (
        CheckConstraint("x >= 0 AND y >= 0", name="origin_inside"),
        CheckConstraint("width > 0 AND height > 0", name="size_positive"),
        CheckConstraint("x + width <= 1.0001 AND y + height <= 1.0001", name="box_inside"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("media_items.id"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("media_versions.id"))
    # Regions belong to the image they were drawn on, whichever version carries it.
    image_sha256: Mapped[str] = mapped_column(String(64))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    x: Mapped[float] = mapped_column(Float)
    y: Mapped[float] = mapped_column(Float)
    width: Mapped[float] = mapped_column(Float)
    height: Mapped[float] = mapped_column(Float)
    note: Mapped[str] = mapped_column(Text)
    submission_key: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    item: Mapped[MediaItem] = relationship()
    version: Mapped[MediaVersion] = relationship()
    author: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<PhotoRegion {self.id} item={self.item_id}>"

    @property
    def media_fragment(self) -> str:
        """The W3C media-fragment form: xywh=percent:x,y,w,h."""
        parts = (self.x, self.y, self.width, self.height)
        return "xywh=percent:" + ",".join(f"{value * 100:.1f}" for value in parts)
