"""Audit: an append-only, hash-chained record of every state change (security.md R5).

Services append an event in the same transaction as the change they make, so both commit or
neither does (R4). The database refuses UPDATE and DELETE on the events (and TRUNCATE on
PostgreSQL); each event's hash covers the previous one, and `flask audit verify` checks the chain.
"""

from flask import Blueprint

bp = Blueprint("audit", __name__, url_prefix="/admin/audit")
