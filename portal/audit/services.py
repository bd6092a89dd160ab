"""Appending to the audit trail, and verifying it. Appends flush, never commit."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from portal.accounts.models import User
from portal.audit.models import GENESIS_HASH, AuditChainHead, AuditEvent
from portal.extensions import db
from portal.models import utcnow

# Keys that must never reach the audit trail, whatever a caller passes.
_FORBIDDEN_KEYS = ("password", "token", "secret", "code", "body", "text", "reason")


def _object_ref(obj) -> tuple[str | None, str | None]:
    if obj is None:
        return None, None
    if isinstance(obj, tuple):
        return obj[0], str(obj[1])
    return obj.__tablename__, str(obj.id)


def record(
    actor: User | None,
    action: str,
    obj=None,
    *,
    outcome: str = "success",
    at: datetime | None = None,
    **detail,
) -> AuditEvent:
    """Append one event in the current transaction; it commits, or not, with the change."""
    for key in detail:
        if any(part in key.lower() for part in _FORBIDDEN_KEYS):
            raise ValueError(f"audit detail may not carry {key!r}")
    db.session.flush()  # so `obj` has its id
    object_type, object_id = _object_ref(obj)
    # Taking the head row's lock first serialises appends (PostgreSQL row lock; SQLite write lock).
    db.session.execute(
        update(AuditChainHead)
        .where(AuditChainHead.id == 1)
        .values(last_seq=AuditChainHead.last_seq)
    )
    head = db.session.get(AuditChainHead, 1, populate_existing=True)
    if head is None:
        head = AuditChainHead(id=1, last_seq=0, last_hash=GENESIS_HASH)
        db.session.add(head)
        db.session.flush()
    event = AuditEvent(
        seq=head.last_seq + 1,
        at=at or utcnow(),
        actor_id=actor.id if actor is not None else None,
        action=action,
        object_type=object_type,
        object_id=object_id,
        outcome=outcome,
        detail=json.dumps(detail, sort_keys=True, ensure_ascii=False, default=str),
        prev_hash=head.last_hash,
    )
    event.hash = event.compute_hash()
    db.session.add(event)
    head.last_seq = event.seq
    head.last_hash = event.hash
    db.session.flush()
    return event


@dataclass(frozen=True)
class ChainReport:
    events: int
    broken_at: int | None  # the seq of the first event that does not fit, if any
    problem: str | None

    @property
    def intact(self) -> bool:
        return self.problem is None


def verify_chain(batch: int = 2000) -> ChainReport:
    """Recompute every hash in order; name the first event that was altered, removed or added."""
    expected_prev = GENESIS_HASH
    expected_seq = 1
    count = 0
    last_seq = 0
    while True:
        events = db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.seq > last_seq)
            .order_by(AuditEvent.seq)
            .limit(batch)
        ).all()
        if not events:
            break
        for event in events:
            if event.seq != expected_seq:
                return ChainReport(count, expected_seq, f"event {expected_seq} is missing")
            if event.prev_hash != expected_prev:
                return ChainReport(count, event.seq, "it does not follow the event before it")
            if event.compute_hash() != event.hash:
                return ChainReport(count, event.seq, "its content was altered")
            expected_prev = event.hash
            expected_seq += 1
            count += 1
            last_seq = event.seq
        db.session.expunge_all()
    head = db.session.get(AuditChainHead, 1)
    if head is not None and (head.last_seq != count or head.last_hash != expected_prev):
        return ChainReport(count, count + 1, "events were removed from the end")
    return ChainReport(count, None, None)


def events_query(
    *, action: str = "", actor_id: int | None = None, object_type: str = "", since=None, until=None
):
    stmt = select(AuditEvent)
    if action:
        stmt = stmt.where(AuditEvent.action.startswith(action))
    if actor_id:
        stmt = stmt.where(AuditEvent.actor_id == actor_id)
    if object_type:
        stmt = stmt.where(AuditEvent.object_type == object_type)
    if since:
        stmt = stmt.where(AuditEvent.at >= since)
    if until:
        stmt = stmt.where(AuditEvent.at < until)
    return stmt.order_by(AuditEvent.seq.desc())
