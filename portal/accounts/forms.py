"""Account forms: they validate input and never persist."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    EqualTo,
    InputRequired,
    Length,
    Optional,
    ValidationError,
)

from portal.accounts.models import LOCALES, ROLE_TITLES, Role
from portal.accounts.passwords import MAX_LENGTH
from portal.forms import strip_whitespace


def _locale_choices() -> list[SelectChoice]:
    return [SelectChoice(code, name, render_kw={"lang": code}) for code, name in LOCALES.items()]


def _role_choices() -> list[SelectChoice]:
    return [SelectChoice(role.value, ROLE_TITLES[role]) for role in Role]


class NewPasswordPolicy:
    """WTForms validator applying the password policy (security.md S5)."""

    def __call__(self, form, field) -> None:
        from portal.accounts.services import password_problem

        problem = password_problem(field.data or "")
        if problem:
            raise ValidationError(problem)


def _email_field(label=None):
    return EmailField(
        label or _l("E-mail address"),
        validators=[
            InputRequired(message=_l("Please enter your e-mail address.")),
            Length(max=254, message=_l("An e-mail address has at most 254 characters.")),
            Email(
                check_deliverability=False,
                message=_l("Please enter an e-mail address like name@example.org."),
            ),
        ],
        # Addresses are often pasted with a stray space; the services trim them anyway.
        filters=[strip_whitespace],
        render_kw={"autocomplete": "email", "spellcheck": "false"},
    )


def _display_name_field():
    return StringField(
        _l("Display name"),
        description=_l(
            "The name others in the portal see. A pseudonym is fine; it does not need to be your "
            "legal name."
        ),
        validators=[
            # DataRequired, not InputRequired: it sees the stripped value, so "   " is refused.
            DataRequired(message=_l("Please enter a display name.")),
            Length(max=80, message=_l("A display name has at most 80 characters.")),
        ],
        filters=[strip_whitespace],
    )


def _current_password_field(label, missing_message):
    return PasswordField(
        label,
        validators=[
            InputRequired(message=missing_message),
            Length(max=MAX_LENGTH, message=_l("That password is too long.")),
        ],
        render_kw={"autocomplete": "current-password"},
    )


def _legal_name_field():
    return StringField(
        _l("Legal name (optional)"),
        description=_l("Seen by administrators only, for contracts and payment."),
        validators=[
            Optional(),
            Length(max=200, message=_l("A legal name has at most 200 characters.")),
        ],
        filters=[strip_whitespace],
    )


def _new_password_fields():
    new = PasswordField(
        _l("New password"),
        description=_l(
            "At least 12 characters. A few unrelated words make a strong, memorable password."
        ),
        validators=[InputRequired(message=_l("Please choose a password.")), NewPasswordPolicy()],
        render_kw={"autocomplete": "new-password", "maxlength": MAX_LENGTH},
    )
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[
            InputRequired(message=_l("Please type the password a second time.")),
            EqualTo("password", message=_l("The two passwords are not the same.")),
        ],
        render_kw={"autocomplete": "new-password", "maxlength": MAX_LENGTH},
    )
    return new, confirm


class LoginForm(FlaskForm):
    email = EmailField(
        _l("E-mail address"),
        validators=[
            InputRequired(message=_l("Please enter your e-mail address.")),
            Length(max=254, message=_l("An e-mail address has at most 254 characters.")),
        ],
        render_kw={"autocomplete": "username", "spellcheck": "false"},
    )
    password = _current_password_field(_l("Password"), _l("Please enter your password."))
    submit = SubmitField(_l("Sign in"))


class SecondFactorForm(FlaskForm):
    code = StringField(
        _l("Code"),
        description=_l(
            "The 6-digit code from your authenticator app, or one of your recovery codes."
        ),
        validators=[
            InputRequired(message=_l("Please enter a code.")),
            Length(max=40, message=_l("That code is too long.")),
        ],
        render_kw={"autocomplete": "one-time-code", "inputmode": "text", "spellcheck": "false"},
    )
    submit = SubmitField(_l("Continue"))


class SetPasswordForm(FlaskForm):
    password, confirm = _new_password_fields()
    submit = SubmitField(_l("Save password"))


class AccountForm(FlaskForm):
    display_name = _display_name_field()
    locale = RadioField(_l("Language"), choices=_locale_choices(), default="en")
    submit = SubmitField(_l("Save changes"))


class ChangePasswordForm(FlaskForm):
    current_password = _current_password_field(
        _l("Current password"), _l("Please enter your current password.")
    )
    password, confirm = _new_password_fields()
    submit = SubmitField(_l("Change password"))


class ConfirmSecondFactorForm(FlaskForm):
    code = StringField(
        _l("Code from your app"),
        validators=[
            InputRequired(message=_l("Please enter the 6-digit code.")),
            Length(max=20, message=_l("That code is too long.")),
        ],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )
    submit = SubmitField(_l("Turn on the second factor"))


class PasswordConfirmForm(FlaskForm):
    """Re-enter the password before a sensitive change to the second factor."""

    current_password = _current_password_field(
        _l("Current password"), _l("Please enter your current password.")
    )
    submit = SubmitField(_l("Confirm"))


class InviteForm(FlaskForm):
    email = _email_field()
    display_name = _display_name_field()
    legal_name = _legal_name_field()
    role = RadioField(
        _l("Role"),
        choices=_role_choices(),
        default=Role.CONSULTANT.value,
        validators=[InputRequired(message=_l("Please choose a role."))],
    )
    locale = RadioField(
        _l("Language for their e-mails and pages"),
        choices=_locale_choices(),
        default="en",
        validators=[InputRequired(message=_l("Please choose a language."))],
    )
    submit = SubmitField(_l("Create invitation"))


class ChangeRoleForm(FlaskForm):
    role = SelectField(
        _l("Role"),
        choices=_role_choices(),
        validators=[InputRequired(message=_l("Please choose a role."))],
    )
    submit = SubmitField(_l("Change role"))


class ActionForm(FlaskForm):
    """A button-only form: the CSRF token is its only field."""


class AccountFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search form changes nothing

    q = StringField(
        _l("Search"),
        validators=[
            Optional(),
            Length(max=100, message=_l("Please use a shorter search (100 characters at most).")),
        ],
    )
    role = SelectField(
        _l("Role"),
        choices=[SelectChoice("", _l("All roles")), *_role_choices()],
        validators=[Optional()],
    )
    status = SelectField(
        _l("Status"),
        choices=[
            SelectChoice("", _l("All")),
            SelectChoice("active", _l("Active")),
            SelectChoice("pending", _l("Invitation pending")),
            SelectChoice("deactivated", _l("Deactivated")),
        ],
        validators=[Optional()],
    )


class ForgotPasswordForm(FlaskForm):
    email = _email_field()
    submit = SubmitField(_l("Send me a link"))


class AccountDetailsForm(FlaskForm):
    """What an admin may correct on someone's account."""

    display_name = _display_name_field()
    legal_name = _legal_name_field()
    submit = SubmitField(_l("Save details"))
