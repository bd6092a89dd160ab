"""Photos and survivor narratives: what no general review tool does.

Owns items attached to sections (photos and narratives) with immutable versions, consent records
with scope, expiry and withdrawal, the admin-managed trauma-informed checklists, consultants'
sign-offs bound to one exact version, regions marked on photos, and the clearance report.
Photo files are processed by `imaging` (Flask-free) and kept by `storage` outside `static/`.
"""

from flask import Blueprint

bp = Blueprint("media", __name__)
