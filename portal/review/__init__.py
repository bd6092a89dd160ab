"""Review: what consultants say about a section's text, and their decision on it.

Owns annotations anchored to a version's text (W3C-style text-quote and text-position selectors),
their threads and the resolve / addressed / confirm cycle, carrying annotations across new
versions (or keeping them as orphans), and consultants' decisions bound to one exact version.
"""

from flask import Blueprint

bp = Blueprint("review", __name__)
