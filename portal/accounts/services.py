"""Account operations: the domain rules. They flush, never commit, and know nothing of requests."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select, update

from portal.accounts import passwords, totp
from portal.accounts.models import AccountToken, RecoveryCode, Role, TokenPurpose, User
from portal.audit.services import record
from portal.errors import DomainError
from portal.extensions import db
from portal.models import utcnow


def hashing() -> passwords.PasswordHashing:
    return current_app.extensions["portal_password_hashing"]


def normalise_email(email: str) -> str:
    return email.strip().lower()


def password_problem(password: str) -> str | None:
    """Return why a new password is refused, or None when it is acceptable."""
    if len(password) < passwords.MIN_LENGTH:
        return str(
            _l(
                "Please use at least %(count)d characters. A few unrelated words make a strong, "
                "memorable password.",
                count=passwords.MIN_LENGTH,
            )
        )
    if len(password) > passwords.MAX_LENGTH:
        return str(_l("Please use at most %(count)d characters.", count=passwords.MAX_LENGTH))
    if passwords.is_common(password):
        return str(
            _l("This password is too common and easy to guess. Please choose a different one.")
        )
    return None


def user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def authenticate(email: str, password: str) -> User | None:
    """Return the user whose credentials these are, or None — the same None whatever went wrong."""
    user = user_by_email(email)
    ok = hashing().verify(user.password_hash if user else None, password)
    if not (ok and user is not None and user.active):
        return None
    if hashing().needs_rehash(user.password_hash):
        user.password_hash = hashing().hash(password)
    return user


def record_sign_in(user: User) -> None:
    user.last_login_at = utcnow()
    record(user, "account.sign_in", user)


def record_failed_sign_in(user: User | None, step: str = "password") -> None:
    """A refused sign-in: for a known account it names the account; otherwise nothing about it."""
    record(None, "account.sign_in_failed", user, outcome="failure", step=step)


def sign_out(user: User) -> None:
    _revoke_sessions(user)
    record(user, "account.sign_out", user)


def create_user(
    *,
    email: str,
    display_name: str,
    role: Role,
    locale: str = "en",
    legal_name: str | None = None,
    password: str | None = None,
    actor: User | None = None,
) -> User:
    email = normalise_email(email)
    if user_by_email(email) is not None:
        raise DomainError(_l("An account with this e-mail address already exists."))
    user = User(
        email=email,
        display_name=display_name.strip(),
        legal_name=(legal_name or "").strip() or None,
        role=role,
        locale=locale,
        active=True,
        session_generation=1,
    )
    if password is not None:
        _set_password(user, password)
    db.session.add(user)
    db.session.flush()
    record(actor, "account.created", user, role=role.value)
    return user


def _set_password(user: User, password: str) -> None:
    problem = password_problem(password)
    if problem:
        raise DomainError(problem)
    user.password_hash = hashing().hash(password)
    user.password_changed_at = utcnow()


def _hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_token(user: User, purpose: TokenPurpose, actor: User | None) -> str:
    """Create a one-time link token, cancelling earlier unused ones; return the raw token."""
    now = utcnow()
    db.session.execute(
        update(AccountToken)
        .where(
            AccountToken.user_id == user.id,
            AccountToken.purpose == purpose,
            AccountToken.used_at.is_(None),
        )
        .values(used_at=now)
    )
    config = current_app.config
    lifetime = (
        timedelta(days=config["PORTAL_INVITATION_DAYS"])
        if purpose is TokenPurpose.INVITATION
        else timedelta(hours=config["PORTAL_RESET_HOURS"])
    )
    raw = secrets.token_urlsafe(32)
    db.session.add(
        AccountToken(
            user_id=user.id,
            purpose=purpose,
            token_hash=_hash_token(raw),
            created_at=now,
            expires_at=now + lifetime,
            created_by_id=actor.id if actor else None,
        )
    )
    record(actor, f"account.{purpose.value}_issued", user)
    return raw


def invite_user(
    actor: User,
    *,
    email: str,
    display_name: str,
    role: Role,
    locale: str,
    legal_name: str | None = None,
) -> tuple[User, str]:
    user = create_user(
        email=email,
        display_name=display_name,
        role=role,
        locale=locale,
        legal_name=legal_name,
        actor=actor,
    )
    return user, issue_token(user, TokenPurpose.INVITATION, actor)


def reissue_invitation(actor: User, user: User) -> str:
    if not user.invitation_pending:
        raise DomainError(_l("This person has already accepted their invitation."))
    if not user.active:
        raise DomainError(_l("Reactivate this account before sending a new invitation."))
    return issue_token(user, TokenPurpose.INVITATION, actor)


def issue_password_reset(actor: User | None, user: User) -> str:
    if user.invitation_pending:
        raise DomainError(
            _l("This person has not accepted their invitation yet; send a new invitation instead.")
        )
    if not user.active:
        raise DomainError(_l("Reactivate this account before issuing a reset link."))
    return issue_token(user, TokenPurpose.PASSWORD_RESET, actor)


def usable_token(raw: str, purpose: TokenPurpose) -> AccountToken | None:
    """Return the token behind a link if it is unused, unexpired and its account active."""
    if not raw or len(raw) > 128:
        return None
    token = db.session.scalar(
        select(AccountToken).where(
            AccountToken.token_hash == _hash_token(raw), AccountToken.purpose == purpose
        )
    )
    if token is None or not token.is_usable(utcnow()) or not token.user.active:
        return None
    return token


def redeem_token(token: AccountToken, password: str) -> User:
    """Set the password from an invitation or reset link; the link then stops working."""
    # Mark it used with a guarded UPDATE so two concurrent uses cannot both succeed.
    claimed = db.session.execute(
        update(AccountToken)
        .where(AccountToken.id == token.id, AccountToken.used_at.is_(None))
        .values(used_at=utcnow())
    ).rowcount
    if claimed != 1:
        raise DomainError(_l("This link has already been used."))
    user = token.user
    _set_password(user, password)
    _revoke_sessions(user)
    action = (
        "account.invitation_accepted"
        if token.purpose is TokenPurpose.INVITATION
        else "account.password_reset"
    )
    record(user, action, user)
    return user


def change_password(user: User, current_password: str, new_password: str) -> None:
    if not hashing().verify(user.password_hash, current_password):
        raise DomainError(_l("That does not match your current password. Please try again."))
    _set_password(user, new_password)
    _revoke_sessions(user)
    record(user, "account.password_changed", user)


def update_profile(user: User, *, display_name: str, locale: str) -> None:
    user.display_name = display_name.strip()
    user.locale = locale
    record(user, "account.profile_updated", user, locale=locale)


def set_locale(user: User, locale: str) -> None:
    if user.locale != locale:
        user.locale = locale
        record(user, "account.language_changed", user, locale=locale)


def _revoke_sessions(user: User) -> None:
    """Make every session cookie this person has stop working (security.md S3)."""
    user.session_generation = (user.session_generation or 0) + 1
    db.session.flush()


def end_sessions(actor: User, user: User) -> None:
    """An admin signs someone out everywhere."""
    _revoke_sessions(user)
    record(actor, "account.sessions_ended", user)


def _other_active_admins(user: User) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(User)
        .where(User.role == Role.ADMIN, User.active.is_(True), User.id != user.id)
    )


def change_role(actor: User, user: User, role: Role) -> None:
    if user.role is role:
        return
    if user.role is Role.ADMIN and user.active and _other_active_admins(user) == 0:
        raise DomainError(_l("The portal needs at least one active administrator."))
    previous = user.role
    user.role = role
    _revoke_sessions(user)
    record(actor, "account.role_changed", user, previous=previous.value, role=role.value)


def deactivate(actor: User, user: User) -> None:
    if user.id == actor.id:
        raise DomainError(_l("You cannot deactivate your own account."))
    if not user.active:
        raise DomainError(_l("This account is already deactivated."))
    if user.role is Role.ADMIN and _other_active_admins(user) == 0:
        raise DomainError(_l("The portal needs at least one active administrator."))
    user.active = False
    _revoke_sessions(user)
    record(actor, "account.deactivated", user)


def reactivate(actor: User, user: User) -> None:
    if user.active:
        raise DomainError(_l("This account is already active."))
    user.active = True
    record(actor, "account.reactivated", user)


# Second factor -----------------------------------------------------------------------------


def begin_second_factor_setup(user: User) -> str:
    """Keep a fresh pending secret (server-side, never in the cookie) and return it."""
    if user.has_second_factor:
        raise DomainError(_l("Your second factor is already set up."))
    if user.totp_pending_secret is None:
        user.totp_pending_secret = totp.new_secret()
        db.session.flush()
    return user.totp_pending_secret


def confirm_second_factor(user: User, code: str, now: datetime | None = None) -> list[str]:
    """Turn the second factor on once a code proves the app is set up; return recovery codes."""
    if user.totp_pending_secret is None:
        raise DomainError(_l("No set-up is in progress. Please start again."))
    counter = totp.matching_counter(user.totp_pending_secret, code, now or utcnow(), None)
    if counter is None:
        raise DomainError(
            _l("That code did not match. Check the time on your phone and try the newest code.")
        )
    user.totp_secret = user.totp_pending_secret
    user.totp_pending_secret = None
    user.totp_last_counter = counter
    user.totp_enabled_at = utcnow()
    record(user, "account.second_factor_enabled", user)
    return _replace_recovery_codes(user)


def _replace_recovery_codes(user: User) -> list[str]:
    codes = totp.new_recovery_codes()
    user.recovery_codes.clear()
    db.session.flush()
    user.recovery_codes.extend(RecoveryCode(code_hash=totp.hash_recovery_code(c)) for c in codes)
    db.session.flush()
    return codes


def regenerate_recovery_codes(user: User, password: str) -> list[str]:
    if not user.has_second_factor:
        raise DomainError(_l("Set up a second factor first."))
    if not hashing().verify(user.password_hash, password):
        raise DomainError(_l("That does not match your current password. Please try again."))
    record(user, "account.recovery_codes_replaced", user)
    return _replace_recovery_codes(user)


def disable_second_factor(user: User, password: str) -> None:
    if not user.has_second_factor:
        raise DomainError(_l("Your second factor is not turned on."))
    if not hashing().verify(user.password_hash, password):
        raise DomainError(_l("That does not match your current password. Please try again."))
    user.totp_secret = None
    user.totp_last_counter = None
    user.totp_enabled_at = None
    user.recovery_codes.clear()
    _revoke_sessions(user)
    record(user, "account.second_factor_disabled", user)


def verify_second_factor(user: User, code: str, now: datetime | None = None) -> bool:
    """Accept a current TOTP code (once) or an unused recovery code (once)."""
    if user.totp_secret is None:
        return False
    counter = totp.matching_counter(user.totp_secret, code, now or utcnow(), user.totp_last_counter)
    if counter is not None:
        # Guarded update: the same code sent twice at once is accepted only once.
        claimed = db.session.execute(
            update(User)
            .where(
                User.id == user.id,
                (User.totp_last_counter.is_(None)) | (User.totp_last_counter < counter),
            )
            .values(totp_last_counter=counter)
            .execution_options(synchronize_session=False)
        ).rowcount
        db.session.refresh(user)
        return claimed == 1
    claimed = db.session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == totp.hash_recovery_code(code),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    return claimed == 1


def second_factor_required(user: User) -> bool:
    return user.role.value in current_app.config["PORTAL_SECOND_FACTOR_ROLES"]


def update_details(actor: User, user: User, *, display_name: str, legal_name: str | None) -> None:
    user.display_name = display_name.strip()
    user.legal_name = (legal_name or "").strip() or None
    record(actor, "account.details_updated", user)


def search_accounts(*, query: str = "", role: str = "", status: str = ""):
    """The admin's account list as a select statement, filtered and ordered by display name."""
    stmt = select(User)
    if query:
        pattern = f"%{query.strip().lower()}%"
        stmt = stmt.where(
            func.lower(User.display_name).like(pattern)
            | User.email.like(pattern)
            | func.lower(func.coalesce(User.legal_name, "")).like(pattern)
        )
    if role in {r.value for r in Role}:
        stmt = stmt.where(User.role == Role(role))
    if status == "active":
        stmt = stmt.where(User.active.is_(True), User.password_hash.is_not(None))
    elif status == "pending":
        stmt = stmt.where(User.active.is_(True), User.password_hash.is_(None))
    elif status == "deactivated":
        stmt = stmt.where(User.active.is_(False))
    return stmt.order_by(func.lower(User.display_name), User.id)


def anonymise(actor: User, user: User) -> None:
    """Erase a departed consultant's identity; what they recorded stays, under a neutral name."""
    if user.id == actor.id:
        raise DomainError(_l("You cannot anonymise your own account."))
    if user.role is not Role.CONSULTANT:
        raise DomainError(_l("Only consultants' accounts can be anonymised."))
    if user.is_anonymised:
        raise DomainError(_l("This account is already anonymised."))
    now = utcnow()
    user.email = f"former-{user.id}@anonymised.invalid"
    user.stored_display_name = f"former-{user.id}"
    user.legal_name = None
    user.password_hash = None
    user.totp_secret = None
    user.totp_pending_secret = None
    user.totp_last_counter = None
    user.totp_enabled_at = None
    user.recovery_codes.clear()
    user.active = False
    user.anonymised_at = now
    db.session.execute(
        update(AccountToken)
        .where(AccountToken.user_id == user.id, AccountToken.used_at.is_(None))
        .values(used_at=now)
    )
    _revoke_sessions(user)
    # Notes on time away and pending e-mails could identify them; their time away goes too.
    from portal.availability.models import AwayPeriod
    from portal.notifications.models import OutboxMessage, OutboxState

    db.session.execute(delete(AwayPeriod).where(AwayPeriod.consultant_id == user.id))
    db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.user_id == user.id,
            OutboxMessage.state.in_([OutboxState.PENDING, OutboxState.FAILED]),
        )
        .values(state=OutboxState.FAILED, last_error="account anonymised", attempts=99)
    )
    record(actor, "account.anonymised", user)
