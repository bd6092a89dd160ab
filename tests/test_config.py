"""Configuration from the environment (security.md D1, S1, B3)."""

from __future__ import annotations

import pytest

from portal.config import ConfigError, load_config

PRODUCTION = {
    "PORTAL_ENV": "production",
    "SECRET_KEY": "s" * 48,
    "DATABASE_URL": "postgresql+psycopg://portal@db.internal/portal",
    "PORTAL_BASE_URL": "https://portal.example.org",
}


def test_local_use_generates_and_keeps_a_secret_key(tmp_path):
    first = load_config(tmp_path, {})
    second = load_config(tmp_path, {})
    assert len(first["SECRET_KEY"]) >= 32
    assert first["SECRET_KEY"] == second["SECRET_KEY"]
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    env = {k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_config(tmp_path, env)
    assert not (tmp_path / "secret_key").exists()


def test_production_turns_on_secure_cookies_hsts_and_second_factor(tmp_path):
    config = load_config(tmp_path, PRODUCTION)
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["REMEMBER_COOKIE_SECURE"] is True
    assert config["PORTAL_HSTS"] is True
    assert config["PORTAL_SECOND_FACTOR_ROLES"] == {"admin", "editor"}
    assert config["DEBUG"] is False


def test_development_defaults(tmp_path):
    config = load_config(tmp_path, {})
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'portal.sqlite3'}"
    assert config["SESSION_COOKIE_SECURE"] is False
    assert config["SESSION_COOKIE_HTTPONLY"] is True
    assert config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert config["PORTAL_SECOND_FACTOR_ROLES"] == frozenset()
    assert config["RATELIMIT_STORAGE_URI"] == "memory://"


def test_settings_are_read_from_the_environment(tmp_path):
    config = load_config(
        tmp_path,
        {
            "DATABASE_URL": "postgresql+psycopg://u@h/db",
            "PORTAL_SESSION_IDLE_MINUTES": "10",
            "PORTAL_SESSION_MAX_HOURS": "4",
            "PORTAL_MAX_UPLOAD_MB": "5",
            "PORTAL_SECOND_FACTOR_ROLES": "admin",
            "PORTAL_RATELIMIT_STORAGE_URL": "redis://127.0.0.1:6379/0",
            "PORTAL_MAIL_SERVER": "smtp.example.org",
            "PORTAL_QUICK_EXIT_URL": "https://www.example.com/",
        },
    )
    assert config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_pre_ping"] is True
    assert "statement_timeout" in config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"]["options"]
    assert config["PORTAL_SESSION_IDLE_MINUTES"] == 10
    assert config["PORTAL_SESSION_MAX_HOURS"] == 4
    assert config["MAX_CONTENT_LENGTH"] == 5 * 1024 * 1024
    assert config["PORTAL_SECOND_FACTOR_ROLES"] == {"admin"}
    assert config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/0"
    assert config["PORTAL_MAIL_SERVER"] == "smtp.example.org"
    assert config["PORTAL_QUICK_EXIT_URL"] == "https://www.example.com/"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PORTAL_ENV", "staging"),
        ("PORTAL_SESSION_IDLE_MINUTES", "ten"),
        ("PORTAL_SECOND_FACTOR_ROLES", "admin,root"),
    ],
)
def test_bad_settings_are_refused_with_a_clear_message(tmp_path, name, value):
    with pytest.raises(ConfigError, match=name):
        load_config(tmp_path, {name: value})


def test_production_app_sends_hsts(tmp_path, monkeypatch):
    from portal import create_app

    for key, value in PRODUCTION.items():
        monkeypatch.setenv(key, value)
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.sqlite3'}", "TESTING": True}
    )
    response = app.test_client().get("/healthz", base_url="https://portal.example.org")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
