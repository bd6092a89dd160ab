"""Signing in as each role shows the right navigation; signing out ends the session."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

HOME, REPORTS, MY_TIME, TIME_REVIEW, ACCOUNTS, CHECKLISTS, AUDIT, MY_ACCOUNT = (
    ("/", "Home"),
    ("/reports", "Reports"),
    ("/time", "Time records"),
    ("/time/review", "Time to review"),
    ("/admin/accounts", "Accounts"),
    ("/admin/checklists", "Checklists"),
    ("/admin/audit", "Audit trail"),
    ("/account", "My account"),
)
# role: (e-mail, display name, saved language, main navigation as (href, English label))
ROLES = {
    "admin": (
        "admin@example.org",
        "Morgan Ellis",
        "en",
        [HOME, REPORTS, TIME_REVIEW, ACCOUNTS, CHECKLISTS, AUDIT, MY_ACCOUNT],
    ),
    "editor": ("editor@example.org", "Camille Roy", "fr", [HOME, REPORTS, TIME_REVIEW, MY_ACCOUNT]),
    "consultant": ("consultant@example.org", "Amara", "en", [HOME, MY_TIME, MY_ACCOUNT]),
}


@pytest.mark.parametrize("role", list(ROLES))
def test_each_role_sees_its_navigation_and_can_sign_out(page, axe, ui, role):
    email, name, locale, nav = ROLES[role]

    page.goto("/login")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    axe(page)
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(ui.demo_password)
    page.get_by_role("button", name="Sign in").click()

    expect(page).to_have_url(re.compile(r"/$"))
    # The account's saved language applies from the first page (the demo editor chose French).
    expect(page.locator("html")).to_have_attribute("lang", locale)
    expect(page.locator("header .portal-header-user__name")).to_have_text(name)
    expect(page.locator("main h1")).to_contain_text(name)
    axe(page)

    main_nav = page.locator("header nav.usa-nav .usa-nav__primary a")
    expect(main_nav).to_have_count(len(nav))
    for link, (href, label) in zip(main_nav.all(), nav, strict=True):
        expect(link).to_have_attribute("href", href)
        if locale == "en":
            expect(link).to_have_text(label)
    if role == "admin":
        main_navigation = page.get_by_role("navigation", name="Main navigation")
        expect(main_navigation.get_by_role("link", name="Accounts")).to_be_visible()
    else:
        expect(page.locator("a[href^='/admin']")).to_have_count(0)
        # Not just hidden: the page itself is refused.
        response = page.goto("/admin/accounts")
        assert response is not None and response.status == 403
        axe(page)
        page.goto("/")
    if REPORTS in nav:
        # The reports link leads to the report list, which holds the demo report.
        page.locator("header nav.usa-nav .usa-nav__primary a[href='/reports']").click()
        expect(page).to_have_url(re.compile(r"/reports$"))
        expect(page.locator("main table")).to_contain_text("2027")
        axe(page)
        page.goto("/")
    else:
        expect(page.locator("a[href^='/reports']")).to_have_count(0)
        response = page.goto("/reports")
        assert response is not None and response.status == 403
        axe(page)
        page.goto("/")

    ui.sign_out_button(page).click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.locator("header .portal-header-user__name")).to_have_count(0)
    expect(ui.sign_out_button(page)).to_have_count(0)
    axe(page)

    page.goto("/")
    assert ui.urlpath(page.url) == "/login"
    expect(page.locator("#email")).to_be_visible()
