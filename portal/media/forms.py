"""Photo, narrative, consent, checklist and sign-off forms: they validate and never persist."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from portal.forms import strip_whitespace
from portal.media.models import SIGN_OFF_TITLES, Answer, SignOffDecision
from portal.media.services import DECISIONS, MAX_NOTE, MAX_REASONS


def _length(count: int):
    return Length(max=count, message=_l("Please use at most %(count)d characters.", count=count))


def _required_text(label, missing, count: int, description=None, area: bool = False):
    field = TextAreaField if area else StringField
    return field(
        label,
        description=description,
        validators=[DataRequired(message=missing), _length(count)],
        filters=[strip_whitespace],
    )


def _optional_text(label, count: int, description=None, area: bool = False):
    field = TextAreaField if area else StringField
    return field(
        label,
        description=description,
        validators=[Optional(), _length(count)],
        filters=[strip_whitespace],
    )


CONTENT_NOTE_HINT = _l(
    "Shown before the item, so reviewers can choose when to look. Photos with a note stay "
    "blurred until the reviewer chooses to show them. Leave empty if none is needed."
)


class _ContentNote:
    content_note_en = _optional_text(
        _l("Content note in English"), 1000, description=CONTENT_NOTE_HINT, area=True
    )
    content_note_fr = _optional_text(_l("Content note in French"), 1000, area=True)


class PhotoForm(_ContentNote, FlaskForm):
    image = FileField(_l("Photo file"))
    caption_en = _required_text(
        _l("Caption in English"), _l("Please write a caption in English."), 1000, area=True
    )
    caption_fr = _required_text(
        _l("Caption in French"), _l("Please write a caption in French."), 1000, area=True
    )
    alt_en = _required_text(
        _l("Alt text in English"),
        _l("Please describe the photo for people who cannot see it, in English."),
        500,
        description=_l("What the photo shows, for people who use a screen reader."),
    )
    alt_fr = _required_text(
        _l("Alt text in French"),
        _l("Please describe the photo for people who cannot see it, in French."),
        500,
    )
    credit = _required_text(
        _l("Credit"), _l("Please give the photo's credit (who took or made it)."), 300
    )
    provenance = _required_text(
        _l("Source and provenance"),
        _l("Please say where the photo comes from."),
        1000,
        description=_l("Where the photo comes from, and on what terms it may be used."),
        area=True,
    )
    staged = BooleanField(_l("This photo is staged or re-enacted"))
    identifiable = BooleanField(
        _l("It shows a person who could be recognised"),
        description=_l("Then consent from each person is needed before it can be approved."),
    )
    change_summary = _optional_text(_l("What changed (optional)"), 500)
    revision = HiddenField()


class NarrativeForm(_ContentNote, FlaskForm):
    title_en = _required_text(_l("Title in English"), _l("Please enter a title in English."), 200)
    title_fr = _optional_text(_l("Title in French (optional)"), 200)
    body_en = _required_text(
        _l("Story in English"),
        _l("Please write the story in English."),
        100_000,
        description=_l("Markdown: blank lines between paragraphs, **bold**, *italics*, > quotes."),
        area=True,
    )
    body_fr = _optional_text(_l("Story in French (optional)"), 100_000, area=True)
    change_summary = _optional_text(_l("What changed (optional)"), 500)
    revision = HiddenField()


class ConsentForm(FlaskForm):
    given_by = _required_text(
        _l("Consent given by"),
        _l("Please say who gave consent."),
        200,
        description=_l(
            "A name or a reference. Reviewers see it: use a reference or a pseudonym if the "
            "person's name should not be shown."
        ),
    )
    given_on = DateField(
        _l("Date consent was given"),
        validators=[InputRequired(message=_l("Please give the date consent was given."))],
    )
    scope = _required_text(
        _l("Scope"),
        _l("Please describe where and how the item may be used."),
        2000,
        description=_l("Where and how it may be used (for example: the 2027 report, online)."),
        area=True,
    )
    uses_allowed = IntegerField(
        _l("How many times it may be used (optional)"),
        validators=[
            Optional(),
            NumberRange(min=1, max=1000, message=_l("Please enter a number from 1 to 1000.")),
        ],
    )
    expires_on = DateField(
        _l("Expires on (optional)"),
        description=_l(
            "At most three years after the date consent was given; left empty, it is three years."
        ),
        validators=[Optional()],
    )
    # Checked by the view against the item's own records (absent when there are none).
    replaces = SelectField(
        _l("This renews an earlier consent (optional)"), choices=[], validate_choice=False
    )


def _decision_choices():
    return [SelectChoice(d.value, SIGN_OFF_TITLES[d]) for d in DECISIONS]


ANSWER_CHOICES = [
    SelectChoice(Answer.MEETS.value, _l("Meets")),
    SelectChoice(Answer.DOES_NOT_MEET.value, _l("Does not meet")),
    SelectChoice(Answer.NOT_APPLICABLE.value, _l("Not applicable")),
]


class SignOffForm(FlaskForm):
    decision = RadioField(
        _l("Your decision"),
        choices=_decision_choices(),
        validators=[InputRequired(message=_l("Please choose a decision."))],
    )
    reasons = _optional_text(
        _l("Changes or reasons"),
        MAX_REASONS,
        description=_l(
            "Required for “Approve with changes” (the changes) and “Not approved” (the reasons)."
        ),
        area=True,
    )
    version_number = HiddenField()
    submission_key = HiddenField()

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if (
            self.decision.data
            and self.decision.data != SignOffDecision.APPROVE.value
            and not self.reasons.data
        ):
            self.reasons.errors = [
                *list(self.reasons.errors),
                _l("Please say what should change, or why it is not approved."),
            ]
            return False
        return valid


def sign_off_form(criteria) -> SignOffForm:
    """The decision form with one answer and one note per checklist criterion."""

    class Form(SignOffForm):
        def validate(self, extra_validators=None) -> bool:
            valid = super().validate(extra_validators)
            # A "does not meet" needs its note: said at that note.
            for criterion in criteria:
                note = self[f"note_{criterion.id}"]
                if self[f"answer_{criterion.id}"].data == Answer.DOES_NOT_MEET.value and not (
                    note.data
                ):
                    note.errors = [
                        *note.errors,
                        _l("Please say briefly why this point is not met."),
                    ]
                    valid = False
            return valid

    for criterion in criteria:
        setattr(
            Form,
            f"answer_{criterion.id}",
            RadioField(
                _l("Your answer"),
                choices=ANSWER_CHOICES,
                validators=[InputRequired(message=_l("Please answer this point."))],
            ),
        )
        setattr(Form, f"note_{criterion.id}", _optional_text(_l("Note"), MAX_NOTE, area=True))
    return Form()


def _percent(label, field_id: str, minimum: float, message):
    """A position or size in percent of the photo (the region editor fills it by mouse)."""
    return DecimalField(
        label,
        id=field_id,
        places=1,
        validators=[
            InputRequired(message=message),
            NumberRange(min=minimum, max=100, message=message),
        ],
    )


POSITION = _l("Please give a number from 0 to 100.")
SIZE = _l("Please give a number from 0.1 to 100.")


class RegionForm(FlaskForm):
    x = _percent(_l("From the left (%)"), "region-x", 0, POSITION)
    y = _percent(_l("From the top (%)"), "region-y", 0, POSITION)
    width = _percent(_l("Width (%)"), "region-width", 0.1, SIZE)
    height = _percent(_l("Height (%)"), "region-height", 0.1, SIZE)
    note = _required_text(
        _l("Your note on this area"),
        _l("Please write a note for the marked area."),
        MAX_NOTE,
        area=True,
    )
    submission_key = HiddenField()

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if valid and (self.x.data + self.width.data > 100 or self.y.data + self.height.data > 100):
            self.width.errors = [
                *list(self.width.errors),
                _l("The area goes past the edge of the photo; please make it smaller."),
            ]
            return False
        return valid


class CriterionForm(FlaskForm):
    text_en = _required_text(
        _l("Criterion in English"), _l("Please write the criterion in English."), 1000, area=True
    )
    text_fr = _required_text(
        _l("Criterion in French"), _l("Please write the criterion in French."), 1000, area=True
    )
    sources = _optional_text(
        _l("Sources (optional)"),
        1000,
        description=_l("The guidance this criterion comes from, shown to reviewers."),
    )
