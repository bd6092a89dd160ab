"""Reports: the report, its ordered sections, and each section's immutable, numbered versions.

Owns writing and importing drafts, publishing versions (bilingual Markdown, with the French flagged
when the English moved on since), comparing versions, and the section workflow from draft to final.
"""

from flask import Blueprint

bp = Blueprint("reports", __name__)
