"""Account services against the database (SQLite always, PostgreSQL when configured)."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.accounts import services
from portal.accounts.models import AccountToken, RecoveryCode, Role, TokenPurpose, User
from portal.accounts.passwords import PasswordHashing
from portal.errors import DomainError
from portal.extensions import db
from portal.models import utcnow
from tests.conftest import PASSWORD

NEW_PASSWORD = "another quite unusual passphrase"


@pytest.fixture
def ctx(app):
    # A request context (it includes the app context): DomainError renders its translated message
    # at once, and the locale selector reads the session. See test_domain_error_outside_a_request.
    with app.test_request_context():
        yield
        db.session.rollback()


def load(user_id: int) -> User:
    return db.session.get(User, user_id)


# Creating accounts ---------------------------------------------------------------------------


def test_create_user_normalises_email_and_names(ctx):
    user = services.create_user(
        email="  Person.Name@Example.ORG ",
        display_name="  Kestrel ",
        role=Role.CONSULTANT,
        legal_name="  ",
    )
    db.session.commit()
    assert user.email == "person.name@example.org"
    assert user.display_name == "Kestrel"
    assert user.legal_name is None
    assert user.invitation_pending
    assert services.user_by_email("PERSON.NAME@example.org ").id == user.id


def test_create_user_refuses_duplicate_differing_only_in_case(ctx):
    services.create_user(email="dup@example.org", display_name="One", role=Role.CONSULTANT)
    db.session.commit()
    with pytest.raises(DomainError, match="already exists"):
        services.create_user(email=" DUP@Example.org", display_name="Two", role=Role.EDITOR)
    db.session.rollback()
    assert db.session.scalars(select(User)).all()[0].display_name == "One"
    assert len(db.session.scalars(select(User)).all()) == 1


def test_domain_error_outside_a_request(app, consultant):
    with app.app_context(), pytest.raises(DomainError, match="already exists"):
        services.create_user(
            email="consultant@example.org", display_name="Again", role=Role.CONSULTANT
        )


def test_create_user_refuses_weak_password(ctx):
    with pytest.raises(DomainError, match="too common"):
        services.create_user(
            email="weak@example.org",
            display_name="W",
            role=Role.CONSULTANT,
            password="password1234",
        )
    with pytest.raises(DomainError, match="at least 12"):
        services.create_user(
            email="short@example.org", display_name="S", role=Role.CONSULTANT, password="short pass"
        )


def test_database_refuses_upper_case_email(ctx):
    # The unique constraint is case-insensitive only because e-mails are stored in lower case;
    # the check constraint keeps that true even for writes that bypass the service.
    db.session.add(
        User(email="Upper@Example.org", display_name="U", role=Role.CONSULTANT, locale="en")
    )
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
    db.session.add(User(email="lower@example.org", display_name="L", role=Role.CONSULTANT))
    db.session.flush()


def test_database_refuses_duplicate_email(ctx):
    db.session.add(User(email="same@example.org", display_name="A", role=Role.CONSULTANT))
    db.session.flush()
    db.session.add(User(email="same@example.org", display_name="B", role=Role.CONSULTANT))
    with pytest.raises(IntegrityError):
        db.session.flush()


# Authentication ------------------------------------------------------------------------------


def test_authenticate_accepts_the_right_password(ctx, consultant):
    user = services.authenticate(" Consultant@Example.org ", PASSWORD)
    assert user is not None and user.id == consultant


@pytest.mark.parametrize("case", ["unknown", "wrong", "deactivated", "pending"])
def test_authenticate_returns_none_identically(ctx, app, make_user, case):
    make_user("consultant", email="known@example.org")
    make_user("consultant", email="gone@example.org", active=False)
    make_user("consultant", email="pending@example.org", password=None)
    email, password = {
        "unknown": ("nobody@example.org", PASSWORD),
        "wrong": ("known@example.org", PASSWORD + "!"),
        "deactivated": ("gone@example.org", PASSWORD),
        "pending": ("pending@example.org", ""),
    }[case]
    assert services.authenticate(email, password) is None
    # The pending account has no password: even the dummy hash's password must not open it.
    assert (
        services.authenticate("pending@example.org", "not a real password, only for timing") is None
    )


def test_authenticate_rehashes_when_parameters_changed(ctx, app, consultant):
    old_hash = load(consultant).password_hash
    app.extensions["portal_password_hashing"] = PasswordHashing(
        time_cost=2, memory_cost=2048, parallelism=1
    )
    user = services.authenticate("consultant@example.org", PASSWORD)
    db.session.commit()
    assert user.password_hash != old_hash
    assert "m=2048,t=2" in user.password_hash
    assert services.authenticate("consultant@example.org", PASSWORD).id == consultant


# One-time links ------------------------------------------------------------------------------


def _invite(admin_id: int, email: str = "new@example.org") -> tuple[User, str]:
    user, raw = services.invite_user(
        load(admin_id), email=email, display_name="Newcomer", role=Role.CONSULTANT, locale="fr"
    )
    db.session.commit()
    return user, raw


def test_only_the_sha256_of_a_token_is_stored(ctx, admin):
    user, raw = _invite(admin)
    token = db.session.scalars(select(AccountToken)).one()
    assert token.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in repr([getattr(token, c.key) for c in AccountToken.__table__.columns])
    assert token.user_id == user.id
    assert token.created_by_id == admin
    assert len(raw) >= 40  # 32 random bytes


def test_invitation_token_is_single_use_and_bumps_session_generation(ctx, admin):
    user, raw = _invite(admin)
    generation = user.session_generation
    token = services.usable_token(raw, TokenPurpose.INVITATION)
    assert token is not None
    redeemed = services.redeem_token(token, PASSWORD)
    db.session.commit()
    assert redeemed.id == user.id
    assert not redeemed.invitation_pending
    assert redeemed.session_generation == generation + 1
    assert services.authenticate("new@example.org", PASSWORD).id == user.id
    assert services.usable_token(raw, TokenPurpose.INVITATION) is None
    with pytest.raises(DomainError, match="already been used"):
        services.redeem_token(token, NEW_PASSWORD)
    db.session.rollback()
    assert services.authenticate("new@example.org", NEW_PASSWORD) is None


def test_token_for_one_purpose_does_not_work_for_the_other(ctx, admin):
    _user, raw = _invite(admin)
    assert services.usable_token(raw, TokenPurpose.PASSWORD_RESET) is None
    assert services.usable_token(raw, TokenPurpose.INVITATION) is not None


@pytest.mark.parametrize("raw", ["", "x", "A" * 43, "A" * 500])
def test_unknown_tokens_are_not_usable(ctx, admin, raw):
    _invite(admin)
    assert services.usable_token(raw, TokenPurpose.INVITATION) is None


def test_expired_token_is_not_usable(ctx, admin):
    _user, raw = _invite(admin)
    token = services.usable_token(raw, TokenPurpose.INVITATION)
    token.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert services.usable_token(raw, TokenPurpose.INVITATION) is None


def test_token_lifetimes_come_from_configuration(ctx, app, admin, consultant):
    _user, raw = _invite(admin)
    invitation = services.usable_token(raw, TokenPurpose.INVITATION)
    assert invitation.expires_at - invitation.created_at == timedelta(
        days=app.config["PORTAL_INVITATION_DAYS"]
    )
    raw = services.issue_password_reset(load(admin), load(consultant))
    reset = services.usable_token(raw, TokenPurpose.PASSWORD_RESET)
    assert reset.expires_at - reset.created_at == timedelta(hours=app.config["PORTAL_RESET_HOURS"])


def test_new_invitation_cancels_the_older_one(ctx, admin):
    user, first = _invite(admin)
    second = services.reissue_invitation(load(admin), user)
    db.session.commit()
    assert services.usable_token(first, TokenPurpose.INVITATION) is None
    assert services.usable_token(second, TokenPurpose.INVITATION) is not None


def test_new_reset_link_cancels_the_older_one(ctx, admin, consultant):
    first = services.issue_password_reset(load(admin), load(consultant))
    second = services.issue_password_reset(load(admin), load(consultant))
    db.session.commit()
    assert services.usable_token(first, TokenPurpose.PASSWORD_RESET) is None
    token = services.usable_token(second, TokenPurpose.PASSWORD_RESET)
    generation = load(consultant).session_generation
    services.redeem_token(token, NEW_PASSWORD)
    db.session.commit()
    assert load(consultant).session_generation == generation + 1
    assert services.authenticate("consultant@example.org", NEW_PASSWORD).id == consultant
    assert services.authenticate("consultant@example.org", PASSWORD) is None
    assert services.usable_token(second, TokenPurpose.PASSWORD_RESET) is None


def test_reset_is_refused_for_pending_and_deactivated_accounts(ctx, admin, deactivated):
    user, _raw = _invite(admin)
    with pytest.raises(DomainError, match="not accepted their invitation"):
        services.issue_password_reset(load(admin), user)
    with pytest.raises(DomainError, match="Reactivate"):
        services.issue_password_reset(load(admin), load(deactivated))


def test_link_of_a_deactivated_account_stops_working(ctx, admin, consultant):
    raw = services.issue_password_reset(load(admin), load(consultant))
    services.deactivate(load(admin), load(consultant))
    db.session.commit()
    assert services.usable_token(raw, TokenPurpose.PASSWORD_RESET) is None


def test_redeem_with_a_weak_password_is_refused(ctx, admin):
    _user, raw = _invite(admin)
    token = services.usable_token(raw, TokenPurpose.INVITATION)
    with pytest.raises(DomainError, match="too common"):
        services.redeem_token(token, "password1234")
    db.session.rollback()
    # Nothing was saved: the link still works.
    assert services.usable_token(raw, TokenPurpose.INVITATION) is not None


# Roles and deactivation ----------------------------------------------------------------------


def test_change_role_ends_sessions(ctx, admin, consultant):
    generation = load(consultant).session_generation
    services.change_role(load(admin), load(consultant), Role.EDITOR)
    db.session.commit()
    assert load(consultant).role is Role.EDITOR
    assert load(consultant).session_generation == generation + 1


def test_cannot_demote_the_last_active_admin(ctx, admin, deactivated):
    # A deactivated admin does not count.
    services.change_role(load(admin), load(deactivated), Role.ADMIN)
    db.session.commit()
    with pytest.raises(DomainError, match="at least one active administrator"):
        services.change_role(load(admin), load(admin), Role.EDITOR)
    db.session.rollback()
    assert load(admin).role is Role.ADMIN


def test_an_admin_can_be_demoted_when_another_remains(ctx, admin, make_user):
    other = make_user("admin")
    services.change_role(load(admin), load(other), Role.CONSULTANT)
    db.session.commit()
    assert load(other).role is Role.CONSULTANT
    with pytest.raises(DomainError, match="at least one active administrator"):
        services.change_role(load(admin), load(admin), Role.CONSULTANT)


def test_cannot_deactivate_oneself(ctx, admin, make_user):
    make_user("admin")  # another admin exists, so only the self rule applies
    with pytest.raises(DomainError, match="your own account"):
        services.deactivate(load(admin), load(admin))
    db.session.rollback()
    assert load(admin).active


def test_cannot_deactivate_the_last_active_admin(ctx, admin, editor):
    # Whoever asks (the service does not trust the caller to be an admin).
    with pytest.raises(DomainError, match="at least one active administrator"):
        services.deactivate(load(editor), load(admin))
    db.session.rollback()
    assert load(admin).active


def test_deactivate_and_reactivate(ctx, admin, consultant):
    generation = load(consultant).session_generation
    services.deactivate(load(admin), load(consultant))
    db.session.commit()
    assert not load(consultant).active
    assert load(consultant).session_generation == generation + 1
    assert services.authenticate("consultant@example.org", PASSWORD) is None
    with pytest.raises(DomainError, match="already deactivated"):
        services.deactivate(load(admin), load(consultant))
    services.reactivate(load(admin), load(consultant))
    db.session.commit()
    assert services.authenticate("consultant@example.org", PASSWORD).id == consultant
    with pytest.raises(DomainError, match="already active"):
        services.reactivate(load(admin), load(consultant))


def test_change_password_needs_the_current_one(ctx, consultant):
    generation = load(consultant).session_generation
    with pytest.raises(DomainError, match="does not match your current password"):
        services.change_password(load(consultant), "wrong password entirely", NEW_PASSWORD)
    db.session.rollback()
    services.change_password(load(consultant), PASSWORD, NEW_PASSWORD)
    db.session.commit()
    assert load(consultant).session_generation == generation + 1
    assert services.authenticate("consultant@example.org", NEW_PASSWORD).id == consultant


# Second factor -------------------------------------------------------------------------------

T0 = utcnow().replace(microsecond=0) - timedelta(hours=1)


def _enable_second_factor(user_id: int) -> tuple[str, list[str]]:
    """Turn the second factor on as of an hour ago; return the secret and recovery codes."""
    user = load(user_id)
    secret = services.begin_second_factor_setup(user)
    codes = services.confirm_second_factor(user, pyotp.TOTP(secret).at(T0), now=T0)
    db.session.commit()
    return secret, codes


def test_second_factor_setup_needs_a_matching_code(ctx, consultant):
    user = load(consultant)
    secret = services.begin_second_factor_setup(user)
    # Asking again keeps the same pending secret (the QR code on screen stays valid).
    assert services.begin_second_factor_setup(user) == secret
    now = utcnow()
    window = {pyotp.TOTP(secret).at(now + timedelta(seconds=s)) for s in (-30, 0, 30)}
    wrong = next(code for code in ("000000", "111111", "222222", "333333") if code not in window)
    with pytest.raises(DomainError, match="did not match"):
        services.confirm_second_factor(user, wrong, now=now)
    assert not user.has_second_factor
    codes = services.confirm_second_factor(user, pyotp.TOTP(secret).now())
    db.session.commit()
    user = load(consultant)
    assert user.totp_secret == secret and user.totp_pending_secret is None
    assert len(codes) == 10
    stored = {code.code_hash for code in user.recovery_codes}
    assert all(code not in stored for code in codes)
    assert len(stored) == 10
    with pytest.raises(DomainError, match="already set up"):
        services.begin_second_factor_setup(user)


def test_second_factor_code_is_accepted_once_only(ctx, consultant):
    secret, _codes = _enable_second_factor(consultant)
    later = T0 + timedelta(minutes=5)
    code = pyotp.TOTP(secret).at(later)
    assert services.verify_second_factor(load(consultant), code, now=later) is True
    db.session.commit()
    assert services.verify_second_factor(load(consultant), code, now=later) is False
    # Nor an older code, even inside the drift window.
    older = pyotp.TOTP(secret).at(later - timedelta(seconds=30))
    assert services.verify_second_factor(load(consultant), older, now=later) is False
    newer = pyotp.TOTP(secret).at(later + timedelta(seconds=30))
    assert services.verify_second_factor(load(consultant), newer, now=later + timedelta(seconds=30))


def test_code_used_at_setup_cannot_sign_in(ctx, consultant):
    secret, _codes = _enable_second_factor(consultant)
    assert (
        services.verify_second_factor(load(consultant), pyotp.TOTP(secret).at(T0), now=T0) is False
    )


def test_recovery_code_is_accepted_once_only(ctx, consultant):
    _secret, codes = _enable_second_factor(consultant)
    assert (
        services.verify_second_factor(load(consultant), codes[3].lower().replace("-", " ")) is True
    )
    db.session.commit()
    assert services.verify_second_factor(load(consultant), codes[3]) is False
    assert services.verify_second_factor(load(consultant), codes[4]) is True
    db.session.commit()
    used = [c for c in load(consultant).recovery_codes if c.used_at is not None]
    assert len(used) == 2


def test_wrong_codes_and_no_second_factor(ctx, consultant, consultant2):
    _enable_second_factor(consultant)
    assert services.verify_second_factor(load(consultant), "ABCD-EFGH-JKMN-PQRS") is False
    assert services.verify_second_factor(load(consultant), "") is False
    assert services.verify_second_factor(load(consultant2), "123456") is False


def test_recovery_codes_belong_to_their_owner(ctx, consultant, consultant2):
    _secret, codes = _enable_second_factor(consultant)
    _enable_second_factor(consultant2)
    assert services.verify_second_factor(load(consultant2), codes[0]) is False
    assert services.verify_second_factor(load(consultant), codes[0]) is True


def test_regenerate_recovery_codes_needs_the_current_password(ctx, consultant):
    _secret, old_codes = _enable_second_factor(consultant)
    with pytest.raises(DomainError, match="does not match your current password"):
        services.regenerate_recovery_codes(load(consultant), "not my password at all")
    db.session.rollback()
    assert services.verify_second_factor(load(consultant), old_codes[0]) is True
    new_codes = services.regenerate_recovery_codes(load(consultant), PASSWORD)
    db.session.commit()
    assert len(new_codes) == 10 and not set(new_codes) & set(old_codes)
    assert services.verify_second_factor(load(consultant), old_codes[1]) is False
    assert services.verify_second_factor(load(consultant), new_codes[0]) is True
    db.session.commit()
    assert (
        db.session.scalar(
            select(db.func.count())
            .select_from(RecoveryCode)
            .where(RecoveryCode.user_id == consultant)
        )
        == 10
    )


def test_disable_second_factor_needs_the_current_password(ctx, consultant):
    _secret, codes = _enable_second_factor(consultant)
    generation = load(consultant).session_generation
    with pytest.raises(DomainError, match="does not match your current password"):
        services.disable_second_factor(load(consultant), "not my password at all")
    db.session.rollback()
    assert load(consultant).has_second_factor
    services.disable_second_factor(load(consultant), PASSWORD)
    db.session.commit()
    user = load(consultant)
    assert not user.has_second_factor
    assert user.recovery_codes == []
    assert user.session_generation == generation + 1
    assert services.verify_second_factor(user, codes[0]) is False


def test_second_factor_required_follows_configuration(ctx, app, editor, consultant):
    app.config["PORTAL_SECOND_FACTOR_ROLES"] = frozenset({"admin", "editor"})
    assert services.second_factor_required(load(editor))
    assert not services.second_factor_required(load(consultant))


# Admin search --------------------------------------------------------------------------------


def test_search_accounts(ctx, admin, editor, consultant, consultant2, deactivated, make_user):
    make_user(
        "consultant", email="invitee@example.org", display_name="Pending Person", password=None
    )

    def names(**filters) -> list[str]:
        return [u.display_name for u in db.session.scalars(services.search_accounts(**filters))]

    assert names(query="tremblay") == ["River"]
    assert names(query="AMARA") == ["Amara"]
    assert names(query="consultant2@") == ["River"]
    assert names(role="editor") == ["Camille"]
    assert names(status="pending") == ["Pending Person"]
    assert names(status="deactivated") == ["Former"]
    assert names(status="active") == ["Amara", "Camille", "Morgan", "River"]
    assert names(role="consultant", status="active", query="a") == ["Amara", "River"]
    # Unknown filter values are ignored rather than failing.
    assert len(names(role="superuser", status="whatever")) == 6
