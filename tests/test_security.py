"""Headers on every response, safe redirects, CSRF, size limits (security.md B1-B3, I4, D2)."""

from __future__ import annotations

import pytest

from portal.security import is_safe_next, public

BAD_NEXT = [
    "//evil.example",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\\/evil.example",
    "https://evil.example",
    "http:evil.example",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "%2F%2Fevil.example",
    "/%2F/evil.example",
    "/%5Cevil.example",
    "%5C%5Cevil.example",
    "/%09/evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "\x00/home",
    "/%00",
    " //evil.example",
    "evil.example",
    "./evil",
    "https:/evil.example",
    "//evil.example/%2F..",
    "/%252F%252Fevil.example",
    "/\u3000/evil.example",
    "/\u200b/evil.example",
]
GOOD_NEXT = ["/", "/account", "/admin/accounts?role=editor&q=amara", "/account#section"]


@pytest.mark.parametrize("target", BAD_NEXT)
def test_unsafe_next_targets_are_refused(target):
    assert not is_safe_next(target)


@pytest.mark.parametrize("target", GOOD_NEXT)
def test_same_site_paths_are_allowed(target):
    assert is_safe_next(target)


@pytest.mark.parametrize("target", BAD_NEXT[:12])
def test_sign_in_never_follows_an_unsafe_next(client, consultant, target):
    response = client.post_form(
        "/login",
        {"email": "consultant@example.org", "password": "a long and unusual test passphrase"},
        query_string={"next": target},
    )
    assert response.status_code == 302
    assert response.location == "/"


def assert_security_headers(response, *, static=False):
    csp = response.headers["Content-Security-Policy"]
    for directive in (
        "script-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ):
        assert directive in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    if not static:
        # Photo files say "private, no-store" (security.md F4); every other page "no-store".
        assert response.headers["Cache-Control"] in ("no-store", "private, no-store")


@pytest.fixture
def crashing_app(app):
    @public
    def boom():
        raise RuntimeError("a bug")

    app.add_url_rule("/boom", "boom", boom)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    return app


def test_headers_on_pages_errors_and_static_files(crashing_app, client, auth, consultant):
    cases = {
        "login page": client.get("/login"),
        "404": client.get("/no-such-page"),
        "405": client.get("/logout"),
        "413": client.post("/login", data={"x": "y" * (21 * 1024 * 1024)}),
        "500": client.get("/boom"),
        "health": client.get("/healthz"),
    }
    static = client.get("/static/css/portal.css")
    assert static.status_code == 200
    assert_security_headers(static, static=True)
    static.close()
    assert {name: r.status_code for name, r in cases.items()} == {
        "login page": 200,
        "404": 404,
        "405": 405,
        "413": 413,
        "500": 500,
        "health": 200,
    }
    for response in cases.values():
        assert_security_headers(response)
    auth.login("consultant@example.org")
    assert_security_headers(client.get("/"))


def test_error_pages_are_friendly_and_reveal_nothing(crashing_app, client):
    page = client.get("/boom").get_data(as_text=True)
    assert "Something went wrong on our side" in page
    assert "RuntimeError" not in page and "Traceback" not in page and "portal/" not in page
    page = client.get("/no-such-page").get_data(as_text=True)
    assert "We could not find that page" in page
    assert 'id="quick-exit"' in page


def test_too_many_requests_page_is_friendly(client, consultant):
    for _ in range(5):
        client.post_form(
            "/login", {"email": "consultant@example.org", "password": "wrong password!"}
        )
    response = client.post_form(
        "/login", {"email": "consultant@example.org", "password": "wrong password!"}
    )
    assert response.status_code == 429
    assert "Please wait a moment" in response.get_data(as_text=True)
    assert_security_headers(response)


def test_state_changes_need_a_csrf_token(client, consultant, auth):
    auth.login("consultant@example.org")
    response = client.post("/account", data={"display_name": "Changed", "locale": "en"})
    assert response.status_code == 400
    page = client.get("/account").get_data(as_text=True)
    assert 'value="Amara"' in page


def test_logout_is_post_only(client):
    assert client.get("/logout").status_code == 405


def test_sign_in_still_answers_when_the_rate_limit_store_is_down(sqlite_template, tmp_path):
    """With Redis unreachable, counting falls back to memory: a clear answer, never a 500."""
    import shutil

    from portal import create_app
    from tests.conftest import PortalClient, base_test_config

    path = tmp_path / "portal.sqlite3"
    shutil.copy(sqlite_template, path)
    config = base_test_config(f"sqlite:///{path}", tmp_path)
    config["RATELIMIT_STORAGE_URI"] = "redis://127.0.0.1:9/0"  # nothing listens on port 9
    config["PROPAGATE_EXCEPTIONS"] = False
    app = create_app(config)
    app.test_client_class = PortalClient
    client = app.test_client()
    response = client.post_form("/login", {"email": "a@example.org", "password": "x" * 12})
    assert response.status_code == 400
