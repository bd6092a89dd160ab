"""Admins browse, filter and export the audit trail."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, time, timedelta

from flask import Response, render_template, request
from flask_login import current_user
from sqlalchemy import select

from portal.accounts.models import Role, User
from portal.audit import bp, services
from portal.audit.forms import AuditFilterForm
from portal.exports import csv_row
from portal.extensions import db
from portal.security import roles

PER_PAGE = 50


def _filtered_query():
    form = AuditFilterForm(request.args)
    form.actor.choices = [("", "—")] + [
        (str(user.id), user.display_name)
        for user in db.session.scalars(select(User).order_by(User.display_name))
    ]
    if not form.validate():
        form = AuditFilterForm(formdata=None)
        form.actor.choices = []
    since = datetime.combine(form.since.data, time(), UTC) if form.since.data else None
    until = (
        datetime.combine(form.until.data + timedelta(days=1), time(), UTC)
        if form.until.data
        else None
    )
    query = services.events_query(
        action=(form.action.data or "").strip(),
        actor_id=int(form.actor.data) if form.actor.data else None,
        object_type=(form.object_type.data or "").strip(),
        since=since,
        until=until,
    )
    return form, query


@bp.get("")
@roles(Role.ADMIN)
def events():
    form, query = _filtered_query()
    page = db.paginate(query, per_page=PER_PAGE, error_out=False)
    filters = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("audit/events.html", form=form, page=page, filters=filters)


@bp.get("/export.csv")
@roles(Role.ADMIN)
def export_csv():
    """The filtered trail as CSV; the export itself is recorded in the trail."""
    _form, query = _filtered_query()
    services.record(current_user, "audit.export", None, filters=dict(request.args))
    db.session.commit()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        [
            "seq",
            "at_utc",
            "actor_id",
            "actor",
            "action",
            "object_type",
            "object_id",
            "outcome",
            "detail",
            "hash",
        ]
    )
    for event in db.session.scalars(query.limit(100_000)):
        writer.writerow(
            csv_row(
                [
                    event.seq,
                    event.at.isoformat(),
                    event.actor_id or "",
                    event.actor.display_name if event.actor else "",
                    event.action,
                    event.object_type or "",
                    event.object_id or "",
                    event.outcome,
                    event.detail,
                    event.hash,
                ]
            )
        )
    return Response(
        buffer.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=audit-trail.csv"},
    )
