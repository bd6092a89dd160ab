"""What every domain's forms share."""

from __future__ import annotations


def strip_whitespace(value):
    """WTForms filter: trim text, so a value of only spaces counts as empty."""
    return value.strip() if isinstance(value, str) else value
