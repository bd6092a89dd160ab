"""Accounts: people, their roles, how they sign in, and how they manage their own account.

Owns the User model, passwords (Argon2id), one-time invitation and reset links, the TOTP second
factor with recovery codes, server-side session revocation, and the admin's account management.
"""

from flask import Blueprint

bp = Blueprint("accounts", __name__)
admin_bp = Blueprint("admin", __name__, url_prefix="/admin")
