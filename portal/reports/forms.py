"""Report, section and version forms: they validate input and never persist."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from portal.forms import strip_whitespace

MAX_BODY = 200_000


def _title_fields():
    english = StringField(
        _l("Title in English"),
        validators=[
            # DataRequired, not InputRequired: it looks at the text once stripped, so a title of
            # spaces only is refused rather than saved empty.
            DataRequired(message=_l("Please enter a title in English.")),
            Length(max=200, message=_l("A title has at most 200 characters.")),
        ],
        filters=[strip_whitespace],
    )
    french = StringField(
        _l("Title in French (optional)"),
        validators=[
            Optional(),
            Length(max=200, message=_l("A title has at most 200 characters.")),
        ],
        filters=[strip_whitespace],
    )
    return english, french


def _long_text(label, max_length: int = 5000, description=None):
    return TextAreaField(
        label,
        description=description,
        validators=[
            Optional(),
            Length(
                max=max_length,
                message=_l("Please use at most %(count)d characters.", count=max_length),
            ),
        ],
        filters=[strip_whitespace],
    )


class RevisionField(HiddenField):
    """The revision the form was loaded from, so a stale save is detected (security.md R2)."""

    def process_formdata(self, valuelist):
        try:
            self.data = int(valuelist[0]) if valuelist else 0
        except ValueError:
            self.data = 0


class ReportForm(FlaskForm):
    title_en, title_fr = _title_fields()
    year = IntegerField(
        _l("Year"),
        validators=[
            InputRequired(message=_l("Please enter the report's year.")),
            NumberRange(min=2000, max=2100, message=_l("Please enter a year such as 2027.")),
        ],
    )
    description_en = _long_text(_l("Description in English (optional)"))
    description_fr = _long_text(_l("Description in French (optional)"))
    revision = RevisionField()
    submit = SubmitField(_l("Save report"))


class SectionForm(FlaskForm):
    title_en, title_fr = _title_fields()
    content_note_en = _long_text(
        _l("Content note in English (optional)"),
        1000,
        _l(
            "If the section describes harm or other sensitive material, say so briefly. "
            "Consultants see this note first and choose whether to open the text."
        ),
    )
    content_note_fr = _long_text(_l("Content note in French (optional)"), 1000)
    revision = RevisionField()
    submit = SubmitField(_l("Save section"))


class PublishForm(FlaskForm):
    body_en = TextAreaField(
        _l("Text in English (Markdown)"),
        validators=[
            Length(
                max=MAX_BODY,
                message=_l("Please use at most %(count)d characters.", count=MAX_BODY),
            )
        ],
    )
    body_fr = TextAreaField(
        _l("Text in French (Markdown, optional)"),
        validators=[
            Length(
                max=MAX_BODY,
                message=_l("Please use at most %(count)d characters.", count=MAX_BODY),
            )
        ],
    )
    french_current = BooleanField(_l("The French text matches this English text"))
    change_summary = StringField(
        _l("What changed (optional)"),
        description=_l("A short note for reviewers, such as “Shortened the second paragraph”."),
        validators=[
            Optional(),
            Length(max=500, message=_l("Please use at most %(count)d characters.", count=500)),
        ],
        filters=[strip_whitespace],
    )
    document = FileField(_l("Import a file"))
    document_language = RadioField(
        _l("Language of the file"),
        choices=[SelectChoice("en", _l("English")), SelectChoice("fr", _l("French"))],
        default="en",
        validators=[Optional()],
    )
    based_on = RevisionField()
    # The suggested rewording this version applies, if any: it is marked addressed on publish.
    suggestion = HiddenField()
    import_document = SubmitField(_l("Import into the text"))
    preview = SubmitField(_l("Preview"))
    publish = SubmitField(_l("Publish version"))


class TransitionForm(FlaskForm):
    to_state = HiddenField()
    note = StringField(
        _l("Note (optional)"),
        validators=[
            Optional(),
            Length(max=500, message=_l("Please use at most %(count)d characters.", count=500)),
        ],
        filters=[strip_whitespace],
    )


class MatrixFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter changes nothing

    q = StringField(
        _l("Section title"),
        validators=[
            Optional(),
            Length(max=100, message=_l("Please use a shorter search (100 characters at most).")),
        ],
    )
    state = SelectField(_l("Assignment state"), choices=[], validators=[Optional()])
    consultant = SelectField(_l("Consultant"), choices=[], validators=[Optional()])
    overdue = BooleanField(_l("Only overdue"))
