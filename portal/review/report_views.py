"""The editors' side of review: every comment across a report, suggestions, and exports."""

from __future__ import annotations

import csv
import io
import json

from flask import Response, abort, render_template, request
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from portal.accounts.models import Role, User
from portal.audit.services import record
from portal.exports import csv_row
from portal.extensions import db
from portal.reports.models import EDITORIAL_ROLES, Report, Section
from portal.review import bp
from portal.review.models import (
    Annotation,
    AnnotationKind,
    AnnotationState,
    Decision,
    SectionDecision,
)
from portal.security import roles

PER_PAGE = 50


def _report(report_id: int) -> Report:
    report = db.session.get(Report, report_id)
    if report is None:
        abort(404)
    return report


def _annotations_query(report: Report, filters: dict):
    stmt = (
        select(Annotation)
        .join(Section, Section.id == Annotation.section_id)
        .where(Section.report_id == report.id)
        .options(joinedload(Annotation.author), joinedload(Annotation.section))
    )
    if filters.get("section", "").isdigit():
        stmt = stmt.where(Annotation.section_id == int(filters["section"]))
    if filters.get("kind") in {kind.value for kind in AnnotationKind}:
        stmt = stmt.where(Annotation.kind == AnnotationKind(filters["kind"]))
    if filters.get("consultant", "").isdigit():
        stmt = stmt.where(Annotation.author_id == int(filters["consultant"]))
    state = filters.get("state", "open")
    if state in {s.value for s in AnnotationState}:
        stmt = stmt.where(Annotation.state == AnnotationState(state))
    # Concerns first: harmful, inaccurate or identifying content is what editors must see.
    concern_first = (Annotation.kind != AnnotationKind.CONCERN).asc()
    return stmt.order_by(concern_first, Section.position, Annotation.pos_start, Annotation.id)


@bp.get("/reports/<int:report_id>/annotations")
@roles(*EDITORIAL_ROLES)
def report_annotations(report_id: int):
    report = _report(report_id)
    filters = {key: request.args.get(key, "") for key in ("section", "kind", "consultant", "state")}
    if "state" not in request.args:
        filters["state"] = "open"
    page = db.paginate(_annotations_query(report, filters), per_page=PER_PAGE, error_out=False)
    consultants = db.session.scalars(
        select(User).where(User.role == Role.CONSULTANT).order_by(User.display_name)
    ).all()
    return render_template(
        "review/report_annotations.html",
        report=report,
        page=page,
        filters={k: v for k, v in filters.items() if v},
        current=filters,
        sections=[s for s in report.sections if not s.is_archived],
        consultants=consultants,
        kinds=list(AnnotationKind),
        states=list(AnnotationState),
    )


def _export_rows(report: Report, section_id: int | None):
    annotations = select(Annotation).join(Section, Section.id == Annotation.section_id)
    decisions = select(SectionDecision).join(Section, Section.id == SectionDecision.section_id)
    annotations = annotations.where(Section.report_id == report.id)
    decisions = decisions.where(Section.report_id == report.id)
    if section_id is not None:
        annotations = annotations.where(Annotation.section_id == section_id)
        decisions = decisions.where(SectionDecision.section_id == section_id)
    annotations = db.session.scalars(annotations.order_by(Section.position, Annotation.id)).all()
    decisions = db.session.scalars(decisions.order_by(Section.position, SectionDecision.id)).all()
    # Display names only: never legal names or e-mail addresses (security.md Z5).
    return {
        "report": {"id": report.id, "title": report.title_en, "year": report.year},
        "annotations": [
            {
                "id": a.id,
                "section": a.section.title_en,
                "section_id": a.section_id,
                "version_written_on": a.version.number,
                "anchored_to_version": a.anchored_version.number,
                "orphaned": a.is_orphan,
                "language": a.language,
                "kind": a.kind.value,
                "state": a.state.value,
                "addressed_in": a.addressed_in,
                "author": a.author.display_name,
                "quote": a.quote_exact,
                "comment": a.body,
                "suggested_wording": a.replacement,
                "created_at": a.created_at.isoformat(),
                "replies": [
                    {
                        "author": r.author.display_name,
                        "reply": r.body,
                        "created_at": r.created_at.isoformat(),
                    }
                    for r in a.replies
                ],
            }
            for a in annotations
        ],
        "decisions": [
            {
                "id": d.id,
                "section_id": d.section_id,
                "version": d.version.number,
                "content_sha256": d.content_sha256,
                "consultant": d.consultant.display_name,
                "decision": d.decision.value,
                "summary": d.summary,
                "created_at": d.created_at.isoformat(),
            }
            for d in decisions
        ],
    }


def _export(report: Report, section_id: int | None, fmt: str) -> Response:
    data = _export_rows(report, section_id)
    record(current_user, "review.exported", report, format=fmt, section_id=section_id)
    db.session.commit()
    name = f"review-report-{report.id}" + (f"-section-{section_id}" if section_id else "")
    if fmt == "json":
        return Response(
            json.dumps(data, ensure_ascii=False, indent=2),
            mimetype="application/json",
            headers={"Content-Disposition": f"attachment; filename={name}.json"},
        )
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        [
            "record",
            "id",
            "section_id",
            "version",
            "language",
            "kind_or_decision",
            "state",
            "author",
            "quote",
            "text",
            "suggested_wording",
            "created_at",
        ]
    )
    for a in data["annotations"]:
        writer.writerow(
            csv_row(
                [
                    "annotation",
                    a["id"],
                    a["section_id"],
                    a["anchored_to_version"],
                    a["language"],
                    a["kind"],
                    a["state"],
                    a["author"],
                    a["quote"],
                    a["comment"],
                    a["suggested_wording"] or "",
                    a["created_at"],
                ]
            )
        )
        for r in a["replies"]:
            writer.writerow(
                csv_row(
                    [
                        "reply",
                        a["id"],
                        a["section_id"],
                        "",
                        a["language"],
                        "",
                        "",
                        r["author"],
                        "",
                        r["reply"],
                        "",
                        r["created_at"],
                    ]
                )
            )
    for d in data["decisions"]:
        writer.writerow(
            csv_row(
                [
                    "decision",
                    d["id"],
                    d["section_id"],
                    d["version"],
                    "",
                    d["decision"],
                    "",
                    d["consultant"],
                    "",
                    d["summary"] or "",
                    "",
                    d["created_at"],
                ]
            )
        )
    return Response(
        buffer.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename={name}.csv"},
    )


@bp.get("/reports/<int:report_id>/annotations.<fmt>")
@roles(*EDITORIAL_ROLES)
def export_report(report_id: int, fmt: str):
    if fmt not in ("csv", "json"):
        abort(404)
    return _export(_report(report_id), None, fmt)


@bp.get("/sections/<int:section_id>/annotations.<fmt>")
@roles(*EDITORIAL_ROLES)
def export_section(section_id: int, fmt: str):
    section = db.session.get(Section, section_id)
    if section is None or fmt not in ("csv", "json"):
        abort(404)
    return _export(section.report, section.id, fmt)


@bp.get("/reports/<int:report_id>/annotations/print")
@roles(*EDITORIAL_ROLES)
def print_report(report_id: int):
    report = _report(report_id)
    data = _export_rows(report, request.args.get("section", type=int))
    return render_template(
        "review/print.html",
        report=report,
        data=data,
        kind_titles={kind.value: kind.title for kind in AnnotationKind},
        state_titles={state.value: state.title for state in AnnotationState},
        decision_titles={decision.value: decision.title for decision in Decision},
    )
