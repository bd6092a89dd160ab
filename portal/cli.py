"""Command-line tools: `flask --app wsgi users create ...` and `flask --app wsgi seed-demo`."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import func, select

from portal.accounts import services as account_services
from portal.accounts.models import LOCALES, Role, User
from portal.demo import seed_accounts, seed_report
from portal.errors import DomainError
from portal.extensions import db

DEMO_PASSWORD = "demo-portal-password"  # noqa: S105  (documented demo password, refused in production)

users_cli = AppGroup("users", help="Manage accounts.")
audit_cli = AppGroup("audit", help="Check the audit trail.")


@audit_cli.command("verify")
def verify_audit():
    """Recompute the audit trail's hash chain; exit 1 naming the first broken event."""
    from portal.audit.services import verify_chain

    report = verify_chain()
    if report.intact:
        click.echo(f"The audit trail is intact: {report.events} events, hash chain verified.")
        return
    click.echo(
        f"The audit trail is BROKEN at event {report.broken_at}: {report.problem} "
        f"({report.events} events verified before it).",
        err=True,
    )
    raise SystemExit(1)


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
    """Load demo accounts and a demo report (refused under PORTAL_ENV=production)."""
    if current_app.config["PORTAL_ENV"] == "production":
        raise click.ClickException("seed-demo refuses to run when PORTAL_ENV=production.")
    if if_empty and db.session.scalar(select(func.count()).select_from(User)):
        click.echo("The database already has accounts; demo data not loaded.")
        return
    try:
        for email, created in seed_accounts(password):
            click.echo(f"{'created' if created else 'exists '}  {email}")
        if seed_report():
            click.echo("created  the demo report with its sections and assignments")
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from error
    db.session.commit()
    click.echo(f"Demo data is ready; the accounts' password is {password!r}.")


def register_cli(app: Flask) -> None:
    app.cli.add_command(users_cli)
    app.cli.add_command(audit_cli)
    app.cli.add_command(seed_demo)
