"""Keyboard use: the skip link comes first and takes focus to the main content."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

ACTIVE = "document.activeElement"


@pytest.mark.parametrize("path", ["/", "/account"])
def test_skip_link_is_first_and_moves_focus_to_main(page, axe, ui, path):
    ui.sign_in(page, "consultant@example.org")
    page.goto(path)
    axe(page)

    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    # Shown when focused (it slides in), so a sighted keyboard user knows it is there.
    expect(skip).to_be_in_viewport(ratio=1)

    page.keyboard.press("Enter")
    expect(page.locator("main#main-content")).to_be_focused()
    # The next Tab continues inside the main content, past the header.
    page.keyboard.press("Tab")
    assert page.evaluate(f"!!{ACTIVE}.closest('main')"), page.evaluate(f"{ACTIVE}.outerHTML")
