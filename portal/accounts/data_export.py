"""A person's own data as a ZIP of JSON and CSV files (privacy self-service)."""

from __future__ import annotations

import csv
import io
import json
import zipfile

from sqlalchemy import select

from portal.accounts.models import User
from portal.assignments.models import Assignment
from portal.exports import csv_cell
from portal.extensions import db
from portal.review.models import Annotation, AnnotationReply, SectionDecision

README = """This archive holds what the Survivor Advisory Council Portal keeps about you.

profile.json        your account: names, e-mail address, role, language, dates
assignments.*       the sections you were asked to review, and what happened to each
annotations.*       your comments, suggested rewordings and concerns
replies.*           your replies in comment threads
decisions.*         your decisions on section versions
sign_offs.*         your decisions on photos and narratives, with your checklist answers
photo_notes.*       the areas you marked on photos, with your notes
time_away.*         the periods you said you were away
time_records.*      the time you recorded, and what the editors answered
notifications.*     what the portal told you, and when you read it

Each list is given twice: as JSON, and as CSV for spreadsheets.
"""


def _when(value) -> str | None:
    return value.isoformat() if value else None


def collect(user: User) -> dict[str, list[dict] | dict]:
    assignments = db.session.scalars(
        select(Assignment).where(Assignment.consultant_id == user.id).order_by(Assignment.id)
    ).all()
    annotations = db.session.scalars(
        select(Annotation).where(Annotation.author_id == user.id).order_by(Annotation.id)
    ).all()
    replies = db.session.scalars(
        select(AnnotationReply)
        .where(AnnotationReply.author_id == user.id)
        .order_by(AnnotationReply.id)
    ).all()
    decisions = db.session.scalars(
        select(SectionDecision)
        .where(SectionDecision.consultant_id == user.id)
        .order_by(SectionDecision.id)
    ).all()
    from portal.media.models import PhotoRegion, SignOff

    sign_offs = db.session.scalars(
        select(SignOff).where(SignOff.consultant_id == user.id).order_by(SignOff.id)
    ).all()
    regions = db.session.scalars(
        select(PhotoRegion).where(PhotoRegion.author_id == user.id).order_by(PhotoRegion.id)
    ).all()
    from portal.availability.models import AwayPeriod
    from portal.notifications.messages import in_app_text
    from portal.notifications.models import Notification
    from portal.timesheets.models import TimeRecord

    times = db.session.scalars(
        select(TimeRecord).where(TimeRecord.consultant_id == user.id).order_by(TimeRecord.id)
    ).all()
    away = db.session.scalars(
        select(AwayPeriod).where(AwayPeriod.consultant_id == user.id).order_by(AwayPeriod.id)
    ).all()
    notifications = db.session.scalars(
        select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
    ).all()
    return {
        "profile": {
            "display_name": user.display_name,
            "legal_name": user.legal_name,
            "email": user.email,
            "role": user.role.value,
            "language": user.locale,
            "second_factor": user.has_second_factor,
            "created_at": _when(user.created_at),
            "last_sign_in": _when(user.last_login_at),
        },
        "assignments": [
            {
                "section": a.section.title_en,
                "report": a.section.report.title_en,
                "state": a.state.value,
                "due_on": a.due_on.isoformat(),
                "offered_at": _when(a.offered_at),
                "answered_at": _when(a.responded_at),
                "submitted_at": _when(a.submitted_at),
                "decline_reason": a.decline_reason,
            }
            for a in assignments
        ],
        "annotations": [
            {
                "section": a.section.title_en,
                "version": a.version.number,
                "language": a.language,
                "kind": a.kind.value,
                "state": a.state.value,
                "quote": a.quote_exact,
                "comment": a.body,
                "suggested_wording": a.replacement,
                "created_at": _when(a.created_at),
            }
            for a in annotations
        ],
        "replies": [
            {"annotation": r.annotation_id, "reply": r.body, "created_at": _when(r.created_at)}
            for r in replies
        ],
        "decisions": [
            {
                "section_id": d.section_id,
                "version": d.version.number,
                "content_sha256": d.content_sha256,
                "decision": d.decision.value,
                "summary": d.summary,
                "created_at": _when(d.created_at),
            }
            for d in decisions
        ],
        "sign_offs": [
            {
                "item_id": s.item_id,
                "kind": s.item.kind.value,
                "version": s.version.number,
                "content_sha256": s.content_sha256,
                "decision": s.decision.value,
                "changes_or_reasons": s.reasons,
                "checklist": "; ".join(
                    f"{a.criterion.text_en} = {a.answer.value}" + (f" ({a.note})" if a.note else "")
                    for a in s.answers
                ),
                "created_at": _when(s.created_at),
            }
            for s in sign_offs
        ],
        "photo_notes": [
            {
                "item_id": r.item_id,
                "version": r.version.number,
                "area": r.media_fragment,
                "note": r.note,
                "created_at": _when(r.created_at),
            }
            for r in regions
        ],
        "time_records": [
            {
                "section": t.assignment.section.title_en,
                "worked_on": t.worked_on.isoformat(),
                "minutes": t.minutes,
                "activity": t.activity.value,
                "note": t.note,
                "status": t.status.value,
                "question": t.question,
                "approved_at": _when(t.approved_at),
            }
            for t in times
        ],
        "time_away": [
            {
                "starts_on": p.starts_on.isoformat(),
                "ends_on": p.ends_on.isoformat(),
                "note": p.note,
                "created_at": _when(p.created_at),
            }
            for p in away
        ],
        "notifications": [
            {
                "kind": n.kind.value,
                "text": in_app_text(n),
                "created_at": _when(n.created_at),
                "read_at": _when(n.read_at),
            }
            for n in notifications
        ],
    }


def _csv(rows: list[dict]) -> str:
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows({key: csv_cell(value) for key, value in row.items()} for row in rows)
    return buffer.getvalue()


def build_zip(user: User) -> bytes:
    data = collect(user)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", README)
        archive.writestr("profile.json", json.dumps(data["profile"], ensure_ascii=False, indent=2))
        for name in (
            "assignments",
            "annotations",
            "replies",
            "decisions",
            "sign_offs",
            "photo_notes",
            "time_records",
            "time_away",
            "notifications",
        ):
            rows = data[name]
            archive.writestr(f"{name}.json", json.dumps(rows, ensure_ascii=False, indent=2))
            archive.writestr(f"{name}.csv", _csv(rows))
    return buffer.getvalue()
