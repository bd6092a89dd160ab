"""The header's language switcher turns the whole page French, and back to English.

Pages: sign-in (anonymous), a consultant's home (their assignments) and "My account" (signed in),
and the admin's account list and invitation form (whose navigation has "Reports").

The French terms come from the glossary (/work/shared/guides/glossary.md). Each check first finds
the English strings on the English page, so the "no English left" check on the French page is known
to be able to fail.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

# Every string a person can see or hear on the page: text (hidden or not, e.g. the skip link and the
# mobile menu), the title, and the labels that live in attributes. Text marked as another language
# (the switcher's "English" / "Français") is left out.
PAGE_TEXT_JS = """
() => {
  const docLang = document.documentElement.lang;
  const langOf = (el) => { const c = el.closest('[lang]'); return c ? c.lang : docLang; };
  const parts = [document.title];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const el = walker.currentNode.parentElement;
    if (!el || el.closest('script, style, template, noscript') || langOf(el) !== docLang) continue;
    parts.push(walker.currentNode.nodeValue);
  }
  const labelled = '[title], [aria-label], [alt], [placeholder], input[type=submit], '
    + 'input[type=button]';
  for (const el of document.body.querySelectorAll(labelled)) {
    if (langOf(el) !== docLang) continue;
    for (const name of ['title', 'aria-label', 'alt', 'placeholder']) {
      if (el.hasAttribute(name)) parts.push(el.getAttribute(name));
    }
    if (el.matches('input[type=submit], input[type=button]')) parts.push(el.value);
  }
  return parts.join('\\n');
}
"""

# English strings of each page (none of them is also French).
COMMON_EN = [
    "Survivor Advisory Council Portal",
    "Skip to main content",
    "Quick exit",
    "Leave this site at once",
    "Press Escape twice at any time to leave this site quickly",
]
SIGNED_IN_EN = ["Home", "My account", "Sign out", "Main navigation", "Close"]
ENGLISH = {
    "sign-in": [*COMMON_EN, "Sign in", "E-mail address", "Password", "Forgot your password?"],
    # A consultant's home is their assignments (the test account has none yet).
    "home": [
        *COMMON_EN,
        *SIGNED_IN_EN,
        "Welcome",
        "My assignments",
        "Nothing is assigned to you at the moment",
    ],
    "account": [
        *COMMON_EN,
        *SIGNED_IN_EN,
        "Profile and language",
        "Password",
        "Second factor",
        "Display name",
        "Language",
        "Save changes",
        "Who sees what",
    ],
    "accounts": [
        *COMMON_EN,
        *SIGNED_IN_EN,
        "Reports",
        "Accounts",
        "Invite someone",
        "Filter accounts",
        "Search",
        "All roles",
        "Display name",
        "Legal name",
        "E-mail address",
        "Last sign-in",
    ],
    "invite": [
        *COMMON_EN,
        *SIGNED_IN_EN,
        "Reports",
        "Invite someone",
        "You will get a one-time link to pass on",
        "Display name",
        "Legal name (optional)",
        "Seen by administrators only",
        "Language for their e-mails and pages",
        "Create invitation",
        "Cancel",
    ],
}
# Glossary terms each French page must show.
FRENCH = {
    "sign-in": ["Se connecter", "Sortie rapide", "portail"],
    "home": ["Se déconnecter", "Sortie rapide", "Mon compte", "Mes affectations"],
    "account": [
        "Se déconnecter",
        "Sortie rapide",
        "Mon compte",
        "Nom d'affichage",
        "Second facteur",
    ],
    "accounts": ["Se déconnecter", "Sortie rapide", "Rapports", "Nom d'affichage", "Nom légal"],
    "invite": [
        "Se déconnecter",
        "Sortie rapide",
        "Rapports",
        "Nom d'affichage",
        "Nom légal",
        "Consultante",
    ],
}


def page_text(page) -> str:
    page.wait_for_load_state("load")
    text = page.evaluate(PAGE_TEXT_JS)
    text = text.replace("\u2019", "'")  # typographic apostrophes, as French typesetting uses
    return re.sub(r"\s+", " ", text)  # also folds the (narrow) no-break spaces of French


def contains(text: str, phrase: str) -> bool:
    return re.search(r"(?<!\w)" + re.escape(phrase) + r"(?!\w)", text, re.IGNORECASE) is not None


def english_present(page, which: str) -> list[str]:
    text = page_text(page)
    return [phrase for phrase in ENGLISH[which] if contains(text, phrase)]


def assert_english(page, which: str) -> None:
    expect(page.locator("html")).to_have_attribute("lang", "en")
    missing = [phrase for phrase in ENGLISH[which] if phrase not in english_present(page, which)]
    assert not missing, f"the English {which} page lacks: {missing}"
    switch = page.locator("header form.portal-lang-switch button")
    expect(switch).to_have_text("Français")
    expect(switch).to_have_attribute("lang", "fr")


def french_problems(page, which: str) -> list[str]:
    """What is wrong with the French page (collected, so one run reports every string)."""
    problems = []
    lang = page.locator("html").get_attribute("lang")
    if lang != "fr":
        problems.append(f"{which}: <html lang> is {lang!r}, not 'fr'")
    still_english = english_present(page, which)
    if still_english:
        problems.append(f"{which}: still in English: {still_english}")
    text = page_text(page)
    missing = [phrase for phrase in FRENCH[which] if not contains(text, phrase)]
    if missing:
        problems.append(f"{which}: French terms missing: {missing}")
    switch = page.locator("header form.portal-lang-switch button")
    if switch.inner_text().strip() != "English" or switch.get_attribute("lang") != "en":
        problems.append(f"{which}: the switcher does not offer English (lang=en)")
    return problems


def switch_language(page, ui, to: str) -> None:
    before = ui.urlpath(page.url)
    with page.expect_navigation():
        ui.language_switcher(page).click()
    expect(page.locator("html")).to_have_attribute("lang", to)
    assert ui.urlpath(page.url) == before, "the switcher should stay on the same page"


def test_sign_in_page_switches_to_french_and_back(page, axe, ui):
    page.goto("/login")
    assert_english(page, "sign-in")
    axe(page)

    switch_language(page, ui, "fr")
    problems = french_problems(page, "sign-in")
    axe(page)

    switch_language(page, ui, "en")
    assert_english(page, "sign-in")
    axe(page)
    assert not problems, "\n".join(problems)


def test_home_and_account_switch_to_french_and_back(page, axe, ui, make_account):
    # An account of its own: switching while signed in saves the language with the account.
    person = make_account("consultant", locale="en")
    ui.sign_in(page, person.email, person.password)
    assert ui.urlpath(page.url) == "/"
    assert_english(page, "home")
    axe(page)

    switch_language(page, ui, "fr")
    problems = french_problems(page, "home")
    axe(page)

    page.locator("header nav a[href='/account']").click()
    expect(page).to_have_url(re.compile(r"/account$"))
    problems += french_problems(page, "account")
    # The choice is saved with the account, as the account page shows.
    expect(page.locator("input[name=locale][value=fr]")).to_be_checked()
    axe(page)

    # Saved, not just remembered by this browser: it applies on the next sign-in.
    ui.sign_out_button(page).click()
    expect(page).to_have_url(re.compile(r"/login$"))
    ui.sign_in(page, person.email, person.password)
    expect(page.locator("html")).to_have_attribute("lang", "fr")

    page.goto("/account")
    switch_language(page, ui, "en")
    assert_english(page, "account")
    expect(page.locator("input[name=locale][value=en]")).to_be_checked()
    axe(page)
    page.locator("header nav a[href='/']").click()
    assert_english(page, "home")
    axe(page)
    assert not problems, "\n".join(problems)


def test_admin_account_pages_switch_to_french_and_back(page, axe, ui, make_account):
    admin = make_account("admin", locale="en")
    ui.sign_in(page, admin.email, admin.password)
    page.locator("header nav a[href='/admin/accounts']").click()
    assert_english(page, "accounts")
    axe(page)
    page.locator("main a[href='/admin/accounts/invite']").click()
    assert_english(page, "invite")
    axe(page)

    switch_language(page, ui, "fr")
    problems = french_problems(page, "invite")
    axe(page)
    page.locator("header nav a[href='/admin/accounts']").click()
    problems += french_problems(page, "accounts")
    axe(page)

    switch_language(page, ui, "en")
    assert_english(page, "accounts")
    assert not problems, "\n".join(problems)
