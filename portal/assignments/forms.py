"""Assignment forms: they validate input and never persist."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, RadioField, SelectChoice, SelectField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from portal.forms import strip_whitespace
from portal.models import utcnow


def _optional_text(label, max_length: int, description=None, field_id=None):
    return TextAreaField(
        label,
        description=description,
        id=field_id,
        validators=[
            Optional(),
            Length(
                max=max_length,
                message=_l("Please use at most %(count)d characters.", count=max_length),
            ),
        ],
        filters=[strip_whitespace],
    )


def _date_field(label, description=None, required=True):
    return DateField(
        label,
        description=description,
        validators=[InputRequired(message=_l("Please choose a date."))]
        if required
        else [Optional()],
        format="%Y-%m-%d",
    )


class AssignForm(FlaskForm):
    consultant = SelectField(
        _l("Consultant"),
        choices=[],
        validators=[InputRequired(message=_l("Please choose a consultant."))],
    )
    due_on = _date_field(_l("Due date"))
    instructions_en = _optional_text(
        _l("Instructions in English (optional)"),
        2000,
        _l("What you would like the consultant to look at. They see this with the offer."),
    )
    instructions_fr = _optional_text(_l("Instructions in French (optional)"), 2000)
    submit = SubmitField(_l("Offer the section"))

    def validate_due_on(self, field):
        # The service refuses it too; checked here so the message sits on the date field.
        if field.data is not None and field.data < utcnow().date():
            raise ValidationError(_l("The due date cannot be in the past."))


class DeclineForm(FlaskForm):
    reason = _optional_text(
        _l("Reason (optional)"),
        1000,
        _l("You do not have to give a reason. If you do, only the editors see it."),
        # Both forms of the consultant's page have a "reason": distinct ids tie each label to
        # its own box.
        field_id="decline-reason",
    )
    submit = SubmitField(_l("Decline"))


class ExtensionRequestForm(FlaskForm):
    until = _date_field(_l("New due date you would like"))
    reason = _optional_text(
        _l("Anything the editors should know (optional)"), 1000, field_id="extension-reason"
    )
    submit = SubmitField(_l("Ask for more time"))

    def validate_until(self, field):
        # Work already overdue: a new date that is past too would leave it overdue.
        if field.data is not None and field.data < utcnow().date():
            raise ValidationError(_l("Please choose a date from today on."))


class ExtensionAnswerForm(FlaskForm):
    decision = RadioField(
        _l("Answer"),
        choices=[
            SelectChoice("grant", _l("Grant more time")),
            SelectChoice("refuse", _l("Keep the current due date")),
        ],
        validators=[InputRequired(message=_l("Please choose an answer."))],
    )
    new_due_on = _date_field(
        _l("New due date"),
        _l("Leave empty to grant the date the consultant asked for."),
        required=False,
    )
    submit = SubmitField(_l("Send answer"))
