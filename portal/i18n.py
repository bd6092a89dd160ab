"""Language choice: saved choice, else the switcher's, else the browser's, else English."""

from __future__ import annotations

from flask import Flask, has_request_context, request, session
from flask_babel import get_locale
from flask_login import current_user
from markupsafe import Markup, escape

from portal.accounts.models import LOCALES


def select_locale() -> str | None:
    if not has_request_context():
        return None  # CLI and background work: the default locale
    if current_user and current_user.is_authenticated:
        return current_user.locale
    chosen = session.get("locale")
    if chosen in LOCALES:
        return chosen
    return request.accept_languages.best_match(list(LOCALES)) or "en"


def bilingual(obj, field: str) -> Markup:
    """A bilingual field in the reader's language, else the other one marked with its lang."""
    locale = str(get_locale() or "en")
    other = "fr" if locale == "en" else "en"
    own, fallback = getattr(obj, f"{field}_{locale}", None), getattr(obj, f"{field}_{other}", None)
    if own:
        return escape(own)
    if fallback:
        return Markup('<span lang="{}">{}</span>').format(other, fallback)
    return Markup("")


def register_i18n(app: Flask) -> None:
    app.jinja_env.globals["bilingual"] = bilingual

    @app.context_processor
    def inject_locale():
        locale = str(get_locale() or "en")
        other = "fr" if locale == "en" else "en"
        return {
            "current_locale": locale,
            "other_locale": other,
            "other_locale_name": LOCALES[other],
        }
