"""Admins manage the photo and narrative checklists (criteria are retired, never lost)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.accounts.models import Role
from portal.errors import DomainError
from portal.extensions import db
from portal.media import bp, services
from portal.media.forms import CriterionForm
from portal.media.models import ChecklistCriterion, ItemKind
from portal.security import roles


def _kind(value: str) -> ItemKind:
    try:
        return ItemKind(value)
    except ValueError:
        abort(404)


def _criterion(criterion_id: int) -> ChecklistCriterion:
    criterion = db.session.get(ChecklistCriterion, criterion_id)
    if criterion is None:
        abort(404)
    return criterion


@bp.get("/admin/checklists")
@roles(Role.ADMIN)
def checklists():
    lists = []
    for kind in ItemKind:
        rows = services.criteria(kind, include_retired=True)
        lists.append((kind, [(c, services.criterion_used(c)) for c in rows]))
    return render_template("media/checklists.html", lists=lists)


@bp.route("/admin/checklists/<kind>/new", methods=["GET", "POST"])
@roles(Role.ADMIN)
def new_criterion(kind: str):
    item_kind = _kind(kind)
    form = CriterionForm()
    if form.validate_on_submit():
        services.add_criterion(
            current_user,
            item_kind,
            text_en=form.text_en.data,
            text_fr=form.text_fr.data,
            sources=form.sources.data,
        )
        db.session.commit()
        flash(_("The criterion is added."), "success")
        return redirect(url_for("media.checklists"))
    return render_template(
        "media/criterion_form.html", form=form, kind=item_kind, criterion=None
    ), (200 if request.method == "GET" else 400)


@bp.route("/admin/checklists/criteria/<int:criterion_id>/edit", methods=["GET", "POST"])
@roles(Role.ADMIN)
def edit_criterion(criterion_id: int):
    criterion = _criterion(criterion_id)
    form = CriterionForm(obj=criterion if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            services.update_criterion(
                current_user,
                criterion,
                text_en=form.text_en.data,
                text_fr=form.text_fr.data,
                sources=form.sources.data,
            )
        except DomainError as error:
            db.session.rollback()
            form.text_en.errors = [*form.text_en.errors, error.message]
        else:
            db.session.commit()
            flash(_("The criterion is saved."), "success")
            return redirect(url_for("media.checklists"))
    return render_template(
        "media/criterion_form.html",
        form=form,
        kind=criterion.kind,
        criterion=criterion,
        used=services.criterion_used(criterion),
    ), (200 if request.method == "GET" else 400)


@bp.post("/admin/checklists/criteria/<int:criterion_id>/retire")
@roles(Role.ADMIN)
def retire_criterion(criterion_id: int):
    criterion = _criterion(criterion_id)
    retire = request.form.get("retired") != "0"
    services.retire_criterion(current_user, criterion, retire)
    db.session.commit()
    flash(
        _("The criterion is retired: it is no longer asked, and past answers are kept.")
        if retire
        else _("The criterion is in use again."),
        "success",
    )
    return redirect(url_for("media.checklists"))


@bp.post("/admin/checklists/criteria/<int:criterion_id>/delete")
@roles(Role.ADMIN)
def delete_criterion(criterion_id: int):
    criterion = _criterion(criterion_id)
    try:
        services.delete_criterion(current_user, criterion)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(_("The criterion is deleted."), "success")
    return redirect(url_for("media.checklists"))
