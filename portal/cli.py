"""Command-line tools: `flask --app wsgi users create ...` and `flask --app wsgi seed-demo`."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import func, select

from portal.accounts import services as account_services
from portal.accounts.models import LOCALES, Role, User
from portal.errors import DomainError
from portal.extensions import db

DEMO_PASSWORD = "demo-portal-password"  # noqa: S105  (documented demo password, refused in production)

# Realistic demo people; consultants appear under pseudonyms, as they would in real use.
DEMO_ACCOUNTS = [
    {
        "email": "admin@example.org",
        "display_name": "Morgan Ellis",
        "legal_name": "Morgan Ellis",
        "role": Role.ADMIN,
        "locale": "en",
    },
    {
        "email": "editor@example.org",
        "display_name": "Camille Roy",
        "legal_name": "Camille Roy",
        "role": Role.EDITOR,
        "locale": "fr",
    },
    {
        "email": "consultant@example.org",
        "display_name": "Amara",
        "legal_name": "Amara Okafor",
        "role": Role.CONSULTANT,
        "locale": "en",
    },
    {
        "email": "consultant2@example.org",
        "display_name": "Rivière",
        "legal_name": "Sophie Tremblay",
        "role": Role.CONSULTANT,
        "locale": "fr",
    },
]

users_cli = AppGroup("users", help="Manage accounts.")


@users_cli.command("create")
@click.argument("email")
@click.option(
    "--role", type=click.Choice([role.value for role in Role]), required=True, help="Account role."
)
@click.option("--display-name", required=True, help="The name others see (a pseudonym is fine).")
@click.option("--legal-name", default=None, help="Legal name, seen by admins only.")
@click.option("--locale", type=click.Choice(list(LOCALES)), default="en", show_default=True)
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="Prompted for when not given.",
)
def create_user(email, role, display_name, legal_name, locale, password):
    """Create an active account that can sign in at once."""
    if not email or "@" not in email or len(email) > 254:
        raise click.BadParameter("give a valid e-mail address", param_hint="EMAIL")
    if not display_name.strip() or len(display_name) > 80:
        raise click.BadParameter("1 to 80 characters", param_hint="--display-name")
    try:
        user = account_services.create_user(
            email=email,
            display_name=display_name,
            role=Role(role),
            locale=locale,
            legal_name=legal_name,
            password=password,
        )
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from error
    db.session.commit()
    click.echo(f"Created {user.role.value} account {user.email} (id {user.id}).")


@click.command("seed-demo")
@with_appcontext
@click.option("--password", default=DEMO_PASSWORD, show_default=True, help="Demo password.")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has accounts.")
def seed_demo(password, if_empty):
    """Load demo accounts (refused under PORTAL_ENV=production)."""
    if current_app.config["PORTAL_ENV"] == "production":
        raise click.ClickException("seed-demo refuses to run when PORTAL_ENV=production.")
    if if_empty and db.session.scalar(select(func.count()).select_from(User)):
        click.echo("The database already has accounts; demo data not loaded.")
        return
    for spec in DEMO_ACCOUNTS:
        if account_services.user_by_email(spec["email"]) is not None:
            click.echo(f"exists   {spec['email']}")
            continue
        try:
            account_services.create_user(password=password, **spec)
        except DomainError as error:
            db.session.rollback()
            raise click.ClickException(error.message) from error
        click.echo(f"created  {spec['email']} ({spec['role'].value})")
    db.session.commit()
    click.echo(f"Demo accounts are ready; their password is {password!r}.")


def register_cli(app: Flask) -> None:
    app.cli.add_command(users_cli)
    app.cli.add_command(seed_demo)
