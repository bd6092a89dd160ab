"""Editors' report and section pages, and the reading pages consultants share with them."""

from __future__ import annotations

from functools import lru_cache

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import func
from sqlalchemy.orm import selectinload

from portal.accounts.models import Role
from portal.assignments import services as assignment_services
from portal.assignments.models import ASSIGNMENT_STATE_TITLES, Assignment, AssignmentState
from portal.availability import services as availability
from portal.documents.diffing import change_counts, word_diff
from portal.documents.importing import ImportRefused, import_document
from portal.documents.rendering import add_block_controls, render_markdown
from portal.errors import DomainError
from portal.extensions import db
from portal.media import services as media_services
from portal.models import utcnow
from portal.reports import bp, services
from portal.reports.forms import (
    MatrixFilterForm,
    PublishForm,
    ReportForm,
    SectionForm,
    TransitionForm,
)
from portal.reports.models import (
    EDITORIAL_ROLES,
    Report,
    ReportStatus,
    Section,
    SectionState,
    SectionTransition,
    SectionVersion,
)
from portal.security import roles
from portal.urls import link_prefix

EDITORIAL = tuple(EDITORIAL_ROLES)
IMPORT_MESSAGES = {
    "empty": _l("That file is empty."),
    "too_large": _l("That file is too large to import."),
    "unsupported_type": _l("Only Word (.docx) and Markdown (.md) files can be imported."),
    "not_utf8": _l("That text file is not in UTF-8; please save it as UTF-8 and try again."),
    "damaged": _l("That file seems to be damaged and could not be read."),
    "no_text": _l("That file has no text to import."),
}
MAX_IMPORT_BYTES = 10 * 1024 * 1024


def _rendered(source: str, id_prefix: str) -> Markup:
    """Markdown to HTML that nh3 has sanitised with an allow-list (security.md I2)."""
    return Markup(render_markdown(source, id_prefix=id_prefix).html)  # noqa: S704  (sanitised)


def get_report(report_id: int) -> Report:
    report = db.session.get(Report, report_id)
    if report is None:
        abort(404)
    return report


def get_section(section_id: int) -> Section:
    """Load a section the current person may read: editors any, consultants only if assigned."""
    section = db.session.get(Section, section_id)
    if section is None:
        abort(404)
    if current_user.role in EDITORIAL_ROLES:
        return section
    if assignment_services.reading_assignment(current_user, section) is None:
        abort(404)  # not 403: a consultant learns nothing about sections not offered to them
    return section


def get_version(section: Section, number: int) -> SectionVersion:
    version = services.version_by_number(section, number)
    if version is None:
        abort(404)
    return version


def _details_conflict(form, current: Report | Section, kind: str, conflict):
    """Someone saved first (R2): show what is saved beside the editor's text, which is kept."""
    db.session.rollback()
    form.revision.data = current.revision
    return render_template(
        "reports/conflict_details.html",
        form=form,
        current=current,
        kind=kind,
        message=conflict.message,
    ), 409


def _status(method_ok: int = 200) -> int:
    return method_ok if request.method == "GET" else 400


# Reports -----------------------------------------------------------------------------------


@bp.get("/reports")
@roles(*EDITORIAL)
def index():
    show = request.args.get("show", "active")
    status = ReportStatus.ARCHIVED if show == "archived" else ReportStatus.ACTIVE
    reports = db.session.scalars(
        db.select(Report).where(Report.status == status).order_by(Report.year.desc(), Report.id)
    ).all()
    # Live sections per report, counted in one statement (not by loading each report's sections).
    section_counts = dict(
        db.session.execute(
            db.select(Section.report_id, func.count())
            .where(
                Section.report_id.in_([report.id for report in reports]),
                Section.archived_at.is_(None),
            )
            .group_by(Section.report_id)
        ).all()
    )
    return render_template(
        "reports/index.html", reports=reports, section_counts=section_counts, show=status.value
    )


@bp.route("/reports/new", methods=["GET", "POST"])
@roles(*EDITORIAL)
def new_report():
    form = ReportForm()
    if request.method == "GET":
        form.year.data = utcnow().year + 1
    if form.validate_on_submit():
        report = services.create_report(
            current_user,
            title_en=form.title_en.data,
            title_fr=form.title_fr.data,
            description_en=form.description_en.data,
            description_fr=form.description_fr.data,
            year=form.year.data,
        )
        db.session.commit()
        flash(_("The report is created. Add its sections next."), "success")
        return redirect(url_for("reports.report", report_id=report.id))
    return render_template("reports/report_form.html", form=form, report=None), _status()


@bp.route("/reports/<int:report_id>/edit", methods=["GET", "POST"])
@roles(*EDITORIAL)
def edit_report(report_id: int):
    report = get_report(report_id)
    form = ReportForm(obj=report if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            services.update_report(
                current_user,
                report,
                expected_revision=form.revision.data,
                title_en=form.title_en.data,
                title_fr=form.title_fr.data,
                description_en=form.description_en.data,
                description_fr=form.description_fr.data,
                year=form.year.data,
            )
        except services.EditConflict as conflict:
            return _details_conflict(form, report, "report", conflict)
        db.session.commit()
        flash(_("The report is saved."), "success")
        return redirect(url_for("reports.report", report_id=report.id))
    return render_template("reports/report_form.html", form=form, report=report), _status()


@bp.post("/reports/<int:report_id>/status")
@roles(*EDITORIAL)
def set_report_status(report_id: int):
    report = get_report(report_id)
    status = ReportStatus.ARCHIVED if request.form.get("archive") == "1" else ReportStatus.ACTIVE
    try:
        services.set_report_status(current_user, report, status)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(
            _("The report is archived.")
            if status is ReportStatus.ARCHIVED
            else _("The report is active again."),
            "success",
        )
    return redirect(url_for("reports.report", report_id=report.id))


@bp.get("/reports/<int:report_id>")
@roles(*EDITORIAL)
def report(report_id: int):
    """The editor's dashboard for one report: sections x consultants, filterable."""
    report = get_report(report_id)
    form = MatrixFilterForm(request.args)
    form.state.choices = [("", _("Any state"))] + [
        (state.value, str(title)) for state, title in ASSIGNMENT_STATE_TITLES.items()
    ]
    form.consultant.choices = [("", _("Any consultant"))] + [
        (str(user.id), user.display_name) for user in assignment_services.active_consultants()
    ]
    if not form.validate():
        # An unusable filter (say, a consultant no longer active) is dropped, but the filter
        # form keeps its choices so the editor can filter again.
        choices = form.state.choices, form.consultant.choices
        form = MatrixFilterForm(formdata=None)
        form.state.choices, form.consultant.choices = choices
    page = request.args.get("page", 1, type=int)
    today = utcnow().date()
    sections, consultants, cells = assignment_services.report_matrix(
        report.id,
        today=today,
        query=form.q.data or "",
        state=form.state.data or "",
        consultant_id=int(form.consultant.data) if form.consultant.data else None,
        overdue_only=bool(form.overdue.data),
        page=max(page, 1),
    )
    filters = {k: v for k, v in request.args.items() if k != "page" and v}
    # Each section's row of the grid: its assignments in column order, each with the number of
    # empty cells before it, and the number of empty cells after the last. Most cells of a large
    # report are empty, and the template writes each run of them at once.
    column_of = {consultant.id: n for n, consultant in enumerate(consultants)}
    placed: dict[int, list[tuple[int, Assignment]]] = {}
    for (section_id, consultant_id), cell in cells.items():
        placed.setdefault(section_id, []).append((column_of[consultant_id], cell))
    rows = []
    for section in sections.items:
        row, next_column = [], 0
        for column, cell in sorted(placed.get(section.id, []), key=lambda pair: pair[0]):
            row.append((column - next_column, cell))
            next_column = column + 1
        rows.append((section, row, len(consultants) - next_column))
    return render_template(
        "reports/report.html",
        report=report,
        form=form,
        sections=sections,
        consultants=consultants,
        rows=rows,
        due_dates={cell.due_on for cell in cells.values()},
        today=today,
        filters=filters,
        away=availability.calendar(consultants, assignments=cells.values()),
        # Translated once per page, not once per row or cell (each `.title` translates anew).
        state_titles={state: state.title for state in AssignmentState},
        section_titles={state: state.title for state in SectionState},
        # "/assignments/<id>" and "/sections/<id>" without a url_for per cell or row: the prefix,
        # then the id.
        assignment_prefix=link_prefix("assignments.assignment", "assignment_id"),
        section_prefix=link_prefix("reports.section", "section_id"),
    )


# Sections ----------------------------------------------------------------------------------


@bp.route("/reports/<int:report_id>/sections/new", methods=["GET", "POST"])
@roles(*EDITORIAL)
def new_section(report_id: int):
    report = get_report(report_id)
    form = SectionForm()
    if form.validate_on_submit():
        try:
            section = services.create_section(
                current_user,
                report,
                title_en=form.title_en.data,
                title_fr=form.title_fr.data,
                content_note_en=form.content_note_en.data,
                content_note_fr=form.content_note_fr.data,
            )
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            db.session.commit()
            flash(_("The section is created. Write or import its first version."), "success")
            return redirect(url_for("reports.publish", section_id=section.id))
    return render_template(
        "reports/section_form.html", form=form, report=report, section=None
    ), _status()


@bp.get("/sections/<int:section_id>")
@roles(*EDITORIAL)
def section(section_id: int):
    section = get_section(section_id)
    # The people each row names are loaded with the rows: a fixed number of statements.
    assignments = db.session.scalars(
        db.select(Assignment)
        .where(Assignment.section_id == section.id)
        .order_by(Assignment.offered_at)
        .options(selectinload(Assignment.consultant))
    ).all()
    transitions = db.session.scalars(
        db.select(SectionTransition)
        .where(SectionTransition.section_id == section.id)
        .order_by(SectionTransition.at.desc())
        .options(selectinload(SectionTransition.actor))
    ).all()
    versions = db.session.scalars(
        db.select(SectionVersion)
        .where(SectionVersion.section_id == section.id)
        .order_by(SectionVersion.number.desc())
        .options(selectinload(SectionVersion.author))
    ).all()
    return render_template(
        "reports/section.html",
        section=section,
        versions=versions,
        assignments=assignments,
        transitions=transitions,
        transition_form=TransitionForm(),
        targets=[state for state in SectionState if section.can_move_to(state)],
        **_decisions_of(section),
        media_items=media_services.items_of(section),
        today=utcnow().date(),
        AssignmentState=AssignmentState,
    )


def _decisions_of(section: Section) -> dict:
    from portal.review import services as review

    current, stale = review.current_decisions(section)
    return {
        "current_decisions": current,
        "stale_decisions": stale,
        "outcome": review.outcome(section, current),
    }


@bp.route("/sections/<int:section_id>/edit", methods=["GET", "POST"])
@roles(*EDITORIAL)
def edit_section(section_id: int):
    section = get_section(section_id)
    form = SectionForm(obj=section if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            services.update_section(
                current_user,
                section,
                expected_revision=form.revision.data,
                title_en=form.title_en.data,
                title_fr=form.title_fr.data,
                content_note_en=form.content_note_en.data,
                content_note_fr=form.content_note_fr.data,
            )
        except services.EditConflict as conflict:
            return _details_conflict(form, section, "section", conflict)
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            db.session.commit()
            flash(_("The section is saved."), "success")
            return redirect(url_for("reports.section", section_id=section.id))
    return render_template(
        "reports/section_form.html", form=form, report=section.report, section=section
    ), _status()


@bp.post("/sections/<int:section_id>/move")
@roles(*EDITORIAL)
def move_section(section_id: int):
    section = get_section(section_id)
    offset = -1 if request.form.get("direction") == "up" else 1
    try:
        services.move_section(current_user, section, offset)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
    return redirect(
        url_for("reports.report", report_id=section.report_id) + f"#section-{section.id}"
    )


@bp.post("/sections/<int:section_id>/archive")
@roles(*EDITORIAL)
def archive_section(section_id: int):
    section = get_section(section_id)
    archive = request.form.get("archive") == "1"
    try:
        services.set_section_archived(current_user, section, archive)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(
            _("The section is archived. It stays readable and can be restored.")
            if archive
            else _("The section is restored."),
            "success",
        )
    return redirect(url_for("reports.section", section_id=section.id))


@bp.post("/sections/<int:section_id>/transition")
@roles(*EDITORIAL)
def transition(section_id: int):
    section = get_section(section_id)
    form = TransitionForm()
    try:
        target = SectionState(form.to_state.data or "")
    except ValueError:
        abort(400)
    if not form.validate():
        flash(_("Please keep the note under 500 characters."), "error")
        return redirect(url_for("reports.section", section_id=section.id))
    try:
        services.transition_section(current_user, section, target, form.note.data)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(_("The section is now “%(state)s”.", state=target.title), "success")
    return redirect(url_for("reports.section", section_id=section.id))


# Versions ----------------------------------------------------------------------------------


@bp.route("/sections/<int:section_id>/publish", methods=["GET", "POST"])
@roles(*EDITORIAL)
def publish(section_id: int):
    """Write, import, preview and publish the next version, all on one form."""
    section = get_section(section_id)
    latest = services.latest_version(section)
    form = PublishForm()
    if request.method == "GET":
        form.based_on.data = latest.number if latest else 0
        if latest:
            form.body_en.data = latest.body_en
            form.body_fr.data = latest.body_fr or ""
            _apply_suggestion(section, form, request.args.get("suggestion", type=int))
    previews = None
    if request.method == "POST" and form.validate():
        if form.import_document.data:
            _import_into(form)
        elif form.preview.data:
            previews = _previews(form)
        elif form.publish.data:
            if not (form.body_en.data or "").strip():
                form.body_en.errors.append(_("The English text is required."))
            else:
                try:
                    version = services.publish_version(
                        current_user,
                        section,
                        body_en=form.body_en.data,
                        body_fr=form.body_fr.data,
                        change_summary=form.change_summary.data,
                        based_on=form.based_on.data,
                        french_current=form.french_current.data,
                    )
                except services.EditConflict as conflict:
                    db.session.rollback()
                    return _version_conflict(section, form, conflict.message)
                except DomainError as error:
                    db.session.rollback()
                    form.body_en.errors.append(error.message)
                else:
                    _mark_suggestion_addressed(section, form.suggestion.data, version.number)
                    db.session.commit()
                    flash(_("Version %(number)d is published.", number=version.number), "success")
                    return redirect(url_for("reports.section", section_id=section.id))
    return render_template(
        "reports/publish.html",
        form=form,
        section=section,
        latest=latest,
        previews=previews,
        max_import_mb=MAX_IMPORT_BYTES // (1024 * 1024),
    ), 400 if form.errors else 200  # a preview or an import that worked is no bad request


def _suggestion(section: Section, annotation_id) -> object | None:
    from portal.review.models import Annotation, AnnotationKind, AnnotationState

    try:
        annotation = db.session.get(Annotation, int(annotation_id))
    except (TypeError, ValueError):
        return None
    if (
        annotation is None
        or annotation.section_id != section.id
        or annotation.kind is not AnnotationKind.SUGGESTION
        or annotation.state is AnnotationState.RESOLVED
    ):
        return None
    return annotation


def _apply_suggestion(section: Section, form: PublishForm, annotation_id: int | None) -> None:
    """Put a suggested rewording into the text box; the editor checks it and publishes."""
    from portal.review.services import apply_suggestion

    annotation = _suggestion(section, annotation_id) if annotation_id else None
    if annotation is None:
        return
    field = form.body_fr if annotation.language == "fr" else form.body_en
    rewritten = apply_suggestion(annotation, field.data or "")
    if rewritten is None:
        flash(
            _(
                "The passage could not be found exactly once in the text, so the rewording was "
                "not applied. Please apply it by hand: “%(words)s”.",
                words=annotation.replacement,
            ),
            "warning",
        )
        return
    field.data = rewritten
    form.suggestion.data = str(annotation.id)
    form.change_summary.data = _(
        "Applied a suggested rewording by %(name)s.", name=annotation.author.display_name
    )
    flash(
        _("The suggested rewording is applied in the text below. Check it, then publish."), "info"
    )


def _mark_suggestion_addressed(section: Section, annotation_id, number: int) -> None:
    from portal.review.services import mark_addressed

    annotation = _suggestion(section, annotation_id) if annotation_id else None
    if annotation is not None and annotation.state.value == "open":
        mark_addressed(current_user, annotation, number)


def _import_into(form: PublishForm) -> None:
    """Put an uploaded document's text into the chosen language's text box, losing nothing."""
    upload = form.document.data
    if not upload or not upload.filename:
        form.document.errors.append(_("Please choose a file to import."))
        return
    data = upload.read(MAX_IMPORT_BYTES + 1)
    try:
        markdown = import_document(upload.filename, data, max_bytes=MAX_IMPORT_BYTES)
    except ImportRefused as refused:
        form.document.errors.append(
            str(IMPORT_MESSAGES.get(refused.reason, IMPORT_MESSAGES["damaged"]))
        )
        return
    target = form.body_fr if form.document_language.data == "fr" else form.body_en
    target.data = markdown
    flash(_("The file is imported into the text below. Check it, then publish."), "success")


def _previews(form: PublishForm) -> dict[str, Markup]:
    previews = {"en": _rendered(form.body_en.data or "", "en-")}
    if (form.body_fr.data or "").strip():
        previews["fr"] = _rendered(form.body_fr.data, "fr-")
    return previews


def _version_conflict(section: Section, form: PublishForm, message: str):
    """Show what was published meanwhile next to the editor's text, which stays in the form."""
    latest = services.latest_version(section)
    form.based_on.data = latest.number if latest else 0
    return render_template(
        "reports/conflict_version.html",
        form=form,
        section=section,
        latest=latest,
        message=message,
        diff_en=word_diff(latest.body_en, form.body_en.data or "") if latest else None,
    ), 409


def _reading_language(default: str = "en") -> str:
    lang = request.args.get("lang", default)
    return lang if lang in ("en", "fr", "both") else default


@bp.get("/sections/<int:section_id>/read")
def read(section_id: int):
    """Read the latest version, or the one asked for; the content note comes first."""
    section = get_section(section_id)
    number = request.args.get("version", type=int)
    version = get_version(section, number) if number else services.latest_version(section)
    return _render_version(section, version)


@bp.get("/sections/<int:section_id>/versions/<int:number>")
def version(section_id: int, number: int):
    section = get_section(section_id)
    return _render_version(section, get_version(section, number))


def _render_version(section: Section, version: SectionVersion | None):
    from flask_babel import get_locale

    from portal.review import services as review
    from portal.review.models import AnnotationKind, AnnotationState

    lang = _reading_language(str(get_locale() or "en"))
    show_note = section.has_content_note and request.args.get("continue") != "1"
    latest = section.versions[-1] if section.versions else None
    is_latest = version is not None and latest is not None and version.id == latest.id
    can_annotate = is_latest and review.can_work_on(current_user, section)
    has_french = version is not None and bool(version.body("fr"))
    shown = (
        ["en", "fr"]
        if lang == "both" and has_french
        else (["fr"] if lang == "fr" and has_french else ["en"])
    )
    rendered = {}
    if version is not None and not show_note:
        for code in shown:
            if version.body(code):
                rendered[code] = _rendered_for_review(
                    section, version.body(code), code, can_annotate
                )
    comments, orphans, replies = None, [], {}
    if is_latest and not show_note:
        # A page of comments at a time, in the order of the text (a section may have a
        # thousand); `comment` asks for the page listing that one (links back from a thread).
        comments, orphans = review.reading_comments(
            current_user,
            section,
            shown,
            page=request.args.get("page", 1, type=int),
            around=request.args.get("comment", type=int),
        )
        replies = review.reply_counts([a.id for a in comments.items])
    # Built once, not once per comment (a section may have a thousand).
    reply_labels = {
        count: ngettext(
            "Open the thread (%(num)d reply)", "Open the thread (%(num)d replies)", count
        )
        for count in {0, *replies.values()}
    }
    assignment = None
    if current_user.role is Role.CONSULTANT:
        assignment = assignment_services.reading_assignment(current_user, section)
    continue_args = {**request.args.to_dict(), **(request.view_args or {}), "continue": 1}
    return render_template(
        "reports/read.html",
        continue_url=url_for(request.endpoint, **continue_args),
        section=section,
        version=version,
        versions=section.versions,
        rendered=rendered,
        shown=shown,
        lang=lang,
        show_note=show_note,
        assignment=assignment,
        is_latest=is_latest,
        can_annotate=can_annotate,
        can_decide=can_annotate and current_user.role is Role.CONSULTANT,
        comments=comments,
        # What the pager keeps of the address (not `comment`: the page number replaces it).
        comment_filters={
            key: value
            for key, value in {**request.args.to_dict(), "continue": 1}.items()
            if key in ("version", "lang", "continue")
        },
        orphans=orphans,
        replies=replies,
        reply_labels=reply_labels,
        kind_titles={kind: kind.title for kind in AnnotationKind},
        state_titles={state: state.title for state in AnnotationState},
        # "/annotations/<id>" without a url_for per comment: the prefix, then the id.
        thread_prefix=link_prefix("review.thread", "annotation_id"),
        media_items=media_services.items_of(section),
    )


def _rendered_for_review(section: Section, source: str, lang: str, controls: bool) -> Markup:
    """The sanitised text, with a "comment on this passage" link opening every block."""
    if not controls:
        return Markup(render_markdown(source, id_prefix=f"{lang}-").html)  # noqa: S704  (sanitised)
    from flask_babel import get_locale

    return _with_block_controls(section.id, source, lang, str(get_locale() or "en"))


@lru_cache(maxsize=32)
def _with_block_controls(section_id: int, source: str, lang: str, locale: str) -> Markup:
    """Kept for the next reading: versions never change, and the links depend only on these."""
    document = render_markdown(source, id_prefix=f"{lang}-")
    first_words = {block.id: block.text[:60] for block in document.blocks}
    template = Markup(
        '<a class="portal-annotate" href="{}"><span aria-hidden="true">✎</span>'
        '<span class="usa-sr-only">{}</span></a>'
    )

    def control(block_id: str) -> str:
        url = url_for("review.annotate", section_id=section_id, language=lang, block_id=block_id)
        label = _("Comment on this passage: %(words)s", words=first_words.get(block_id, ""))
        return str(template.format(url, label))

    return Markup(add_block_controls(document.html, control))  # noqa: S704  (sanitised by nh3)


@bp.get("/sections/<int:section_id>/compare")
def compare(section_id: int):
    """A word-level comparison of two versions, in one language."""
    section = get_section(section_id)
    versions = section.versions
    if len(versions) < 2:
        flash(_("There is only one version so far, so there is nothing to compare."), "info")
        return redirect(url_for("reports.read", section_id=section.id, **{"continue": 1}))
    old_number = request.args.get("from", type=int) or versions[-2].number
    new_number = request.args.get("to", type=int) or versions[-1].number
    lang = request.args.get("lang", "en")
    if lang not in ("en", "fr"):
        lang = "en"
    old, new = get_version(section, old_number), get_version(section, new_number)
    segments = word_diff(old.body(lang) or "", new.body(lang) or "")
    inserted, deleted = change_counts(segments)
    return render_template(
        "reports/compare.html",
        section=section,
        versions=versions,
        old=old,
        new=new,
        lang=lang,
        segments=segments,
        inserted=inserted,
        deleted=deleted,
    )
