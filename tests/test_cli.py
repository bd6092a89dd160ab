"""The command-line tools, run the way `flask --app wsgi ...` runs them (via FlaskGroup)."""

from __future__ import annotations

import pytest
from flask.cli import FlaskGroup, ScriptInfo
from sqlalchemy import func, select

from portal.accounts import services
from portal.accounts.models import Role, User
from portal.cli import DEMO_PASSWORD
from portal.demo import DEMO_ACCOUNTS
from portal.extensions import db
from tests.conftest import PASSWORD, base_test_config


def flask_cli(runner, app, *args, input=None):
    """Invoke a command through FlaskGroup, as the `flask` executable does."""
    group = FlaskGroup(create_app=lambda: app, load_dotenv=False, set_debug_flag=False)
    return runner.invoke(group, list(args), obj=ScriptInfo(create_app=lambda: app), input=input)


def count_users(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(User))


def find(app, email: str) -> User | None:
    with app.app_context():
        user = services.user_by_email(email)
        if user is not None:
            db.session.expunge(user)
        return user


def can_sign_in(app, email: str, password: str) -> bool:
    with app.test_request_context():
        return services.authenticate(email, password) is not None


# users create --------------------------------------------------------------------------------


def test_users_create_with_password(app, runner):
    result = flask_cli(
        runner,
        app,
        "users",
        "create",
        "  New.Admin@Example.org",
        "--role",
        "admin",
        "--display-name",
        "Sam",
        "--legal-name",
        "Samira Haddad",
        "--locale",
        "fr",
        "--password",
        PASSWORD,
    )
    assert result.exit_code == 0, result.output
    assert "Created admin account new.admin@example.org" in result.output
    assert PASSWORD not in result.output
    user = find(app, "new.admin@example.org")
    assert (user.role, user.display_name, user.legal_name, user.locale) == (
        Role.ADMIN,
        "Sam",
        "Samira Haddad",
        "fr",
    )
    assert not user.invitation_pending and user.active
    assert can_sign_in(app, "new.admin@example.org", PASSWORD)


def test_users_create_prompts_for_the_password(app, runner):
    result = flask_cli(
        runner,
        app,
        "users",
        "create",
        "prompted@example.org",
        "--role",
        "consultant",
        "--display-name",
        "Lark",
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output  # hidden input
    assert can_sign_in(app, "prompted@example.org", PASSWORD)


def test_users_create_refuses_a_weak_password(app, runner):
    result = flask_cli(
        runner,
        app,
        "users",
        "create",
        "weak@example.org",
        "--role",
        "editor",
        "--display-name",
        "Weak",
        "--password",
        "password1234",
    )
    assert count_users(app) == 0
    assert result.exit_code == 1
    assert "too common" in result.output


def test_users_create_refuses_a_duplicate(app, runner, consultant):
    result = flask_cli(
        runner,
        app,
        "users",
        "create",
        "CONSULTANT@example.org",
        "--role",
        "admin",
        "--display-name",
        "Again",
        "--password",
        PASSWORD,
    )
    assert count_users(app) == 1
    assert find(app, "consultant@example.org").role is Role.CONSULTANT
    assert result.exit_code == 1
    assert "already exists" in result.output


def test_refused_users_create_changes_nothing(app, runner, consultant):
    """Whatever the message, a refused creation leaves the database as it was."""
    for args in (
        ["weak@example.org", "--password", "password1234"],
        ["CONSULTANT@example.org", "--password", PASSWORD],
    ):
        result = flask_cli(
            runner, app, "users", "create", *args, "--role", "admin", "--display-name", "X"
        )
        assert result.exit_code != 0
    assert count_users(app) == 1
    assert find(app, "weak@example.org") is None
    assert find(app, "consultant@example.org").role is Role.CONSULTANT


@pytest.mark.parametrize(
    "args",
    [
        ["not-an-address", "--role", "admin", "--display-name", "X"],
        ["ok@example.org", "--role", "superuser", "--display-name", "X"],
        ["ok@example.org", "--role", "admin", "--display-name", "   "],
        ["ok@example.org", "--role", "admin", "--display-name", "x" * 81],
        ["ok@example.org", "--role", "admin", "--display-name", "X", "--locale", "de"],
    ],
)
def test_users_create_refuses_bad_arguments(app, runner, args):
    result = flask_cli(runner, app, "users", "create", *args, "--password", PASSWORD)
    assert result.exit_code == 2, result.output
    assert count_users(app) == 0


# seed-demo -----------------------------------------------------------------------------------


def test_seed_demo_creates_the_four_demo_accounts(app, runner):
    result = flask_cli(runner, app, "seed-demo")
    assert result.exit_code == 0, result.output
    assert count_users(app) == 4
    roles = set()
    for spec in DEMO_ACCOUNTS:
        user = find(app, spec["email"])
        assert user is not None, spec["email"]
        assert (user.role, user.display_name, user.locale) == (
            spec["role"],
            spec["display_name"],
            spec["locale"],
        )
        roles.add(user.role)
        assert can_sign_in(app, spec["email"], DEMO_PASSWORD)
    assert roles == {Role.ADMIN, Role.EDITOR, Role.CONSULTANT}


def test_seed_demo_is_idempotent(app, runner):
    assert flask_cli(runner, app, "seed-demo").exit_code == 0
    with app.app_context():
        before = db.session.execute(select(User.id, User.password_hash).order_by(User.id)).all()
    result = flask_cli(runner, app, "seed-demo")
    assert result.exit_code == 0, result.output
    assert result.output.count("exists") == 4
    assert "created" not in result.output
    with app.app_context():
        after = db.session.execute(select(User.id, User.password_hash).order_by(User.id)).all()
    assert after == before


def test_seed_demo_fills_in_missing_accounts_only(app, runner, make_user):
    existing = make_user("consultant", email="consultant@example.org", display_name="Kept")
    result = flask_cli(runner, app, "seed-demo")
    assert result.exit_code == 0, result.output
    assert count_users(app) == 4
    assert find(app, "consultant@example.org").display_name == "Kept"
    assert find(app, "consultant@example.org").id == existing


def test_seed_demo_if_empty_skips_a_database_with_accounts(app, runner, consultant2):
    result = flask_cli(runner, app, "seed-demo", "--if-empty")
    assert result.exit_code == 0, result.output
    assert "already has accounts" in result.output
    assert count_users(app) == 1
    assert find(app, "admin@example.org") is None


def test_seed_demo_if_empty_seeds_an_empty_database(app, runner):
    result = flask_cli(runner, app, "seed-demo", "--if-empty")
    assert result.exit_code == 0, result.output
    assert count_users(app) == 4


def test_seed_demo_with_its_own_password(app, runner):
    result = flask_cli(runner, app, "seed-demo", "--password", PASSWORD)
    assert result.exit_code == 0, result.output
    assert can_sign_in(app, "editor@example.org", PASSWORD)
    assert not can_sign_in(app, "editor@example.org", DEMO_PASSWORD)


def test_seed_demo_refuses_production(app, database_url, tmp_path, runner):
    from portal import create_app

    production = create_app(
        {**base_test_config(database_url, tmp_path), "PORTAL_ENV": "production"}
    )
    assert production.config["PORTAL_ENV"] == "production"
    try:
        result = flask_cli(production.test_cli_runner(), production, "seed-demo")
        assert result.exit_code == 1
        assert "PORTAL_ENV=production" in result.output
        assert count_users(production) == 0
        result = flask_cli(production.test_cli_runner(), production, "seed-demo", "--if-empty")
        assert result.exit_code == 1
        assert count_users(app) == 0
    finally:
        with production.app_context():
            db.session.remove()
            db.engine.dispose()
