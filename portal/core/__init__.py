"""Core: the home page, the language switcher and the health check that monitoring relies on."""

from flask import Blueprint

bp = Blueprint("core", __name__)
