"""A consultant's own page for the days they are away: list, add, remove."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.accounts.models import Role
from portal.availability import bp, services
from portal.availability.forms import AwayPeriodForm
from portal.availability.models import AwayPeriod
from portal.extensions import db
from portal.models import utcnow
from portal.security import roles


def get_own_period(away_period_id: int) -> AwayPeriod:
    """The signed-in person's own period; anyone else's is 404, like one that does not exist."""
    period = db.session.get(AwayPeriod, away_period_id)
    if period is None or not period.belongs_to(current_user):
        abort(404)
    return period


@bp.route("/account/availability", methods=["GET", "POST"])
@roles(Role.CONSULTANT)
def periods():
    """The consultant's current and coming time away, and the form to add some."""
    form = AwayPeriodForm()
    if form.validate_on_submit():
        try:
            services.add_period(
                current_user,
                starts_on=form.starts_on.data,
                ends_on=form.ends_on.data,
                note=form.note.data,
            )
        except services.AwayPeriodRefused as error:
            db.session.rollback()
            getattr(form, error.field).errors.append(error.message)
        else:
            db.session.commit()
            flash(
                _("Your time away is saved. The editors see it when they offer you work."),
                "success",
            )
            return redirect(url_for("availability.periods"))
    return render_template(
        "availability/periods.html",
        form=form,
        periods=services.periods_of(current_user),
        today=utcnow().date(),
    ), (200 if request.method == "GET" else 400)


@bp.post("/account/availability/<int:away_period_id>/remove")
@roles(Role.CONSULTANT)
def remove(away_period_id: int):
    period = get_own_period(away_period_id)
    services.remove_period(current_user, period)
    db.session.commit()
    flash(_("That time away is removed."), "success")
    return redirect(url_for("availability.periods"))
