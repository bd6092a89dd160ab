"""The French catalog is complete and covers the code; the locale follows the person."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
FR_PO = ROOT / "translations" / "fr" / "LC_MESSAGES" / "messages.po"
KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "pgettext": ((1, "c"), 2),
    "lazy_gettext": None,
    "_l": None,
    "lazy_pgettext": ((1, "c"), 2),
}
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]|%[sd]")


def _catalog():
    with FR_PO.open("rb") as handle:
        return read_po(handle, locale="fr")


def _code_messages() -> set[str]:
    method_map = [
        ("portal/**.py", "python"),
        ("portal/templates/**.html", "jinja2"),
        ("portal/templates/**.txt", "jinja2"),
    ]
    found = set()
    # Babel skips folders starting with "_" by default; templates/_macros must be read too.
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        str(ROOT),
        method_map,
        keywords={**KEYWORDS},
        directory_filter=lambda path: not Path(path).name.startswith("."),
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def test_french_catalog_is_complete_and_not_fuzzy():
    catalog = _catalog()
    problems = []
    for message in catalog:
        if not message.id:
            continue
        if message.fuzzy:
            problems.append(f"fuzzy: {message.id!r}")
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(s.strip() for s in strings):
            problems.append(f"untranslated: {message.id!r}")
    assert not problems, "\n".join(problems)


def test_every_string_in_the_code_is_in_the_catalog():
    ids = {m.id[0] if isinstance(m.id, tuple) else m.id for m in _catalog() if m.id}
    missing = sorted(_code_messages() - ids)
    assert not missing, "run `make translations` and translate:\n" + "\n".join(missing)


def test_french_keeps_every_placeholder():
    for message in _catalog():
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        expected = set(PLACEHOLDER.findall(ids[-1]))
        for string in strings:
            assert set(PLACEHOLDER.findall(string)) <= expected | set(
                PLACEHOLDER.findall(ids[0])
            ), message.id


@pytest.mark.parametrize(
    ("accept", "expected"), [("fr-CA,fr;q=0.9", "fr"), ("en-GB", "en"), ("de", "en"), ("", "en")]
)
def test_anonymous_locale_follows_accept_language(client, accept, expected):
    response = client.get("/login", headers={"Accept-Language": accept} if accept else {})
    assert f'<html lang="{expected}">' in response.get_data(as_text=True)


def test_switcher_beats_accept_language_and_account_beats_switcher(client, auth, make_user):
    client.post_form("/language", {"locale": "fr", "next": "/login"})
    page = client.get("/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="fr">' in page
    assert "Se connecter" in page

    make_user("consultant", email="en@example.org", locale="en")
    auth.login("en@example.org")
    page = client.get("/", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert '<html lang="en">' in page


def test_dates_are_formatted_per_locale(app):
    from datetime import UTC, datetime

    from flask_babel import force_locale, format_date

    day = datetime(2027, 3, 5, tzinfo=UTC)
    with app.test_request_context():
        with force_locale("en"):
            assert format_date(day, "long") == "March 5, 2027"
        with force_locale("fr"):
            assert format_date(day, "long") == "5 mars 2027"
