"""Consultants answer and work on their assignments; editors offer sections and answer requests."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user

from portal.accounts.models import Role, User
from portal.assignments import bp, services
from portal.assignments.forms import (
    AssignForm,
    DeclineForm,
    ExtensionAnswerForm,
    ExtensionRequestForm,
)
from portal.assignments.models import Assignment
from portal.errors import DomainError
from portal.extensions import db
from portal.mail import absolute_url, send_mail
from portal.models import utcnow
from portal.reports.models import EDITORIAL_ROLES, Section
from portal.security import roles

PER_PAGE = 20


def get_assignment(assignment_id: int) -> Assignment:
    """Editors may open any assignment; a consultant only their own (404 otherwise, Z3)."""
    assignment = db.session.get(Assignment, assignment_id)
    if assignment is None:
        abort(404)
    if current_user.role in EDITORIAL_ROLES or assignment.consultant_id == current_user.id:
        return assignment
    abort(404)


@bp.get("/assignments")
@roles(Role.CONSULTANT)
def dashboard():
    """The consultant's assignments, the most pressing first."""
    page = db.paginate(
        services.consultant_assignments_query(current_user),
        per_page=PER_PAGE,
        error_out=False,
    )
    return render_template("assignments/dashboard.html", page=page, today=utcnow().date())


@bp.get("/assignments/<int:assignment_id>")
def assignment(assignment_id: int):
    assignment = get_assignment(assignment_id)
    return render_template(
        "assignments/assignment.html",
        assignment=assignment,
        section=assignment.section,
        decline_form=DeclineForm(),
        extension_form=ExtensionRequestForm(),
        answer_form=ExtensionAnswerForm(),
        today=utcnow().date(),
    )


def _consultant_action(assignment_id: int, operation, success: str, *, then=None):
    """Run one consultant operation on their own assignment, commit once, and report back."""
    assignment = get_assignment(assignment_id)
    if assignment.consultant_id != current_user.id:
        abort(404)
    try:
        operation(assignment)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("assignments.assignment", assignment_id=assignment.id))
    db.session.commit()
    flash(success, "success")
    return redirect(
        then(assignment) if then else url_for("assignments.assignment", assignment_id=assignment.id)
    )


@bp.post("/assignments/<int:assignment_id>/accept")
@roles(Role.CONSULTANT)
def accept(assignment_id: int):
    return _consultant_action(
        assignment_id,
        lambda a: services.accept(current_user, a),
        _("Thank you. The assignment is accepted; open the draft when you are ready."),
    )


@bp.post("/assignments/<int:assignment_id>/decline")
@roles(Role.CONSULTANT)
def decline(assignment_id: int):
    form = DeclineForm()
    if not form.validate():
        assignment = get_assignment(assignment_id)
        return render_template(
            "assignments/assignment.html",
            assignment=assignment,
            section=assignment.section,
            decline_form=form,
            extension_form=ExtensionRequestForm(formdata=None),
            answer_form=ExtensionAnswerForm(formdata=None),
            today=utcnow().date(),
        ), 400
    response = _consultant_action(
        assignment_id,
        lambda a: services.decline(current_user, a, form.reason.data),
        _("You declined this assignment. The editors have been told; no reason is needed."),
        then=lambda a: url_for("assignments.dashboard"),
    )
    assignment = db.session.get(Assignment, assignment_id)
    if assignment.state.value == "declined":
        _tell_editor_of_decline(assignment)
    return response


def _tell_editor_of_decline(assignment: Assignment) -> None:
    """E-mail the editor who made the offer (a link only, no reason or excerpt), after commit."""
    editor: User | None = assignment.offered_by
    if editor is None or not editor.active:
        return
    link = absolute_url(url_for("reports.section", section_id=assignment.section_id))
    with force_locale(editor.locale):
        subject = _("An assignment was declined")
        body = render_template(
            "email/assignment_declined.txt", editor=editor, assignment=assignment, link=link
        )
    send_mail(editor.email, subject, body)


@bp.post("/assignments/<int:assignment_id>/start")
@roles(Role.CONSULTANT)
def start(assignment_id: int):
    return _consultant_action(
        assignment_id,
        lambda a: services.start_review(current_user, a),
        _("Your review has started. Take the time you need."),
        then=lambda a: url_for("reports.read", section_id=a.section_id),
    )


@bp.post("/assignments/<int:assignment_id>/submit")
@roles(Role.CONSULTANT)
def submit(assignment_id: int):
    return _consultant_action(
        assignment_id,
        lambda a: services.submit_review(current_user, a),
        _("Your review is submitted. Thank you for your work."),
    )


@bp.post("/assignments/<int:assignment_id>/extension")
@roles(Role.CONSULTANT)
def request_extension(assignment_id: int):
    assignment = get_assignment(assignment_id)
    if assignment.consultant_id != current_user.id:
        abort(404)
    form = ExtensionRequestForm()
    if form.validate():
        return _consultant_action(
            assignment_id,
            lambda a: services.request_extension(
                current_user, a, until=form.until.data, reason=form.reason.data
            ),
            _("Your request for more time is sent. Until it is answered, nothing changes."),
        )
    return render_template(
        "assignments/assignment.html",
        assignment=assignment,
        section=assignment.section,
        decline_form=DeclineForm(formdata=None),
        extension_form=form,
        answer_form=ExtensionAnswerForm(formdata=None),
        today=utcnow().date(),
    ), 400


# Editors -----------------------------------------------------------------------------------


@bp.route("/sections/<int:section_id>/assign", methods=["GET", "POST"])
@roles(*EDITORIAL_ROLES)
def assign(section_id: int):
    section = db.session.get(Section, section_id)
    if section is None:
        abort(404)
    form = AssignForm()
    form.consultant.choices = [("", _("Choose a consultant"))] + [
        (str(user.id), user.display_name) for user in services.active_consultants()
    ]
    if form.validate_on_submit():
        consultant = db.session.get(User, int(form.consultant.data))
        try:
            services.assign_section(
                current_user,
                section,
                consultant,
                due_on=form.due_on.data,
                instructions_en=form.instructions_en.data,
                instructions_fr=form.instructions_fr.data,
            )
        except DomainError as error:
            db.session.rollback()
            form.consultant.errors.append(error.message)
        else:
            db.session.commit()
            flash(_("The section is offered to %(name)s.", name=consultant.display_name), "success")
            return redirect(url_for("reports.section", section_id=section.id))
    return render_template("assignments/assign.html", form=form, section=section), (
        200 if request.method == "GET" else 400
    )


@bp.post("/assignments/<int:assignment_id>/extension/answer")
@roles(*EDITORIAL_ROLES)
def answer_extension(assignment_id: int):
    assignment = get_assignment(assignment_id)
    form = ExtensionAnswerForm()
    if form.validate():
        try:
            services.answer_extension(
                current_user,
                assignment,
                grant=form.decision.data == "grant",
                new_due_on=form.new_due_on.data,
            )
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            db.session.commit()
            flash(_("Your answer is saved; the consultant sees it on their dashboard."), "success")
            return redirect(url_for("reports.section", section_id=assignment.section_id))
    else:
        for errors in form.errors.values():
            for message in errors:
                flash(message, "error")
    return redirect(url_for("assignments.assignment", assignment_id=assignment.id))


@bp.post("/assignments/<int:assignment_id>/withdraw")
@roles(*EDITORIAL_ROLES)
def withdraw(assignment_id: int):
    assignment = get_assignment(assignment_id)
    try:
        services.withdraw(current_user, assignment)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(_("The request is withdrawn."), "success")
    return redirect(url_for("reports.section", section_id=assignment.section_id))
