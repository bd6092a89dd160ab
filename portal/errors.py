"""Domain errors and the friendly, translated error pages (400, 403, 404, 405, 413, 429, 500)."""

from __future__ import annotations

from flask import Flask, current_app, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from portal.extensions import db


class DomainError(Exception):
    """A rule of the domain refused an operation; the message is translatable and shown to users."""

    def __init__(self, message) -> None:
        # Rendered now, in the caller's language, so it can be flashed (the session stores text).
        self.message = str(message)
        super().__init__(self.message)


ERROR_PAGES = {
    400: (
        _l("Something in that request was not right"),
        _l("The portal could not understand what was sent. Please go back and try again."),
    ),
    403: (
        _l("This page is not available to you"),
        _l(
            "Your account does not give access to this page. If you think it should, please ask "
            "an administrator."
        ),
    ),
    404: (
        _l("We could not find that page"),
        _l("The address may be mistyped, or the page may have moved or been removed."),
    ),
    405: (
        _l("That action is not possible here"),
        _l("This page cannot be used that way. Please go back and use the buttons on the page."),
    ),
    413: (
        _l("That was too large to send"),
        _l(
            "What you sent is larger than the portal accepts (%(size)d MB at most). Please send "
            "something smaller.",
        ),
    ),
    429: (
        _l("Please wait a moment"),
        _l(
            "There were too many attempts in a short time, so the portal has paused them for your "
            "safety. Please try again in a few minutes."
        ),
    ),
    500: (
        _l("Something went wrong on our side"),
        _l(
            "This was not your fault. Nothing you did caused it, and the team has been told. "
            "Please try again in a moment."
        ),
    ),
}


def render_error(status: int):
    title, message = ERROR_PAGES[status]
    if status == 413:
        message = message % {"size": current_app.config["PORTAL_MAX_UPLOAD_MB"]}
    return render_template("errors/error.html", status=status, title=title, message=message), status


def register_errorhandlers(app: Flask) -> None:
    from portal.security import preserved_form_response

    def handle_http(error: HTTPException):
        status = error.code if error.code in ERROR_PAGES else 500
        return render_error(status)

    def handle_csrf(error: CSRFError):
        # An expired or missing token: keep what the person typed and let them send it again (S4).
        return preserved_form_response(reason="csrf")

    def handle_server_error(error: Exception):
        db.session.rollback()
        app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        return render_error(500)

    for status in ERROR_PAGES:
        if status != 500:
            app.register_error_handler(status, handle_http)
    app.register_error_handler(CSRFError, handle_csrf)
    app.register_error_handler(500, handle_server_error)
