"""Availability: the periods when a consultant is away.

Owns a consultant's away periods (first and last day, inclusive, with an optional note for the
editors and never a required reason), the consultant's own page to record and remove them, and the
read side other domains use: who is away on a day (reminders skip them), the labels editors see
when assigning, and the "due while away" flag on the report grid and the assignment page.
"""

from flask import Blueprint

bp = Blueprint("availability", __name__)
