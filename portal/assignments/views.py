"""Consultants answer and work on their assignments; editors offer sections and answer requests."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
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
from portal.assignments.models import OPEN_STATES, Assignment, AssignmentState
from portal.availability import services as availability
from portal.errors import DomainError
from portal.extensions import db
from portal.models import utcnow
from portal.reports.models import EDITORIAL_ROLES, Section
from portal.security import roles
from portal.urls import link_prefix

PER_PAGE = 20


def get_assignment(assignment_id: int) -> Assignment:
    """Editors may open any assignment; a consultant only their own, and only while it lets them
    read the section: once declined or withdrawn it is 404 like any other (Z3)."""
    assignment = db.session.get(Assignment, assignment_id)
    if assignment is None:
        abort(404)
    if current_user.role in EDITORIAL_ROLES:
        return assignment
    if assignment.consultant_id == current_user.id and assignment.lets_read():
        return assignment
    abort(404)


def get_own_assignment(assignment_id: int) -> Assignment:
    """The current consultant's own assignment in any state, for their answers to it: a second
    "Decline" is told it is already declined rather than shown a 404 (R3). 404 for anyone else's."""
    assignment = db.session.get(Assignment, assignment_id)
    if assignment is None or assignment.consultant_id != current_user.id:
        abort(404)
    return assignment


def _back_to(assignment: Assignment) -> str:
    """The assignment's page while the consultant may still see it, else their dashboard."""
    if assignment.lets_read():
        return url_for("assignments.assignment", assignment_id=assignment.id)
    return url_for("assignments.dashboard")


def _assignment_page(assignment: Assignment, status: int = 200, **forms):
    forms.setdefault("decline_form", DeclineForm(formdata=None))
    forms.setdefault("extension_form", ExtensionRequestForm(formdata=None))
    forms.setdefault("answer_form", ExtensionAnswerForm(formdata=None))
    return render_template(
        "assignments/assignment.html",
        assignment=assignment,
        section=assignment.section,
        today=utcnow().date(),
        away=availability.calendar([assignment.consultant_id], assignments=[assignment]),
        **forms,
    ), status


@bp.get("/assignments")
@roles(Role.CONSULTANT)
def dashboard():
    """The consultant's assignments, the most pressing first."""
    page = db.paginate(
        services.consultant_assignments_query(current_user),
        per_page=PER_PAGE,
        error_out=False,
    )
    from portal.media.models import ItemKind
    from portal.media.services import review_queue

    return render_template(
        "assignments/dashboard.html",
        page=page,
        today=utcnow().date(),
        review_queue=review_queue(current_user),
        away_now=availability.current_period(current_user),
        # Titles translated once per page, not once per row (each `.title` translates anew).
        kind_titles={kind: kind.title for kind in ItemKind},
        state_titles={state: state.title for state in AssignmentState},
        # "/items/<id>" and "/assignments/<id>" without a url_for per row: the prefix, then the id.
        item_prefix=link_prefix("media.item", "item_id"),
        assignment_prefix=link_prefix("assignments.assignment", "assignment_id"),
    )


@bp.get("/assignments/<int:assignment_id>")
def assignment(assignment_id: int):
    return _assignment_page(get_assignment(assignment_id))


def _consultant_action(assignment_id: int, operation, success: str, *, then=None):
    """Run one consultant operation on their own assignment, commit once, and report back."""
    assignment = get_own_assignment(assignment_id)
    try:
        operation(assignment)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(_back_to(assignment))
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
        return _assignment_page(get_assignment(assignment_id), 400, decline_form=form)
    return _consultant_action(
        assignment_id,
        lambda assignment: services.decline(current_user, assignment, form.reason.data),
        _("You declined this assignment. The editors have been told; no reason is needed."),
        then=lambda a: url_for("assignments.dashboard"),
    )


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
    assignment = get_assignment(assignment_id)  # a consultant's own, while they may read it
    form = ExtensionRequestForm()
    if form.validate():
        try:
            services.request_extension(
                current_user, assignment, until=form.until.data, reason=form.reason.data
            )
        except DomainError as error:
            db.session.rollback()
            if assignment.extension_pending or assignment.state not in OPEN_STATES:
                # A request sent twice, or the work closed meanwhile: the form is not shown.
                flash(error.message, "error")
                return redirect(url_for("assignments.assignment", assignment_id=assignment.id))
            # Shown on the form, with what was typed, rather than flashed after a redirect.
            form.until.errors.append(error.message)
        else:
            db.session.commit()
            flash(
                _("Your request for more time is sent. Until it is answered, nothing changes."),
                "success",
            )
            return redirect(url_for("assignments.assignment", assignment_id=assignment.id))
    return _assignment_page(assignment, 400, extension_form=form)


# Editors -----------------------------------------------------------------------------------


@bp.route("/sections/<int:section_id>/assign", methods=["GET", "POST"])
@roles(*EDITORIAL_ROLES)
def assign(section_id: int):
    section = db.session.get(Section, section_id)
    if section is None:
        abort(404)
    form = AssignForm()
    consultants = services.active_consultants()
    away = availability.calendar(consultants)
    labels = availability.away_labels(consultants, away=away)
    form.consultant.choices = [("", _("Choose a consultant"))] + [
        (
            str(user.id),
            _("%(name)s (%(away)s)", name=user.display_name, away=labels[user.id])
            if user.id in labels
            else user.display_name,
        )
        for user in consultants
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
            due_on = form.due_on.data
            for period in availability.overlapping(consultant.id, due_on, due_on)[:1]:
                # Offered all the same: the editor decides (issue 7).
                flash(
                    _(
                        "Please note: the due date falls while %(name)s is away (%(dates)s). "
                        "The offer is made all the same.",
                        name=consultant.display_name,
                        dates=period.dates,
                    ),
                    "warning",
                )
            return redirect(url_for("reports.section", section_id=section.id))
    return render_template(
        "assignments/assign.html", form=form, section=section, away=away, consultants=consultants
    ), (200 if request.method == "GET" else 400)


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
            if not assignment.extension_pending:  # answered meanwhile, or nothing to answer
                flash(error.message, "error")
                return redirect(url_for("assignments.assignment", assignment_id=assignment.id))
            form.new_due_on.errors.append(error.message)
        else:
            db.session.commit()
            flash(_("Your answer is saved; the consultant sees it on their dashboard."), "success")
            return redirect(url_for("reports.section", section_id=assignment.section_id))
    return _assignment_page(assignment, 400, answer_form=form)


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
