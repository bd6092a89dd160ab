"""The Survivor Advisory Council Portal: create_app() built from small register_* helpers."""

from __future__ import annotations

from importlib import import_module
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from portal.config import load_config
from portal.static_files import register_static_files

# Every model module, so the metadata (and Alembic's comparison) always knows every table.
MODEL_MODULES = (
    "portal.accounts.models",
    "portal.reports.models",
    "portal.assignments.models",
    "portal.review.models",
    "portal.audit.models",
    "portal.media.models",
    "portal.availability.models",
    "portal.notifications.models",
    "portal.timesheets.models",
)
VIEW_MODULES = (
    "portal.core.views",
    "portal.accounts.views",
    "portal.accounts.admin_views",
    "portal.reports.views",
    "portal.assignments.views",
    "portal.audit.views",
    "portal.review.views",
    "portal.review.report_views",
    "portal.media.views",
    "portal.media.checklist_views",
    "portal.media.clearance_views",
    "portal.availability.views",
    "portal.notifications.views",
    "portal.timesheets.views",
)


def create_app(test_config: dict | None = None) -> Flask:
    # Static files get their own view: versioned URLs, long caching, compressed copies.
    app = Flask(__name__, instance_relative_config=True, static_folder=None)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(load_config(Path(app.instance_path)))
    if test_config:
        app.config.from_mapping(test_config)
        if (
            "SQLALCHEMY_DATABASE_URI" in test_config
            and "SQLALCHEMY_ENGINE_OPTIONS" not in test_config
        ):
            from portal.config import engine_options

            app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(
                test_config["SQLALCHEMY_DATABASE_URI"]
            )
    if app.config["PORTAL_ENV"] == "production":
        # gunicorn runs behind one reverse proxy that sets X-Forwarded-For/-Proto.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)

    register_extensions(app)
    register_static_files(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    register_templating(app)
    return app


def register_extensions(app: Flask) -> None:
    from portal.accounts.passwords import PasswordHashing
    from portal.extensions import babel, csrf, db, limiter, login_manager, migrate
    from portal.i18n import register_i18n, select_locale
    from portal.security import register_security

    for module in MODEL_MODULES:
        import_module(module)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(app.root_path).parent / "migrations"))
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    login_manager.init_app(app)
    _configure_login(app)
    app.extensions["portal_password_hashing"] = PasswordHashing(**app.config["PORTAL_ARGON2"])
    register_security(app)
    register_i18n(app)


def _configure_login(app: Flask) -> None:
    from portal.accounts.models import User
    from portal.extensions import db, login_manager

    # Anonymous access is handled by portal.security.enforce_access, so no login_view here.
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(session_id: str) -> User | None:
        user_id, _sep, generation = session_id.partition(":")
        if not (user_id.isdigit() and generation.isdigit()):
            return None
        user = db.session.get(User, int(user_id))
        if user is None or not user.active or user.session_generation != int(generation):
            return None
        return user


def register_blueprints(app: Flask) -> None:
    from portal.accounts import admin_bp
    from portal.accounts import bp as accounts_bp
    from portal.assignments import bp as assignments_bp
    from portal.audit import bp as audit_bp
    from portal.availability import bp as availability_bp
    from portal.core import bp as core_bp
    from portal.media import bp as media_bp
    from portal.notifications import bp as notifications_bp
    from portal.reports import bp as reports_bp
    from portal.review import bp as review_bp
    from portal.timesheets import bp as timesheets_bp

    # Importing the views modules attaches their routes to the blueprints.
    for module in VIEW_MODULES:
        import_module(module)

    app.register_blueprint(core_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(reports_bp)
    app.register_blueprint(assignments_bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(review_bp)
    app.register_blueprint(media_bp)
    app.register_blueprint(availability_bp)
    app.register_blueprint(notifications_bp)
    app.register_blueprint(timesheets_bp)

    from portal.notifications.sender import register_after_commit_sending
    from portal.notifications.views import register_header_count

    register_after_commit_sending(app)
    register_header_count(app)


def register_errorhandlers(app: Flask) -> None:
    from portal.errors import register_errorhandlers as register

    register(app)


def register_commands(app: Flask) -> None:
    from portal.cli import register_cli

    register_cli(app)


def register_templating(app: Flask) -> None:
    from datetime import datetime
    from functools import lru_cache

    from babel import dates
    from flask_babel import format_decimal, get_babel, get_locale, get_timezone, to_user_timezone

    from portal.accounts.models import LOCALES, Role

    @lru_cache(maxsize=8192)
    def formatted(kind: str, fmt: str | None, value, locale, tzinfo) -> str:
        """Flask-Babel's format_datetime/format_date of `value` in this locale and time zone.

        The text of a moment in a locale and zone never changes, and pages show hundreds of
        dates (formatting one costs about 30 µs), so each worker remembers the recent ones.
        `locale` and `tzinfo` are Flask-Babel's current ones, passed in to be part of the key.
        """
        # Flask-Babel's steps: the format by default, or a named one, may be set by
        # Babel(date_formats=...).
        formats = get_babel().instance.date_formats
        pattern = formats[kind] if fmt is None else fmt
        if pattern in ("short", "medium", "full", "long"):
            pattern = formats[f"{kind}.{pattern}"] or pattern
        if kind == "datetime":
            return dates.format_datetime(value, pattern, tzinfo=tzinfo, locale=locale)
        day = to_user_timezone(value) if isinstance(value, datetime) else value
        return dates.format_date(day, pattern, locale=locale)

    def date_filter(kind: str):
        """The `datetime` or `date` filter (empty for no value)."""

        def format_value(value, fmt="medium"):
            if not value:
                return ""
            return formatted(kind, fmt, value, get_locale(), get_timezone())

        return format_value

    app.jinja_env.globals.update(Role=Role, LOCALES=LOCALES)
    app.jinja_env.filters.update(
        datetime=date_filter("datetime"),
        date=date_filter("date"),
        number=format_decimal,
    )

    @app.context_processor
    def inject_settings():
        return {"neutral_url": app.config["PORTAL_QUICK_EXIT_URL"]}
