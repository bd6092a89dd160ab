"""Configuration from the environment.

Everything the deployment can change is read here, once, when the app is created; nothing reads
configuration at import time. Every variable is documented in README.md.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

from sqlalchemy.engine import make_url

PROJECT_ROOT = Path(__file__).resolve().parent.parent

ENVIRONMENTS = ("development", "production", "testing")
ROLE_NAMES = ("admin", "editor", "consultant")


class ConfigError(RuntimeError):
    """Raised when the environment does not describe a safe, working configuration."""


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from exc


def _days(value: str) -> tuple[int, ...]:
    """A comma-separated list of whole days, largest first ("7,2")."""
    try:
        days = {int(part) for part in value.split(",") if part.strip()}
    except ValueError as error:
        raise ConfigError(
            f"PORTAL_REMINDER_DAYS must be whole days, like 7,2 (got {value!r})."
        ) from error
    if any(day < 0 or day > 60 for day in days):
        raise ConfigError("PORTAL_REMINDER_DAYS must be between 0 and 60 days.")
    return tuple(sorted(days, reverse=True))


def _roles(raw: str) -> frozenset[str]:
    roles = frozenset(part.strip() for part in raw.split(",") if part.strip())
    unknown = roles - set(ROLE_NAMES)
    if unknown:
        raise ConfigError(
            f"PORTAL_SECOND_FACTOR_ROLES has unknown roles: {', '.join(sorted(unknown))}"
        )
    return roles


def local_secret_key(instance_path: Path) -> str:
    """Return the instance folder's secret key, creating it (mode 0600) on first use."""
    key_file = instance_path / "secret_key"
    if key_file.exists():
        return key_file.read_text(encoding="utf-8").strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key)
    return key


def engine_options(database_url: str) -> dict:
    """Engine settings per backend (security.md R6); SQLite pragmas are set on connect."""
    backend = make_url(database_url).get_backend_name()
    if backend == "postgresql":
        return {
            "pool_pre_ping": True,
            "connect_args": {"options": "-c statement_timeout=30000"},
        }
    if backend == "sqlite":
        return {"connect_args": {"timeout": 15}}
    return {}


def load_config(instance_path: Path, env: dict[str, str] | None = None) -> dict:
    """Build the Flask config mapping from environment variables."""
    env = dict(os.environ if env is None else env)
    portal_env = env.get("PORTAL_ENV", "development").strip() or "development"
    if portal_env not in ENVIRONMENTS:
        raise ConfigError(
            f"PORTAL_ENV must be one of {', '.join(ENVIRONMENTS)}, not {portal_env!r}"
        )
    production = portal_env == "production"

    secret_key = env.get("SECRET_KEY", "").strip()
    if not secret_key:
        if production:
            raise ConfigError("SECRET_KEY must be set when PORTAL_ENV=production.")
        secret_key = local_secret_key(instance_path)
    elif production and len(secret_key) < 32:
        raise ConfigError("SECRET_KEY must be at least 32 characters in production.")

    database_url = env.get("DATABASE_URL", "").strip() or (
        f"sqlite:///{instance_path / 'portal.sqlite3'}"
    )
    default_2fa_roles = "admin,editor" if production else ""
    base_url = env.get("PORTAL_BASE_URL", "").strip().rstrip("/") or "http://127.0.0.1:5000"
    if production and not base_url.startswith("https://"):
        raise ConfigError("PORTAL_BASE_URL must be an https:// address when PORTAL_ENV=production.")

    upload_mb = _int(env, "PORTAL_MAX_UPLOAD_MB", 20)
    return {
        "PORTAL_ENV": portal_env,
        "SECRET_KEY": secret_key,
        "DEBUG": False,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options(database_url),
        "PORTAL_BASE_URL": base_url,
        # Sessions (security.md S1, S3, S4).
        "SESSION_COOKIE_NAME": "portal_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_DURATION": timedelta(seconds=0),
        "PORTAL_SESSION_IDLE_MINUTES": _int(env, "PORTAL_SESSION_IDLE_MINUTES", 30),
        "PORTAL_SESSION_MAX_HOURS": _int(env, "PORTAL_SESSION_MAX_HOURS", 12),
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=_int(env, "PORTAL_SESSION_MAX_HOURS", 12)),
        "WTF_CSRF_TIME_LIMIT": _int(env, "PORTAL_SESSION_MAX_HOURS", 12) * 3600,
        "PORTAL_HSTS": production,
        "PREFERRED_URL_SCHEME": "https" if production else "http",
        # Accounts.
        "PORTAL_SECOND_FACTOR_ROLES": _roles(
            env.get("PORTAL_SECOND_FACTOR_ROLES", default_2fa_roles)
        ),
        "PORTAL_INVITATION_DAYS": _int(env, "PORTAL_INVITATION_DAYS", 7),
        "PORTAL_RESET_HOURS": _int(env, "PORTAL_RESET_HOURS", 24),
        "PORTAL_ARGON2": {},  # argon2-cffi defaults (RFC 9106 low-memory profile)
        # Rate limiting (security.md S6).
        "RATELIMIT_STORAGE_URI": env.get("PORTAL_RATELIMIT_STORAGE_URL", "").strip() or "memory://",
        "RATELIMIT_ENABLED": True,
        # If Redis cannot be reached, count in this process's memory rather than fail sign-in.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_HEADERS_ENABLED": False,
        "PORTAL_LOGIN_LIMIT_PER_ADDRESS": env.get(
            "PORTAL_LOGIN_LIMIT_PER_ADDRESS", "30 per 5 minutes"
        ),
        "PORTAL_LOGIN_LIMIT_PER_ACCOUNT": env.get(
            "PORTAL_LOGIN_LIMIT_PER_ACCOUNT", "5 per 5 minutes; 20 per day"
        ),
        # Uploads and request size (security.md I4).
        "MAX_CONTENT_LENGTH": upload_mb * 1024 * 1024,
        "MAX_FORM_MEMORY_SIZE": 2 * 1024 * 1024,
        "MAX_FORM_PARTS": 1000,
        "PORTAL_MAX_UPLOAD_MB": upload_mb,
        "PORTAL_UPLOAD_DIR": env.get("PORTAL_UPLOAD_DIR", "").strip()
        or str(instance_path / "uploads"),
        # Mail: unset server means mail is off and one-time links are shown to the admin only.
        "PORTAL_MAIL_SERVER": env.get("PORTAL_MAIL_SERVER", "").strip(),
        "PORTAL_MAIL_PORT": _int(env, "PORTAL_MAIL_PORT", 587),
        "PORTAL_MAIL_USERNAME": env.get("PORTAL_MAIL_USERNAME", ""),
        "PORTAL_MAIL_PASSWORD": env.get("PORTAL_MAIL_PASSWORD", ""),
        "PORTAL_MAIL_STARTTLS": _bool(env.get("PORTAL_MAIL_STARTTLS"), default=True),
        "PORTAL_MAIL_SENDER": env.get("PORTAL_MAIL_SENDER", "").strip() or "portal@localhost",
        # Without an SMTP server, notification e-mails are written here as .eml files.
        "PORTAL_MAIL_FOLDER": env.get("PORTAL_MAIL_FOLDER", "").strip()
        or str(instance_path / "mail"),
        # Reminders before a due date, in days (the reminder command sends each one once).
        "PORTAL_REMINDER_DAYS": _days(env.get("PORTAL_REMINDER_DAYS", "7,2")),
        # Safety (trauma-informed.md): where the quick-exit control goes.
        "PORTAL_QUICK_EXIT_URL": env.get("PORTAL_QUICK_EXIT_URL", "").strip()
        or "https://www.weather.gov/",
        # Translations live at the project root, not inside the package.
        "BABEL_TRANSLATION_DIRECTORIES": str(PROJECT_ROOT / "translations"),
        "BABEL_DEFAULT_LOCALE": "en",
        "BABEL_DEFAULT_TIMEZONE": "UTC",
    }
