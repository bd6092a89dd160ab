"""What every CSV export shares."""

from __future__ import annotations

# A cell starting with one of these is read as a formula by spreadsheet programs.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value) -> str:
    """The value as text, made inert for spreadsheets (CSV injection) with a leading quote."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def csv_row(values) -> list[str]:
    """A row of `csv_cell`s."""
    return [csv_cell(value) for value in values]
