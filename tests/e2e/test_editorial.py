"""The editorial journey in a real browser, in English and in French.

The demo editor adds a section (with a content note) to the demo report "2027 Trafficking in
Persons Report", imports a Word file into it, publishes it and offers it to the demo consultant
Rivière with a due date. Rivière signs in (a browser of her own), finds the offer on her dashboard,
accepts it, starts and opens the draft (the content note first). The editor then sees the new state
on the report's dashboard. axe-core checks every page on the way.

The live server's data is shared by the whole session, so each run makes a uniquely named section.
Both demo people keep French as their saved language: the English run switches to English through
the header and switches back at the end (and a finalizer restores it whatever happens).
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from flask_babel import force_locale, format_date, gettext
from playwright.sync_api import expect

from portal.models import utcnow
from tests.reports.docx_builder import report_draft_docx

pytestmark = pytest.mark.e2e

EDITOR = "editor@example.org"
CONSULTANT = "consultant2@example.org"
CONSULTANT_NAME = "Rivière"
REPORT_TITLE = {
    "en": "2027 Trafficking in Persons Report",
    "fr": "Rapport 2027 sur la traite des personnes",
}


@pytest.fixture
def words(live_server):
    """The portal's own wording in a language, as its catalog has it."""

    def say(lang: str, message: str, **variables) -> str:
        with live_server.app.test_request_context(), force_locale(lang):
            return gettext(message, **variables)

    return say


@pytest.fixture
def long_date(live_server):
    def format_long(lang: str, day) -> str:
        with live_server.app.test_request_context(), force_locale(lang):
            return format_date(day, "long")

    return format_long


@pytest.fixture
def saved_languages(live_server):
    """Whatever happens in the test, the demo people keep the language they had."""
    from portal.accounts import services
    from portal.extensions import db

    with live_server.app.app_context():
        before = {email: services.user_by_email(email).locale for email in (EDITOR, CONSULTANT)}
    yield before
    with live_server.app.app_context():
        for email, locale in before.items():
            services.user_by_email(email).locale = locale
        db.session.commit()


def use_language(page, ui, lang: str) -> None:
    """Switch through the header when the page is not in `lang` yet (the choice is saved)."""
    if page.locator("html").get_attribute("lang") != lang:
        with page.expect_navigation():
            ui.language_switcher(page).click()
    expect(page.locator("html")).to_have_attribute("lang", lang)


def section_id_of(url: str) -> int:
    match = re.search(r"/sections/(\d+)/", url)
    assert match, url
    return int(match[1])


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_editor_prepares_and_offers_a_section_and_the_consultant_opens_it(
    page, fresh_context, axe, ui, words, long_date, saved_languages, tmp_path, lang
):
    tag = uuid.uuid4().hex[:6]
    title = {"en": f"Consultation findings {tag}", "fr": f"Résultats des consultations {tag}"}
    heading = f"Findings {tag}"
    note = {
        "en": "Quotes survivors on recruitment debts, without graphic detail.",
        "fr": "Cite des survivantes sur les dettes de recrutement, sans détails crus.",
    }
    due = utcnow().date() + timedelta(days=12)
    assert saved_languages[EDITOR] == "fr" and saved_languages[CONSULTANT] == "fr"

    # The editor opens the demo report.
    ui.sign_in(page, EDITOR)
    use_language(page, ui, lang)
    axe(page)
    page.locator("header nav.usa-nav .usa-nav__primary a[href='/reports']").click()
    expect(page).to_have_url(re.compile(r"/reports$"))
    axe(page)
    page.locator("main table a", has_text=REPORT_TITLE[lang]).click()
    expect(page.locator("main h1")).to_have_text(REPORT_TITLE[lang])
    report_url = page.url
    axe(page)

    # A new section, with a content note.
    page.locator("main a[href$='/sections/new']").click()
    expect(page.locator("main h1")).to_have_text(words(lang, "New section"))
    axe(page)
    page.locator("#title_en").fill(title["en"])
    page.locator("#title_fr").fill(title["fr"])
    page.locator("#content_note_en").fill(note["en"])
    page.locator("#content_note_fr").fill(note["fr"])
    page.locator("main form button[type=submit], main form input[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/sections/\d+/publish$"))
    section_id = section_id_of(page.url)
    expect(page.locator("main")).to_contain_text(
        words(lang, "The section is created. Write or import its first version.")
    )
    axe(page)

    # Import a Word document into the English text; nothing is published yet.
    docx_path = tmp_path / f"findings-{tag}.docx"
    docx_path.write_bytes(report_draft_docx(heading=heading))
    page.locator("input[type=file][name=document]").set_input_files(docx_path)
    with page.expect_navigation():
        page.locator("[name=import_document]").click()
    expect(page.locator("main")).to_contain_text(
        words(lang, "The file is imported into the text below. Check it, then publish.")
    )
    body_en = page.locator("#body_en").input_value()
    assert body_en.startswith(f"# {heading}\n"), body_en
    assert "**paid advisory roles**" in body_en and "> Nothing about us without us." in body_en
    assert page.locator("#body_fr").input_value() == ""
    axe(page)

    # Preview, then publish.
    page.locator("#body_fr").fill(f"# Constats {tag}\n\nLes consultantes ont été rémunérées.")
    with page.expect_navigation():
        page.locator("[name=preview]").click()
    preview = page.locator("section[aria-labelledby=preview-heading]")
    expect(preview.locator("[lang=en] h1")).to_have_text(heading)
    expect(preview.locator("blockquote")).to_contain_text("Nothing about us without us.")
    axe(page)
    page.locator("#change_summary").fill("Imported from Word.")
    with page.expect_navigation():
        page.locator("[name=publish]").click()
    expect(page).to_have_url(re.compile(rf"/sections/{section_id}$"))
    expect(page.locator("main")).to_contain_text(
        words(lang, "Version %(number)d is published.", number=1)
    )
    axe(page)

    # Offer it to Rivière with a due date and instructions.
    page.locator(f"main a[href='/sections/{section_id}/assign']").click()
    expect(page).to_have_url(re.compile(rf"/sections/{section_id}/assign$"))
    axe(page)
    page.locator("#consultant").select_option(label=CONSULTANT_NAME)
    page.locator("#due_on").fill(due.isoformat())
    page.locator("#instructions_en").fill("Does the summary reflect what you told us?")
    page.locator("#instructions_fr").fill("Le résumé reflète-t-il ce que vous nous avez dit ?")
    with page.expect_navigation():
        page.locator("main form [type=submit]").click()
    expect(page).to_have_url(re.compile(rf"/sections/{section_id}$"))
    expect(page.locator("main")).to_contain_text(
        words(lang, "The section is offered to %(name)s.", name=CONSULTANT_NAME)
    )
    axe(page)

    # Rivière, in a browser of her own, finds the offer on her dashboard.
    consultant = fresh_context().new_page()
    ui.sign_in(consultant, CONSULTANT)
    use_language(consultant, ui, lang)
    expect(consultant.locator("main h1")).to_contain_text(CONSULTANT_NAME)
    card = consultant.locator("main li.usa-card", has_text=title[lang])
    expect(card).to_have_count(1)
    expect(card).to_contain_text(words(lang, "Offered"))
    expect(card).to_contain_text(words(lang, "Due %(date)s", date=long_date(lang, due)))
    expect(card).to_contain_text(words(lang, "Waiting for you to accept or decline."))
    expect(card).to_contain_text(words(lang, "This section has a content note."))
    axe(consultant)

    card.locator("h3 a").click()
    expect(consultant).to_have_url(re.compile(r"/assignments/\d+$"))
    assignment_path = ui.urlpath(consultant.url)
    expect(consultant.locator("main")).to_contain_text(note[lang])
    axe(consultant)
    with consultant.expect_navigation():
        consultant.locator("main form[action$='/accept'] button").click()
    expect(consultant.locator("main")).to_contain_text(
        words(lang, "Thank you. The assignment is accepted; open the draft when you are ready.")
    )
    axe(consultant)

    # She starts: the draft opens with its content note first, then the text when she chooses.
    with consultant.expect_navigation():
        consultant.locator("main form[action$='/start'] button").click()
    expect(consultant).to_have_url(re.compile(rf"/sections/{section_id}/read$"))
    expect(consultant.locator("main")).to_contain_text(note[lang])
    expect(consultant.locator("main article")).to_have_count(0)
    axe(consultant)
    consultant.locator("main a", has_text=words(lang, "Continue to the text")).click()
    expect(consultant.locator("main article h1")).to_have_text(
        heading if lang == "en" else f"Constats {tag}"
    )
    axe(consultant)
    # Both languages side by side.
    consultant.locator("main nav a[href*='lang=both']").click()
    expect(consultant.locator("main article")).to_have_count(2)
    axe(consultant)

    # The editor sees the new state on the report's dashboard.
    page.goto(report_url + f"?q={tag}")
    row = page.locator(f"tr#section-{section_id}")
    cell = row.locator(f"a[href='{assignment_path}']")
    expect(cell).to_contain_text(words(lang, "In review"))
    expect(row).to_contain_text(title[lang])
    axe(page)

    # Put the saved languages back as they were.
    use_language(page, ui, saved_languages[EDITOR])
    use_language(consultant, ui, saved_languages[CONSULTANT])
