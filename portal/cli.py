"""Command-line tools: `flask --app wsgi users create ...` and `flask --app wsgi seed-demo`."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError

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


def _schema_revision() -> str | None:
    try:
        return db.session.scalar(text("SELECT version_num FROM alembic_version"))
    except SQLAlchemyError:
        db.session.rollback()
        return None


def _has_data() -> bool:
    try:
        return bool(db.session.scalar(select(func.count()).select_from(User)))
    except SQLAlchemyError:
        db.session.rollback()
        return False


@click.command("backup")
@click.argument("path", type=click.Path(path_type=Path))
@with_appcontext
def backup_command(path: Path):
    """Write a consistent backup of the database and uploads to the new folder PATH."""
    from portal.backup import BackupError, make_backup

    try:
        manifest = make_backup(
            current_app.config["SQLALCHEMY_DATABASE_URI"],
            Path(current_app.config["PORTAL_UPLOAD_DIR"]),
            path,
            _schema_revision(),
        )
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(
        f"Backup written to {path}: {manifest['engine']} database at schema "
        f"{manifest['schema_revision']}, {len(manifest['files'])} files with checksums."
    )


@click.command("restore")
@click.argument("path", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--yes", is_flag=True, help="Replace a database that already has data.")
@with_appcontext
def restore_command(path: Path, yes: bool):
    """Restore the backup in PATH into DATABASE_URL's database and the upload folder."""
    from portal.backup import BackupError, read_manifest, restore_backup

    try:
        manifest = read_manifest(path)
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    if _has_data() and not yes:
        click.confirm(
            "The database already has data; replace it and the uploaded files with the backup "
            f"from {manifest['created_at']}?",
            abort=True,
        )
    db.session.remove()
    db.engine.dispose()
    try:
        restore_backup(
            path,
            current_app.config["SQLALCHEMY_DATABASE_URI"],
            Path(current_app.config["PORTAL_UPLOAD_DIR"]),
        )
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Restored the backup from {manifest['created_at']}.")


def register_cli(app: Flask) -> None:
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
    app.cli.add_command(users_cli)
    app.cli.add_command(audit_cli)
    app.cli.add_command(seed_demo)
    from portal.bulk import seed_bulk_command

    app.cli.add_command(seed_bulk_command)
    from portal.notifications.cli import (
        send_digests_command,
        send_mail_command,
        send_reminders_command,
    )

    app.cli.add_command(send_reminders_command)
    app.cli.add_command(send_digests_command)
    app.cli.add_command(send_mail_command)
