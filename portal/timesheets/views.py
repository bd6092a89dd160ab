"""Consultants record their time; editors approve it or ask about it; monthly statements."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import format_date, get_locale
from flask_babel import gettext as _
from flask_login import current_user

from portal.accounts.models import Role, User
from portal.assignments.models import Assignment
from portal.errors import DomainError
from portal.exports import csv_cell
from portal.extensions import db
from portal.models import utcnow
from portal.reports.models import EDITORIAL_ROLES, Report
from portal.reports.services import EditConflict
from portal.security import roles, safe_next
from portal.timesheets import bp, services
from portal.timesheets.forms import QueryForm, RevisionForm, TimeRecordForm
from portal.timesheets.models import TimeActivity, TimeRecord, TimeRecordStatus, format_duration

PER_PAGE = 50
bp.add_app_template_filter(format_duration, "duration")


def get_own_record(time_record_id: int) -> TimeRecord:
    """The current consultant's own record; anyone else's does not exist for them (Z3)."""
    time_record = db.session.get(TimeRecord, time_record_id)
    if time_record is None or time_record.consultant_id != current_user.id:
        abort(404)
    return time_record


def get_record(time_record_id: int) -> TimeRecord:
    """Any record, for editors and admins."""
    time_record = db.session.get(TimeRecord, time_record_id)
    if time_record is None:
        abort(404)
    return time_record


def _int_or_none(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _assignment_label(assignment: Assignment) -> str:
    section = assignment.section
    report = section.report
    return _(
        "%(section)s — %(report)s",
        section=_in_locale(section, "title"),
        report=_in_locale(report, "title"),
    )


def _in_locale(obj, name: str) -> str:
    """A bilingual title as plain text (for select options, which cannot carry a lang)."""
    own = getattr(obj, f"{name}_{get_locale() or 'en'}", None)
    return own or getattr(obj, f"{name}_en", None) or getattr(obj, f"{name}_fr", None) or ""


def _offer_assignments(
    form: TimeRecordForm, keep: Assignment | None = None
) -> dict[str, Assignment]:
    """Fill the assignment choices with the consultant's own; a record's current one stays."""
    offered = services.recordable_assignments(current_user)
    if keep is not None and all(a.id != keep.id for a in offered):
        offered.append(keep)
    form.assignment.choices = [("", _("Choose an assignment"))] + [
        (str(a.id), _assignment_label(a)) for a in offered
    ]
    return {str(a.id): a for a in offered}


def _place_error(form, error: services.TimeRecordError) -> None:
    target = form[error.field]
    target.errors = [*target.errors, error.message]


def _status(method_ok: int = 200) -> int:
    return method_ok if request.method == "GET" else 400


# The consultant's own records --------------------------------------------------------------


@bp.route("/time", methods=["GET", "POST"])
@roles(Role.CONSULTANT)
def my_time():
    """The consultant's records, by month, with their status; and a form to add one."""
    form = TimeRecordForm()
    offered = _offer_assignments(form)
    if request.method == "GET":
        form.worked_on.data = utcnow().date()
        if len(offered) == 1:
            form.assignment.data = next(iter(offered))
    elif form.validate():
        try:
            added = services.add_time(
                current_user,
                offered[form.assignment.data],
                worked_on=form.worked_on.data,
                minutes=form.total_minutes,
                activity=TimeActivity(form.activity.data),
                note=form.note.data,
            )
        except services.TimeRecordError as error:
            db.session.rollback()
            _place_error(form, error)
        else:
            db.session.commit()
            flash(
                _(
                    "Your time is recorded: %(duration)s on %(date)s. The editors will check it.",
                    duration=format_duration(added.minutes),
                    date=format_date(added.worked_on, "long"),
                ),
                "success",
            )
            return redirect(url_for("timesheets.my_time", year=added.worked_on.year))
    return _my_time_page(form), _status()


def _my_time_page(form: TimeRecordForm):
    today = utcnow().date()
    years = services.years_of(current_user, today)
    year = request.args.get("year", type=int)
    if year not in years:
        year = today.year
    earliest, latest = services.allowed_days(today)
    return render_template(
        "timesheets/my_time.html",
        form=form,
        year=year,
        years=years,
        months=services.records_by_month(current_user, year),
        queried=services.queried_records(current_user),
        earliest=earliest,
        latest=latest,
    )


@bp.route("/time/<int:time_record_id>/edit", methods=["GET", "POST"])
@roles(Role.CONSULTANT)
def edit(time_record_id: int):
    time_record = get_own_record(time_record_id)
    if time_record.is_locked and request.method == "GET":
        # (A form sent after the approval is answered below, with its text kept.)
        flash(_("This time record is approved, so it can no longer be changed."), "info")
        return redirect(url_for("timesheets.my_time", year=time_record.worked_on.year))
    form = TimeRecordForm()
    form.kept_date = time_record.worked_on
    offered = _offer_assignments(form, keep=time_record.assignment)
    if request.method == "GET":
        hours, minutes = time_record.hours_and_minutes
        form.assignment.data = str(time_record.assignment_id)
        form.worked_on.data = time_record.worked_on
        form.hours.data = hours
        form.minutes.data = minutes
        form.activity.data = time_record.activity.value
        form.note.data = time_record.note
        form.revision.data = time_record.revision
    elif form.validate():
        answering = time_record.status is TimeRecordStatus.QUERIED
        try:
            changed = services.change_time(
                current_user,
                time_record,
                expected_revision=_int_or_none(form.revision.data),
                assignment=offered[form.assignment.data],
                worked_on=form.worked_on.data,
                minutes=form.total_minutes,
                activity=TimeActivity(form.activity.data),
                note=form.note.data,
            )
        except EditConflict as conflict:
            return _edit_conflict(time_record_id, form, conflict.message)
        except services.TimeRecordError as error:
            db.session.rollback()
            _place_error(form, error)
        except DomainError as error:  # approved meanwhile
            return _edit_conflict(time_record_id, form, error.message)
        else:
            db.session.commit()
            if not changed:
                flash(_("Nothing changed, so nothing was saved."), "info")
            elif answering:
                flash(_("Your changes are saved and sent back to the editors."), "success")
            else:
                flash(_("Your changes are saved."), "success")
            return redirect(url_for("timesheets.my_time", year=time_record.worked_on.year))
    return _edit_page(form, time_record), _status()


def _edit_page(form: TimeRecordForm, time_record: TimeRecord, conflict: str | None = None):
    earliest, latest = services.allowed_days()
    return render_template(
        "timesheets/edit.html",
        form=form,
        record=time_record,
        conflict=conflict,
        earliest=min(earliest, time_record.worked_on),
        latest=latest,
    )


def _edit_conflict(time_record_id: int, form: TimeRecordForm, message: str):
    """Saved by another tab or changed by an editor first (R2): what is saved now is shown
    beside the consultant's text, which is kept."""
    db.session.rollback()
    current = db.session.get(TimeRecord, time_record_id)
    if current is None:
        flash(_("This time record was deleted, so your changes could not be saved."), "error")
        return redirect(url_for("timesheets.my_time"))
    if current.is_locked:
        message = _(
            "An editor approved this time record while you were editing it, so it can no longer "
            "be changed."
        )
    form.revision.data = current.revision
    return _edit_page(form, current, conflict=message), 409


@bp.post("/time/<int:time_record_id>/delete")
@roles(Role.CONSULTANT)
def delete(time_record_id: int):
    time_record = get_own_record(time_record_id)
    year = time_record.worked_on.year
    form = RevisionForm()
    form.validate()  # the CSRF token was checked globally; the revision is the service's
    try:
        services.delete_time(
            current_user, time_record, expected_revision=_int_or_none(form.revision.data)
        )
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(_("The time record is deleted."), "success")
    return redirect(url_for("timesheets.my_time", year=year))


# The editors' check ------------------------------------------------------------------------


@bp.get("/time/review")
@roles(*EDITORIAL_ROLES)
def review():
    """Records waiting for the editors, or any others, filtered by consultant and report."""
    status = request.args.get("status", "submitted")
    if status not in services.REVIEW_FILTERS:
        status = "submitted"
    consultant_id = request.args.get("consultant", type=int)
    report_id = request.args.get("report", type=int)
    page = db.paginate(
        services.review_query(status=status, consultant_id=consultant_id, report_id=report_id),
        per_page=PER_PAGE,
        error_out=False,
    )
    filters = {
        key: value
        for key, value in (("status", status), ("consultant", consultant_id), ("report", report_id))
        if value
    }
    return render_template(
        "timesheets/review.html",
        page=page,
        filters=filters,
        status=status,
        consultant_id=consultant_id,
        report_id=report_id,
        consultants=services.consultants_with_records(),
        reports=db.session.scalars(db.select(Report).order_by(Report.year.desc(), Report.id)).all(),
        here=request.full_path.rstrip("?"),
        Status=TimeRecordStatus,
    )


@bp.post("/time/<int:time_record_id>/approve")
@roles(*EDITORIAL_ROLES)
def approve(time_record_id: int):
    time_record = get_record(time_record_id)
    form = RevisionForm()
    form.validate()
    back = safe_next(form.next.data, "timesheets.review")
    name = time_record.consultant.display_name
    try:
        approved = services.approve_time(
            current_user, time_record, expected_revision=_int_or_none(form.revision.data)
        )
    except EditConflict:
        db.session.rollback()
        flash(
            _(
                "This time record of %(name)s was changed since you opened the page, so it was "
                "not approved. Please check it again.",
                name=name,
            ),
            "error",
        )
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        if approved:
            flash(
                _(
                    "Approved: %(duration)s by %(name)s on %(date)s.",
                    duration=format_duration(time_record.minutes),
                    name=name,
                    date=format_date(time_record.worked_on, "long"),
                ),
                "success",
            )
        else:
            flash(_("This time record was approved already."), "info")
    return redirect(back)


@bp.route("/time/<int:time_record_id>/query", methods=["GET", "POST"])
@roles(*EDITORIAL_ROLES)
def query(time_record_id: int):
    """Ask the consultant a question about a record; it waits for their answer."""
    time_record = get_record(time_record_id)
    form = QueryForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
        if time_record.is_locked:
            flash(_("This time record is approved already; it cannot be queried."), "info")
            return redirect(safe_next(form.next.data, "timesheets.review"))
        form.revision.data = time_record.revision
        form.question.data = time_record.question if time_record.question else ""
    elif form.validate():
        try:
            services.query_time(
                current_user,
                time_record,
                expected_revision=_int_or_none(form.revision.data),
                question=form.question.data,
            )
        except (EditConflict, DomainError) as error:
            db.session.rollback()
            current = db.session.get(TimeRecord, time_record_id)
            if current is None:
                flash(_("This time record was deleted by the consultant."), "error")
                return redirect(safe_next(form.next.data, "timesheets.review"))
            if isinstance(error, services.TimeRecordError):
                _place_error(form, error)
            else:
                form.revision.data = current.revision
                return _query_page(form, current, conflict=error.message), 409
        else:
            db.session.commit()
            flash(
                _(
                    "Your question is sent. %(name)s sees it with the record, which waits for "
                    "their answer.",
                    name=time_record.consultant.display_name,
                ),
                "success",
            )
            return redirect(safe_next(form.next.data, "timesheets.review"))
    return _query_page(form, time_record), _status()


def _query_page(form: QueryForm, time_record: TimeRecord, conflict: str | None = None):
    return render_template(
        "timesheets/query.html",
        form=form,
        record=time_record,
        conflict=conflict,
        back=safe_next(form.next.data, "timesheets.review"),
    )


# The monthly statement ---------------------------------------------------------------------

_MONTH = re.compile(r"(\d{4})-(\d{2})")


def _parse_month(value: str | None) -> date | None:
    match = _MONTH.fullmatch((value or "").strip())
    if match is None:
        return None
    year, month = int(match.group(1)), int(match.group(2))
    if not (2000 <= year <= 2100 and 1 <= month <= 12):
        return None
    return date(year, month, 1)


def _statement_filters() -> tuple[User | None, date | None, str | None]:
    """Whose statement, for which month, and what was wrong with the month asked for.

    A consultant always gets their own: the `consultant` argument is ignored for them (Z3).
    Editors and admins choose any consultant; an id that is not one is a 404.
    """
    if current_user.role is Role.CONSULTANT:
        consultant = current_user
    else:
        consultant = None
        consultant_id = request.args.get("consultant", type=int)
        if consultant_id is not None:
            consultant = db.session.get(User, consultant_id)
            if consultant is None or consultant.role is not Role.CONSULTANT:
                abort(404)
    asked = request.args.get("month")
    if not asked:
        return consultant, utcnow().date().replace(day=1), None
    month = _parse_month(asked)
    if month is None:
        return consultant, None, _("Please give the month as year and month, like 2026-05.")
    return consultant, month, None


def _shows_legal_name() -> bool:
    """Decision: legal names appear on statements for admins only, who arrange payment; editors
    see display names, as everywhere else, and so do consultants (security.md Z5)."""
    return current_user.role is Role.ADMIN


@bp.get("/time/statement")
def statement():
    """Approved time of one consultant in one month, by assignment; printable."""
    consultant, month, month_error = _statement_filters()
    statement = None
    if consultant is not None and month is not None:
        statement = services.monthly_statement(consultant, month)
    return render_template(
        "timesheets/statement.html",
        statement=statement,
        consultant=consultant,
        month=month,
        month_value=request.args.get("month") or (month.strftime("%Y-%m") if month else ""),
        month_error=month_error,
        consultants=services.consultants() if current_user.role in EDITORIAL_ROLES else [],
        show_legal_name=_shows_legal_name(),
    ), (400 if month_error else 200)


@bp.get("/time/statement.csv")
def statement_csv():
    consultant, month, month_error = _statement_filters()
    if consultant is None or month_error:
        if consultant is None:
            flash(_("Please choose a consultant first."), "info")
        kept = {key: request.args[key] for key in ("consultant", "month") if key in request.args}
        return redirect(url_for("timesheets.statement", **kept))
    statement = services.monthly_statement(consultant, month)
    services.record_statement_export(current_user, consultant, month)
    db.session.commit()
    legal = _shows_legal_name()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    header = ["month", "consultant_id", "consultant"]
    header += ["legal_name"] if legal else []
    header += ["assignment_id", "report", "section", "records", "minutes", "hours"]
    writer.writerow(header)
    for line in statement.lines:
        section = line.assignment.section
        row = [month.strftime("%Y-%m"), consultant.id, consultant.display_name]
        row += [consultant.legal_name or ""] if legal else []
        row += [
            line.assignment.id,
            section.report.title_en,
            section.title_en,
            len(line.records),
            line.minutes,
            f"{line.minutes / 60:.2f}",
        ]
        writer.writerow([csv_cell(value) for value in row])
    name = f"time-statement-{month.strftime('%Y-%m')}-consultant-{consultant.id}.csv"
    return Response(
        buffer.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename={name}"},
    )
