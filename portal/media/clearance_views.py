"""The clearance report: what may be published, and on whose word (HTML, printable, and CSV)."""

from __future__ import annotations

import csv
import io

from flask import Response, abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from portal.accounts.models import Role, User
from portal.audit.services import record
from portal.exports import csv_cell
from portal.extensions import db
from portal.media import bp, services
from portal.media.models import ConsentState, ItemKind
from portal.reports.models import EDITORIAL_ROLES
from portal.reports.views import get_report
from portal.security import roles
from portal.urls import link_prefix


def _consultant_filter() -> User | None:
    """Admins can narrow the report to one consultant; for editors the filter does not exist."""
    consultant_id = request.args.get("consultant", type=int)
    if consultant_id is None or current_user.role is not Role.ADMIN:
        return None
    consultant = db.session.get(User, consultant_id)
    if consultant is None or consultant.role is not Role.CONSULTANT:
        abort(404)
    return consultant


def _consultants() -> list[User]:
    if current_user.role is not Role.ADMIN:
        return []
    return list(
        db.session.scalars(db.select(User).where(User.role == Role.CONSULTANT).order_by(User.id))
    )


def _row_messages(rows: list[services.ClearanceRow]) -> dict:
    """The table's messages with a number, translated once (Markup, as the template's own _()
    gives): "Version N" and "version N" for each number shown."""
    version, decided_on = (
        Markup(text)  # noqa: S704  (translations)
        for text in (_("Version %(number)d"), _("version %(number)d"))
    )
    numbers = {row.version_number for row in rows if row.version_number is not None}
    numbers |= {decision.version_number for row in rows for decision in row.decisions}
    return {
        "version": {number: version % {"number": number} for number in numbers},
        "decided_on": {number: decided_on % {"number": number} for number in numbers},
    }


@bp.get("/reports/<int:report_id>/clearance")
@roles(*EDITORIAL_ROLES)
def clearance(report_id: int):
    report = get_report(report_id)
    consultant = _consultant_filter()
    rows = services.clearance(report, consultant)
    return render_template(
        "media/clearance.html",
        report=report,
        rows=rows,
        consultant=consultant,
        consultants=_consultants(),
        cleared=sum(1 for row in rows if row.cleared),
        # Hundreds of rows: titles and messages translated once, links built from a prefix.
        kind_titles={kind: kind.title for kind in ItemKind},
        messages=_row_messages(rows),
        # What the consent_state macro would resolve on every row.
        consent_once={
            "titles": {state: state.title for state in ConsentState},
            "icon": url_for("static", filename="vendor/uswds/img/usa-icons/warning.svg"),
            "until": Markup(_("until %(date)s")),  # noqa: S704  (a translation)
        },
        section_prefix=link_prefix("reports.section", "section_id"),
        item_prefix=link_prefix("media.item", "item_id"),
    )


@bp.get("/reports/<int:report_id>/clearance.csv")
@roles(*EDITORIAL_ROLES)
def clearance_csv(report_id: int):
    report = get_report(report_id)
    consultant = _consultant_filter()
    rows = services.clearance(report, consultant)
    record(
        current_user,
        "clearance.exported",
        report,
        consultant_id=consultant.id if consultant else None,
    )
    db.session.commit()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        [
            "kind",
            "id",
            "section_id",
            "section",
            "item",
            "current_version",
            "state",
            "consent",
            "consent_expires_on",
            "cleared",
            "blocks_publication",
            "reviewer",
            "decision",
            "decided_on_version",
            "decision_is_stale",
            "decided_at_utc",
        ]
    )
    for row in rows:
        common = [
            row.kind,
            row.obj.id,
            row.section.id,
            row.section.title_en,
            _item_label(row),
            row.version_number or "",
            row.state_title,
            row.consent.state.title if row.consent else "",
            row.consent.expires_on.isoformat() if row.consent and row.consent.expires_on else "",
            "yes" if row.cleared else "no",
            " | ".join(row.blockers),
        ]
        decisions = row.decisions or [None]
        for decision in decisions:
            tail = ["", "", "", "", ""]
            if decision is not None:
                tail = [
                    decision.consultant_name,
                    decision.title,
                    decision.version_number,
                    "yes" if decision.id in row.stale_ids else "no",
                    decision.created_at.isoformat(),
                ]
            writer.writerow([csv_cell(value) for value in common + tail])
    name = f"clearance-report-{report.year}-{report.id}"
    return Response(
        buffer.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename={name}.csv"},
    )


def _item_label(row) -> str:
    if row.kind == "section":
        return ""
    latest = row.obj.latest
    if row.kind == "photo":
        return latest.caption_en or ""
    return latest.title_en or _("Narrative")
