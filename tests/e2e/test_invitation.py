"""An admin invites a new consultant, who sets a password through the one-time link and signs in."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def test_invited_consultant_sets_a_password_and_signs_in(page, fresh_context, axe, ui, base_url):
    tag = uuid.uuid4().hex[:8]
    email = f"new-consultant-{tag}@example.org"
    name = f"Nadia {tag}"
    password = f"lantern orchard {tag} quietly"

    # The admin creates the invitation.
    ui.sign_in(page, "admin@example.org")
    main_nav = page.get_by_role("navigation", name="Main navigation")
    main_nav.get_by_role("link", name="Accounts").click()
    expect(page.get_by_role("heading", level=1, name="Accounts")).to_be_visible()
    axe(page)
    page.get_by_role("link", name="Invite someone").click()
    expect(page.get_by_role("heading", level=1, name="Invite someone")).to_be_visible()
    axe(page)
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Display name").fill(name)
    page.get_by_label("Legal name (optional)").fill(f"Nadia Example {tag}")
    # USWDS radios: the styled label is what a person clicks.
    role = page.get_by_role("group", name="Role")
    role.get_by_text("Consultant", exact=True).click()
    expect(role.get_by_label("Consultant")).to_be_checked()
    language = page.get_by_role("group", name="Language for their e-mails and pages")
    language.get_by_text("English", exact=True).click()
    expect(language.get_by_label("English")).to_be_checked()
    page.get_by_role("button", name="Create invitation").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(f"Invitation link for {name}")
    link = page.get_by_label("One-time link").input_value()
    assert re.fullmatch(re.escape(base_url) + r"/invitation/[A-Za-z0-9_\-]{20,}", link), link
    axe(page)
    ui.sign_out_button(page).click()
    expect(page).to_have_url(re.compile(r"/login$"))

    # The invited person, in a browser of their own.
    newcomer = fresh_context().new_page()
    newcomer.goto(link)
    new_password = newcomer.get_by_label("New password", exact=True)
    expect(newcomer.get_by_role("heading", level=1)).to_have_text(f"Welcome, {name}")
    axe(newcomer)

    new_password.fill("too short")
    newcomer.get_by_label("Repeat the new password").fill("too short")
    newcomer.get_by_role("button", name="Save password").click()
    error = newcomer.locator("#password-error")
    expect(error).to_contain_text("at least 12 characters")
    expect(new_password).to_have_attribute("aria-invalid", "true")
    assert newcomer.url == link  # still on the link page, nothing saved
    axe(newcomer)

    new_password.fill(password)
    newcomer.get_by_label("Repeat the new password").fill(password)
    newcomer.get_by_role("button", name="Save password").click()
    expect(newcomer).to_have_url(base_url + "/")
    expect(newcomer.locator("header .portal-header-user__name")).to_have_text(name)
    expect(newcomer.get_by_role("heading", level=1)).to_have_text(f"Welcome, {name}")
    axe(newcomer)

    # The link worked once.
    ui.sign_out_button(newcomer).click()
    expect(newcomer).to_have_url(re.compile(r"/login$"))
    response = newcomer.goto(link)
    assert response is not None and response.status == 404
    expect(newcomer.get_by_role("heading", level=1)).to_have_text("This link no longer works")
    axe(newcomer)

    # And the new password signs them in.
    newcomer.goto("/login")
    newcomer.get_by_label("E-mail address").fill(email)
    newcomer.get_by_label("Password").fill(password)
    newcomer.get_by_role("button", name="Sign in").click()
    expect(newcomer).to_have_url(base_url + "/")
    expect(newcomer.locator("header .portal-header-user__name")).to_have_text(name)
    axe(newcomer)
