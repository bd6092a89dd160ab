"""Home page, language choice and health check."""

from __future__ import annotations

from flask import jsonify, redirect, render_template, request, session
from flask_login import current_user
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError

from portal.accounts import services as account_services
from portal.accounts.models import LOCALES, Role
from portal.core import bp
from portal.extensions import db
from portal.reports.models import Report, ReportStatus
from portal.security import public, safe_next


@bp.get("/")
def home():
    """Each role's starting point: consultants their assignments, editors their reports."""
    if current_user.role is Role.CONSULTANT:
        from portal.assignments.views import dashboard

        return dashboard()
    reports = db.session.scalars(
        select(Report).where(Report.status == ReportStatus.ACTIVE).order_by(Report.year.desc())
    ).all()
    failed_mail = 0
    if current_user.role is Role.ADMIN:
        from portal.notifications.models import OutboxMessage, OutboxState

        failed_mail = db.session.scalar(
            select(func.count(OutboxMessage.id)).where(OutboxMessage.state == OutboxState.FAILED)
        )
    return render_template("core/home.html", reports=reports, failed_mail=failed_mail)


@bp.post("/language")
@public
def set_language():
    """Switch language; for a signed-in person the choice is saved with their account."""
    locale = request.form.get("locale", "")
    if locale in LOCALES:
        session["locale"] = locale
        if current_user.is_authenticated:
            account_services.set_locale(current_user, locale)
            db.session.commit()
    return redirect(safe_next(request.form.get("next")))


@bp.get("/healthz")
@public
def healthz():
    """Liveness and database reachability for monitoring; reveals nothing else."""
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        return jsonify(status="error", database="unreachable"), 503
    return jsonify(status="ok")
