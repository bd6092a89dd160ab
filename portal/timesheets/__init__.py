"""Time records: the paid time consultants spend on their assignments.

Owns a consultant's records of time spent on one of their assignments (day, duration, activity,
optional note), the editors' approval of each record or their question about it, the consultant's
changes and resubmission, and the monthly statement of approved time used for payment (printable
and CSV).
"""

from flask import Blueprint

bp = Blueprint("timesheets", __name__)
