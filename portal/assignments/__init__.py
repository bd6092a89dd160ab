"""Assignments: a section offered to a consultant, with a due date, and how they answer it.

Owns the offer and its answers (accept, decline with an optional reason), starting and submitting
the review, requests for more time and the editor's answer, and both dashboards.
"""

from flask import Blueprint

bp = Blueprint("assignments", __name__)
