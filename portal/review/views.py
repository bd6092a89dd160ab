"""Annotating a section's text, threads, and consultants' decisions."""

from __future__ import annotations

import uuid

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.accounts.models import Role
from portal.errors import DomainError
from portal.extensions import db
from portal.reports.models import EDITORIAL_ROLES, Section
from portal.reports.views import get_section
from portal.review import bp, services
from portal.review.forms import AddressedForm, AnnotationForm, DecisionForm, ReplyForm
from portal.review.models import Annotation, AnnotationKind
from portal.security import roles


def get_annotation(annotation_id: int) -> Annotation:
    """An annotation the current person may see (404 otherwise, security.md Z3)."""
    annotation = db.session.get(Annotation, annotation_id)
    if annotation is None:
        abort(404)
    section = get_section(annotation.section_id)
    if not services.can_see(current_user, annotation, section):
        abort(404)
    return annotation


def _reading_url(section: Section, annotation: Annotation | None = None) -> str:
    if annotation is None:
        return url_for("reports.read", section_id=section.id, **{"continue": 1})
    # In the annotation's language: the reading page lists the comments on the text it shows.
    url = url_for(
        "reports.read",
        section_id=section.id,
        lang=annotation.language,
        comment=annotation.id,
        **{"continue": 1},
    )
    return url + f"#annotation-{annotation.id}"


def _int_or_none(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@bp.route("/sections/<int:section_id>/annotate", methods=["GET", "POST"])
def annotate(section_id: int):
    """Comment on a passage: a whole block (keyboard and no-script path) or a selected span."""
    section = get_section(section_id)
    if not services.can_work_on(current_user, section):
        abort(404 if current_user.role not in EDITORIAL_ROLES else 403)
    version = services.latest_version(section)
    if version is None:
        abort(404)
    form = AnnotationForm(request.form if request.method == "POST" else request.args)
    language = form.language.data if form.language.data in ("en", "fr") else "en"
    text = services.plain_text(version, language)
    start, end = _int_or_none(form.start.data), _int_or_none(form.end.data)
    passage = None
    if form.block_id.data:
        from portal.documents.rendering import render_markdown

        rendered = render_markdown(version.body(language) or "", id_prefix=f"{language}-")
        block = next((b for b in rendered.blocks if b.id == form.block_id.data), None)
        passage = block.text if block else None
    elif start is not None and end is not None and 0 <= start < end <= len(text):
        passage = text[start:end]
    if request.method == "POST" and form.validate():
        try:
            annotation = services.create_annotation(
                current_user,
                section,
                language=language,
                kind=AnnotationKind(form.kind.data),
                body=form.body.data,
                replacement=form.replacement.data,
                block_id=form.block_id.data or None,
                start=start,
                end=end,
                submission_key=(form.submission_key.data or "")[:64] or None,
            )
        except DomainError as error:
            db.session.rollback()
            form.body.errors.append(error.message)
        else:
            back = _reading_url(section, annotation)  # before the commit expires what it reads
            db.session.commit()
            flash(_("Your comment is saved."), "success")
            return redirect(back)
    if not form.submission_key.data:
        form.submission_key.data = uuid.uuid4().hex
    if passage is None and not form.errors:
        flash(_("That passage is no longer in the latest version. Please choose it again."), "info")
        return redirect(_reading_url(section))
    return render_template(
        "review/annotate.html",
        form=form,
        section=section,
        version=version,
        language=language,
        passage=passage,
    ), (200 if request.method == "GET" else 400)


@bp.get("/annotations/<int:annotation_id>")
def thread(annotation_id: int):
    annotation = get_annotation(annotation_id)
    reply_form = ReplyForm()
    reply_form.submission_key.data = uuid.uuid4().hex
    return render_template(
        "review/thread.html",
        annotation=annotation,
        section=annotation.section,
        reply_form=reply_form,
        addressed_form=AddressedForm(),
        latest=services.latest_version(annotation.section),
        can_reply=services.can_work_on(current_user, annotation.section),
        can_resolve=services.can_resolve(current_user, annotation),
        is_editor=services.is_editorial(current_user),
    )


@bp.post("/annotations/<int:annotation_id>/reply")
def reply(annotation_id: int):
    annotation = get_annotation(annotation_id)
    form = ReplyForm()
    if form.validate():
        try:
            services.reply(
                current_user,
                annotation,
                form.body.data,
                submission_key=(form.submission_key.data or "")[:64] or None,
            )
        except DomainError as error:
            db.session.rollback()
            form.body.errors.append(error.message)
        else:
            db.session.commit()
            flash(_("Your reply is saved."), "success")
            return redirect(url_for("review.thread", annotation_id=annotation.id))
    return render_template(
        "review/thread.html",
        annotation=annotation,
        section=annotation.section,
        reply_form=form,
        addressed_form=AddressedForm(formdata=None),
        latest=services.latest_version(annotation.section),
        can_reply=services.can_work_on(current_user, annotation.section),
        can_resolve=services.can_resolve(current_user, annotation),
        is_editor=services.is_editorial(current_user),
    ), 400


def _thread_action(annotation_id: int, operation, message: str):
    annotation = get_annotation(annotation_id)
    try:
        operation(annotation)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(message, "success")
    return redirect(url_for("review.thread", annotation_id=annotation.id))


@bp.post("/annotations/<int:annotation_id>/resolve")
def resolve(annotation_id: int):
    return _thread_action(
        annotation_id, lambda a: services.resolve(current_user, a), _("The thread is resolved.")
    )


@bp.post("/annotations/<int:annotation_id>/reopen")
def reopen(annotation_id: int):
    return _thread_action(
        annotation_id, lambda a: services.reopen(current_user, a), _("The thread is open again.")
    )


@bp.post("/annotations/<int:annotation_id>/confirm")
def confirm(annotation_id: int):
    return _thread_action(
        annotation_id,
        lambda a: services.confirm_addressed(current_user, a),
        _("Thank you. The thread is resolved."),
    )


@bp.post("/annotations/<int:annotation_id>/addressed")
@roles(*EDITORIAL_ROLES)
def addressed(annotation_id: int):
    form = AddressedForm()
    if not form.validate():
        flash(_("Please give the version number."), "error")
        return redirect(url_for("review.thread", annotation_id=annotation_id))
    return _thread_action(
        annotation_id,
        lambda a: services.mark_addressed(current_user, a, form.version_number.data),
        _("The thread is marked as addressed; its author can confirm or reopen it."),
    )


@bp.route("/sections/<int:section_id>/decision", methods=["GET", "POST"])
@roles(Role.CONSULTANT)
def decision(section_id: int):
    """A consultant's decision on the latest version, bound to its exact text."""
    section = get_section(section_id)
    version = services.latest_version(section)
    if version is None or not services.can_work_on(current_user, section):
        abort(404)
    form = DecisionForm()
    if request.method == "GET":
        form.version_number.data = version.number
        form.submission_key.data = uuid.uuid4().hex
    elif form.validate():
        from portal.review.models import Decision

        try:
            recorded = services.submit_decision(
                current_user,
                section,
                version_number=_int_or_none(form.version_number.data) or 0,
                decision=Decision(form.decision.data),
                summary=form.summary.data,
                submission_key=(form.submission_key.data or uuid.uuid4().hex)[:64],
            )
        except DomainError as error:
            db.session.rollback()
            form.summary.errors.append(error.message)
        else:
            db.session.commit()
            flash(
                _(
                    "Your decision on version %(number)d is recorded. Thank you.",
                    # The form sent again after a new version was recorded for the version it
                    # was filled in on, not the latest.
                    number=recorded.version.number,
                ),
                "success",
            )
            return redirect(url_for("core.home"))
    current, stale = services.current_decisions(section)
    mine = [d for d in current + stale if d.consultant_id == current_user.id]
    return render_template(
        "review/decision.html",
        form=form,
        section=section,
        version=version,
        previous=mine[0] if mine else None,
    ), (200 if request.method == "GET" else 400)


@bp.post("/sections/<int:section_id>/independent-review")
@roles(*EDITORIAL_ROLES)
def set_independent_review(section_id: int):
    section = get_section(section_id)
    services.set_independent_review(current_user, section, request.form.get("independent") == "1")
    db.session.commit()
    flash(
        _("Consultants now see only their own comments on this section.")
        if section.independent_review
        else _("Consultants now see each other's comments on this section."),
        "success",
    )
    return redirect(url_for("reports.section", section_id=section.id))
