"""Time record forms: they validate input and never persist."""

from __future__ import annotations

from datetime import date

from flask_babel import format_date
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)
from wtforms.widgets import TextInput

from portal.forms import strip_whitespace
from portal.timesheets.models import ACTIVITY_TITLES, MAX_MINUTES
from portal.timesheets.services import MAX_NOTE, MAX_QUESTION, allowed_days


def _length(count: int):
    return Length(max=count, message=_l("Please use at most %(count)d characters.", count=count))


def _whole_number(label, maximum: int, message, description=None):
    """A count typed as digits (a text box with a number keypad: number inputs misbehave with
    screen readers and scroll wheels). Empty counts as 0."""
    return IntegerField(
        label,
        description=description,
        widget=TextInput(),
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
        invalid_value_message=message,
        validators=[Optional(), NumberRange(min=0, max=maximum, message=message)],
    )


HOURS_MESSAGE = _l("Please enter the hours as a whole number from 0 to 24.")
MINUTES_MESSAGE = _l("Please enter the minutes as a whole number from 0 to 59.")


class TimeRecordForm(FlaskForm):
    # Choices: the consultant's own assignments, set by the view; anything else is refused here
    # with a clear message, and again by the service.
    assignment = SelectField(
        _l("Assignment"),
        choices=[],
        validate_choice=False,
        validators=[InputRequired(message=_l("Please choose the assignment you worked on."))],
    )
    worked_on = DateField(
        _l("Date"),
        format="%Y-%m-%d",
        invalid_value_message=_l("Please enter a date, for example 2026-05-31."),
        validators=[InputRequired(message=_l("Please enter the date you did this work."))],
    )
    hours = _whole_number(_l("Hours"), 24, HOURS_MESSAGE)
    minutes = _whole_number(_l("Minutes"), 59, MINUTES_MESSAGE)
    activity = RadioField(
        _l("What you did"),
        choices=[
            SelectChoice(activity.value, title) for activity, title in ACTIVITY_TITLES.items()
        ],
        validators=[InputRequired(message=_l("Please choose what you did."))],
    )
    note = TextAreaField(
        _l("Note (optional)"),
        description=_l(
            "Anything the editors should know about this time. Only the editors who check time "
            "records see it."
        ),
        validators=[Optional(), _length(MAX_NOTE)],
        filters=[strip_whitespace],
    )
    revision = HiddenField()
    # When changing a record: its saved date, accepted as it is even if now over a year ago.
    kept_date: date | None = None

    @property
    def total_minutes(self) -> int:
        return (self.hours.data or 0) * 60 + (self.minutes.data or 0)

    def validate_assignment(self, field):
        if field.data not in {value for value, _label in field.choices if value}:
            raise ValidationError(
                _l("Please choose one of your assignments that you have accepted.")
            )

    def validate_worked_on(self, field):
        # The service refuses these too; checked here so the message sits on the date field.
        if field.data is None:
            return
        earliest, latest = allowed_days()
        if field.data > latest:
            raise ValidationError(_l("The date cannot be in the future."))
        if field.data < earliest and field.data != self.kept_date:
            raise ValidationError(
                _l(
                    "Time can be recorded for the past year only: please choose a date from "
                    "%(date)s on.",
                    date=format_date(earliest, "long"),
                )
            )

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if self.hours.errors or self.minutes.errors:
            return False
        if self.total_minutes < 1:
            self.hours.errors = [
                *self.hours.errors,
                _l("Please enter the time you spent: at least 1 minute."),
            ]
            return False
        if self.total_minutes > MAX_MINUTES:
            self.hours.errors = [*self.hours.errors, _l("One record can be at most 24 hours.")]
            return False
        return valid


class RevisionForm(FlaskForm):
    """Approve, delete: the revision the person saw, and where to go back to."""

    revision = HiddenField()
    next = HiddenField()


class QueryForm(FlaskForm):
    question = TextAreaField(
        _l("Your question for the consultant"),
        description=_l(
            "The consultant sees it with the record, and can change the record or answer in its "
            "note. Please keep it to what you need to know about this time."
        ),
        validators=[
            DataRequired(message=_l("Please write your question for the consultant.")),
            _length(MAX_QUESTION),
        ],
        filters=[strip_whitespace],
    )
    revision = HiddenField()
    next = HiddenField()
