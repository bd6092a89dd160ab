"""Review forms: they validate input and never persist."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, RadioField, SelectChoice, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from portal.forms import strip_whitespace
from portal.review.models import DECISION_TITLES, AnnotationKind
from portal.review.services import MAX_COMMENT


def _text(label, *, required: bool, description=None, missing=None):
    validators = [
        Length(
            max=MAX_COMMENT,
            message=_l("Please use at most %(count)d characters.", count=MAX_COMMENT),
        )
    ]
    validators.insert(0, InputRequired(message=missing) if required else Optional())
    return TextAreaField(
        label, description=description, validators=validators, filters=[strip_whitespace]
    )


class AnnotationForm(FlaskForm):
    kind = RadioField(
        _l("Kind"),
        choices=[
            SelectChoice(
                AnnotationKind.COMMENT.value,
                _l("Comment"),
            ),
            SelectChoice(AnnotationKind.SUGGESTION.value, _l("Suggested rewording")),
            SelectChoice(
                AnnotationKind.CONCERN.value,
                _l("Concern: harmful, inaccurate or identifying content"),
            ),
        ],
        default=AnnotationKind.COMMENT.value,
        validators=[InputRequired(message=_l("Please choose what kind of note this is."))],
    )
    body = _text(
        _l("Your comment"),
        required=True,
        missing=_l("Please write your comment."),
    )
    replacement = _text(
        _l("Suggested wording (for a suggested rewording)"),
        required=False,
        description=_l("The words you would put instead of the passage."),
    )
    language = HiddenField()
    submission_key = HiddenField()
    block_id = HiddenField()
    start = HiddenField()
    end = HiddenField()

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        # Said at the wording's own field (Optional() ends its validation when it is empty).
        if self.kind.data == AnnotationKind.SUGGESTION.value and not self.replacement.data:
            self.replacement.errors.append(_l("Please write the rewording you suggest."))
            return False
        return valid


class ReplyForm(FlaskForm):
    body = _text(_l("Your reply"), required=True, missing=_l("Please write your reply."))
    submission_key = HiddenField()


class AddressedForm(FlaskForm):
    version_number = IntegerField(
        _l("Addressed in version"),
        validators=[InputRequired(message=_l("Please give the version number."))],
    )


class DecisionForm(FlaskForm):
    decision = RadioField(
        _l("Your decision"),
        choices=[SelectChoice(value.value, title) for value, title in DECISION_TITLES.items()],
        validators=[InputRequired(message=_l("Please choose a decision."))],
    )
    summary = _text(
        _l("Summary"),
        required=False,
        description=_l(
            "Required for “Approve with changes” and “Changes requested”: what should change."
        ),
    )
    version_number = HiddenField()
    submission_key = HiddenField()
