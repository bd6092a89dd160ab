"""The audit trail's filter form: it validates input and never persists."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField
from wtforms.validators import Length, Optional


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter changes nothing

    action = StringField(
        _l("Action starts with"),
        description=_l("For example “account.” or “assignment.decline”."),
        validators=[
            Optional(),
            Length(max=64, message=_l("Please use at most %(count)d characters.", count=64)),
        ],
    )
    actor = SelectField(_l("Who"), choices=[], validators=[Optional()])
    object_type = StringField(
        _l("Object type"),
        validators=[
            Optional(),
            Length(max=40, message=_l("Please use at most %(count)d characters.", count=40)),
        ],
    )
    since = DateField(_l("From"), validators=[Optional()], format="%Y-%m-%d")
    until = DateField(_l("Until (inclusive)"), validators=[Optional()], format="%Y-%m-%d")
