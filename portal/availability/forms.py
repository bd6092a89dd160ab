"""The form for recording time away: it validates input and never persists."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from portal.availability.models import MAX_NOTE
from portal.forms import strip_whitespace

DATE_FORMAT_MESSAGE = _l("Please enter the date as year-month-day, for example 2027-03-17.")


class AwayPeriodForm(FlaskForm):
    # No consultant field: the period is always the signed-in person's own (security.md Z4).
    starts_on = DateField(
        _l("First day away"),
        validators=[InputRequired(message=_l("Please choose the first day you are away."))],
        invalid_value_message=DATE_FORMAT_MESSAGE,
    )
    ends_on = DateField(
        _l("Last day away"),
        description=_l("You are away on this day too. The same day as the first is fine."),
        validators=[InputRequired(message=_l("Please choose the last day you are away."))],
        invalid_value_message=DATE_FORMAT_MESSAGE,
    )
    note = TextAreaField(
        _l("Note for the editors (optional)"),
        description=_l(
            "The editors see this note, for example who to contact meanwhile. You do not need "
            "to give a reason for being away."
        ),
        validators=[
            Optional(),
            Length(
                max=MAX_NOTE,
                message=_l("Please use at most %(count)d characters.", count=MAX_NOTE),
            ),
        ],
        filters=[strip_whitespace],
    )
    submit = SubmitField(_l("Save my time away"))
