"""Audit events and the head of their hash chain."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.accounts.models import User
from portal.models import Base, utcnow

GENESIS_HASH = "0" * 64


class AuditEvent(Base):
    """One state change: when, who, what, on which object, with what outcome. Never updated."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Position in the chain: 1, 2, 3… with no gaps; assigned under the chain head's lock.
    seq: Mapped[int] = mapped_column(unique=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str | None] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16), default="success")
    # Canonical JSON, stored exactly as hashed. Never passwords, tokens or narrative text.
    detail: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    actor: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<AuditEvent {self.seq} {self.action}>"

    @property
    def details(self) -> dict:
        return json.loads(self.detail or "{}")

    def compute_hash(self) -> str:
        return event_hash(
            seq=self.seq,
            at=self.at,
            actor_id=self.actor_id,
            action=self.action,
            object_type=self.object_type,
            object_id=self.object_id,
            outcome=self.outcome,
            detail=self.detail,
            prev_hash=self.prev_hash,
        )


class AuditChainHead(Base):
    """A single row holding the chain's last sequence number and hash.

    Appending locks this row first, which serialises appends on every engine and lets
    verification notice events removed from the end of the chain.
    """

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    last_seq: Mapped[int] = mapped_column(default=0)
    last_hash: Mapped[str] = mapped_column(String(64), default=GENESIS_HASH)

    def __repr__(self) -> str:
        return f"<AuditChainHead {self.last_seq}>"


def canonical_time(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def event_hash(**fields) -> str:
    payload = json.dumps(
        [
            fields["seq"],
            canonical_time(fields["at"]),
            fields["actor_id"],
            fields["action"],
            fields["object_type"],
            fields["object_id"],
            fields["outcome"],
            fields["detail"],
            fields["prev_hash"],
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode()).hexdigest()
