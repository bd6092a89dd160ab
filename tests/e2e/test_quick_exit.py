"""Quick exit: the button and Escape pressed twice leave for the neutral site, with no way back."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

QUICK_EXIT_NAME = {"en": "Quick exit", "fr": "Sortie rapide"}


def assert_left_for_neutral_site(page, ui) -> None:
    page.wait_for_url(ui.neutral_url)
    assert page.url == ui.neutral_url
    expect(page.get_by_role("heading", name="Today's weather")).to_be_visible()
    expect(page).to_have_title("Weather")


def assert_no_way_back(page, ui, exited: str, previous: str) -> None:
    """Back goes to the page before the exited one: the exited page left no history entry."""
    page.go_back()
    page.wait_for_load_state("load")
    assert page.url != exited, "Back returned to the page that was exited"
    assert page.url == previous


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_quick_exit_button_leaves_and_replaces_the_page(page, axe, ui, make_account, lang):
    person = make_account("consultant", locale=lang)
    ui.sign_in(page, person.email, person.password)
    home = page.url
    page.locator("header nav a[href='/account']").click()
    expect(page.locator("html")).to_have_attribute("lang", lang)
    axe(page)
    exited = page.url

    button = page.get_by_role("link", name=QUICK_EXIT_NAME[lang], exact=True)
    expect(button).to_be_visible()
    button.click()

    assert_left_for_neutral_site(page, ui)
    assert_no_way_back(page, ui, exited, previous=home)


@pytest.mark.parametrize("focus", ["page", "text field"])
def test_escape_twice_leaves_from_a_signed_in_page(page, axe, ui, focus):
    ui.sign_in(page, "consultant@example.org")
    home = page.url
    page.locator("header nav a[href='/account']").click()
    page.wait_for_load_state("load")
    axe(page)
    exited = page.url
    name_field = page.locator("#display_name")
    if focus == "text field":
        name_field.click()
        name_field.press("End")
        page.keyboard.type(" (typing)")
        expect(name_field).to_be_focused()

    # One press is not enough: Escape alone must stay usable (closing menus, clearing input).
    page.keyboard.press("Escape")
    page.wait_for_timeout(300)
    assert page.url == exited
    if focus == "text field":
        expect(name_field).to_have_value("Amara (typing)")

    page.keyboard.press("Escape")
    assert_left_for_neutral_site(page, ui)
    assert_no_way_back(page, ui, exited, previous=home)


def test_escape_twice_leaves_the_sign_in_page_from_its_email_field(page, axe, ui):
    before = ui.neutral_url + "before-the-portal"
    page.goto(before)
    page.goto("/login")
    axe(page)
    exited = page.url
    email = page.locator("#email")
    email.fill("someone@example.org")
    expect(email).to_be_focused()

    page.keyboard.press("Escape")
    page.keyboard.press("Escape")
    assert_left_for_neutral_site(page, ui)
    assert_no_way_back(page, ui, exited, previous=before)
