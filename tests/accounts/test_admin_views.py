"""Admin account management through the test client, and who may see identities (Z2, Z4, Z5)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from flask_babel import force_locale, gettext
from sqlalchemy import func, select

from portal.accounts import services
from portal.accounts.models import AccountToken, Role, TokenPurpose, User
from portal.extensions import db
from tests.conftest import AuthActions

LINK = re.compile(r"https://portal\.example\.org/(invitation|reset)/([A-Za-z0-9_-]{20,})")


def text(response) -> str:
    return response.get_data(as_text=True)


def listed_ids(response) -> set[int]:
    return {int(i) for i in re.findall(r'href="/admin/accounts/(\d+)"', text(response))}


def flashes(client) -> str:
    """The page an admin lands on after an action, where flashed messages show."""
    return text(client.get("/admin/accounts"))


def session_data(app, client) -> dict:
    cookie = client.get_cookie("portal_session")
    assert cookie is not None
    return app.session_interface.get_signing_serializer(app).loads(cookie.value)


class _InputValues(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self.checked: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input" and attrs.get("name"):
            if attrs.get("type") == "radio":
                if "checked" in attrs:
                    self.checked[attrs["name"]] = attrs.get("value")
            else:
                self.values[attrs["name"]] = attrs.get("value") or ""


def input_values(response) -> _InputValues:
    parser = _InputValues()
    parser.feed(text(response))
    return parser


@pytest.fixture
def admin_client(app, client, auth, admin):
    auth.login_as(admin)
    return client


def other_client(app, user_id: int):
    other = app.test_client()
    AuthActions(other, app).login_as(user_id)
    return other


def snapshot(app) -> list[tuple]:
    """Everything an account action could change."""
    with app.app_context():
        users = db.session.execute(
            select(
                User.id,
                User.email,
                User.display_name,
                User.legal_name,
                User.role,
                User.active,
                User.session_generation,
                User.password_hash,
                User.locale,
            ).order_by(User.id)
        ).all()
        tokens = db.session.execute(
            select(AccountToken.id, AccountToken.used_at).order_by(AccountToken.id)
        ).all()
        return [tuple(u) for u in users] + [tuple(t) for t in tokens]


# Listing and searching -----------------------------------------------------------------------


@pytest.fixture
def population(make_user, admin, editor, consultant, consultant2, deactivated) -> dict[str, int]:
    pending = make_user(
        "consultant",
        email="pending@example.org",
        display_name="Linnet",
        legal_name="Pat Pending",
        password=None,
    )
    return {
        "admin": admin,
        "editor": editor,
        "consultant": consultant,
        "consultant2": consultant2,
        "deactivated": deactivated,
        "pending": pending,
    }


def test_admin_sees_every_account_with_identities(admin_client, population):
    response = admin_client.get("/admin/accounts")
    assert response.status_code == 200
    assert listed_ids(response) == set(population.values())
    page = text(response)
    for shown in [
        "Amara Okafor",
        "Sophie Tremblay",
        "consultant2@example.org",
        "pending@example.org",
    ]:
        assert shown in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("river", {"consultant2"}),  # display name, any case
        ("TREMBLAY", {"consultant2"}),  # legal name
        ("okafor", {"consultant"}),
        ("consultant2@example", {"consultant2"}),  # e-mail
        ("gone@", {"deactivated"}),
        ("example.org", {"admin", "editor", "consultant", "consultant2", "deactivated", "pending"}),
        ("no such person", set()),
    ],
)
def test_search(admin_client, population, query, expected):
    response = admin_client.get("/admin/accounts", query_string={"q": query})
    assert response.status_code == 200
    assert listed_ids(response) == {population[name] for name in expected}


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"role": "editor"}, {"editor"}),
        ({"role": "admin"}, {"admin"}),
        ({"role": "consultant"}, {"consultant", "consultant2", "deactivated", "pending"}),
        ({"status": "active"}, {"admin", "editor", "consultant", "consultant2"}),
        ({"status": "pending"}, {"pending"}),
        ({"status": "deactivated"}, {"deactivated"}),
        ({"role": "consultant", "status": "active", "q": "a"}, {"consultant", "consultant2"}),
    ],
)
def test_role_and_status_filters(admin_client, population, filters, expected):
    response = admin_client.get("/admin/accounts", query_string=filters)
    assert response.status_code == 200
    assert listed_ids(response) == {population[name] for name in expected}


@pytest.mark.parametrize("filters", [{"role": "superuser"}, {"status": "gone"}, {"q": "x" * 101}])
def test_invalid_filters_fall_back_to_everyone(admin_client, population, filters):
    response = admin_client.get("/admin/accounts", query_string=filters)
    assert response.status_code == 200
    assert listed_ids(response) == set(population.values())


def test_list_pages(admin_client, make_user, admin):
    for n in range(30):
        make_user("consultant", display_name=f"Person {n:02d}")
    first = admin_client.get("/admin/accounts")
    second = admin_client.get("/admin/accounts", query_string={"page": 2})
    assert len(listed_ids(first)) == 25
    assert len(listed_ids(second)) == 6
    assert not listed_ids(first) & listed_ids(second)


# Inviting ------------------------------------------------------------------------------------


INVITE = {
    "email": " Newcomer@Example.org ",
    "display_name": "Wren",
    "legal_name": "Robin Wrenfield",
    "role": "consultant",
    "locale": "fr",
}


def test_invite_creates_a_pending_account_and_shows_the_link_once(app, admin_client, admin):
    response = admin_client.post_form("/admin/accounts/invite", INVITE)
    assert response.status_code == 200
    match = LINK.search(text(response))
    assert match and match.group(1) == "invitation"
    raw = match.group(2)
    with app.app_context():
        user = services.user_by_email("newcomer@example.org")
        assert user.invitation_pending and user.active
        assert (user.display_name, user.legal_name, user.role, user.locale) == (
            "Wren",
            "Robin Wrenfield",
            Role.CONSULTANT,
            "fr",
        )
        assert services.usable_token(raw, TokenPurpose.INVITATION).user_id == user.id
        user_id = user.id
    # Never in the session cookie (it is readable by whoever holds it), never flashed.
    assert raw not in repr(session_data(app, admin_client))
    assert raw not in flashes(admin_client)
    assert raw not in text(admin_client.get(f"/admin/accounts/{user_id}"))
    # The link works for the invitee.
    assert app.test_client().get(f"/invitation/{raw}").status_code == 200


def test_invite_with_a_duplicate_email_keeps_what_was_typed(app, admin_client, consultant):
    before = snapshot(app)
    data = dict(
        INVITE,
        email="CONSULTANT@example.org",
        display_name="Typed Name",
        legal_name="Typed Legal Name",
        role="editor",
    )
    response = admin_client.post_form("/admin/accounts/invite", data)
    assert response.status_code == 400
    page = text(response)
    assert "An account with this e-mail address already exists." in page
    values = input_values(response)
    assert values.values["email"] == "CONSULTANT@example.org"
    assert values.values["display_name"] == "Typed Name"
    assert values.values["legal_name"] == "Typed Legal Name"
    assert values.checked == {"role": "editor", "locale": "fr"}
    assert not LINK.search(page)
    assert snapshot(app) == before


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"email": "not-an-address"}, "Please enter an e-mail address like name@example.org."),
        ({"display_name": "   "}, "Please enter a display name."),
        ({"display_name": "x" * 81}, "A display name has at most 80 characters."),
        ({"role": "superuser"}, None),
        ({"locale": "de"}, None),
    ],
)
def test_invalid_invitations_are_refused(app, admin_client, changes, message):
    before = snapshot(app)
    response = admin_client.post_form("/admin/accounts/invite", dict(INVITE, **changes))
    assert response.status_code == 400
    if message:
        assert message in text(response)
    assert snapshot(app) == before


def test_extra_invite_fields_are_ignored(app, admin_client):
    data = dict(
        INVITE,
        active="0",
        password_hash="$argon2id$forged",
        session_generation="99",
        totp_secret="JBSWY3DPEHPK3PXP",
        id="1",
    )
    response = admin_client.post_form("/admin/accounts/invite", data)
    assert response.status_code == 200
    with app.app_context():
        user = services.user_by_email("newcomer@example.org")
        assert user.active
        assert user.password_hash is None
        assert user.session_generation == 1
        assert user.totp_secret is None
        assert user.id != 1


def test_invitation_is_emailed_in_the_invitees_language_from_the_base_url(
    app, admin_client, monkeypatch
):
    sent = []

    class FakeSMTP:
        def __init__(self, host, port, timeout=None):
            self.host = host

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def starttls(self):
            pass

        def login(self, user, password):
            pass

        def send_message(self, message):
            sent.append(message)

    monkeypatch.setattr("portal.mail.smtplib.SMTP", FakeSMTP)
    app.config["PORTAL_MAIL_SERVER"] = "smtp.example.org"
    # The request arrives under a forged Host; the browser's cookie goes along with it.
    token = admin_client.csrf_token()
    admin_client.set_cookie(
        "portal_session", admin_client.get_cookie("portal_session").value, domain="evil.example"
    )
    response = admin_client.post(
        "/admin/accounts/invite",
        data=dict(INVITE, csrf_token=token),
        headers={"Host": "evil.example"},
    )
    assert response.status_code == 200
    assert len(sent) == 1
    message = sent[0]
    body = message.get_content()
    assert message["To"] == "newcomer@example.org"
    match = LINK.search(body)
    assert match and match.group(1) == "invitation"
    assert match.group(0) in text(response)  # the admin sees the same link
    assert "evil.example" not in body and "evil.example" not in text(response)
    assert "Wren" in body
    assert "Robin Wrenfield" not in body  # the legal name stays with the admins
    # In the invitee's language (French here), not the admin's (English).
    with app.test_request_context(), force_locale("fr"):
        subject = gettext("You are invited to the Survivor Advisory Council Portal")
        greeting = gettext("Hello %(name)s,", name="Wren")
    assert subject != "You are invited to the Survivor Advisory Council Portal"
    assert message["Subject"] == subject
    assert greeting in body
    assert 'lang="en"' in text(response)


def test_invitation_shown_when_mail_fails(app, admin_client, monkeypatch):
    class BrokenSMTP:
        def __init__(self, *args, **kwargs):
            raise OSError("connection refused")

    monkeypatch.setattr("portal.mail.smtplib.SMTP", BrokenSMTP)
    app.config["PORTAL_MAIL_SERVER"] = "smtp.example.org"
    response = admin_client.post_form("/admin/accounts/invite", INVITE)
    assert response.status_code == 200
    assert LINK.search(text(response))
    assert "could not be sent" in text(response)


def test_new_invitation_link_replaces_the_old_one(app, admin_client, admin):
    first = LINK.search(text(admin_client.post_form("/admin/accounts/invite", INVITE))).group(2)
    with app.app_context():
        user_id = services.user_by_email("newcomer@example.org").id
    response = admin_client.post_form(f"/admin/accounts/{user_id}/invitation")
    second = LINK.search(text(response)).group(2)
    assert second != first
    anonymous = app.test_client()
    assert anonymous.get(f"/invitation/{first}").status_code == 404
    assert anonymous.get(f"/invitation/{second}").status_code == 200


# Changing accounts ---------------------------------------------------------------------------


def test_account_page_shows_identity_to_admin(admin_client, consultant):
    response = admin_client.get(f"/admin/accounts/{consultant}")
    assert response.status_code == 200
    assert "Amara Okafor" in text(response) and "consultant@example.org" in text(response)


def test_change_role(app, admin_client, consultant, get_user):
    victim = other_client(app, consultant)
    response = admin_client.post_form(f"/admin/accounts/{consultant}/role", {"role": "editor"})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/admin/accounts/{consultant}"
    assert get_user(consultant).role is Role.EDITOR
    assert "The role of Amara is now Editor." in text(
        admin_client.get(f"/admin/accounts/{consultant}")
    )
    # The person must sign in again under the new role.
    assert victim.get("/").status_code == 302


def test_change_role_to_an_unknown_role_is_refused(app, admin_client, consultant, get_user):
    before = snapshot(app)
    admin_client.post_form(f"/admin/accounts/{consultant}/role", {"role": "superuser"})
    assert snapshot(app) == before
    assert "Please choose one of the listed roles." in flashes(admin_client)


def test_update_details(admin_client, consultant, get_user):
    response = admin_client.post_form(
        f"/admin/accounts/{consultant}/details",
        {
            "display_name": " Amara K ",
            "legal_name": "",
            "email": "hijack@example.org",
            "role": "admin",
        },
    )
    assert response.status_code == 302
    user = get_user(consultant)
    assert (user.display_name, user.legal_name) == ("Amara K", None)
    assert (user.email, user.role) == ("consultant@example.org", Role.CONSULTANT)


def test_update_details_refuses_empty_display_name(app, admin_client, consultant):
    before = snapshot(app)
    response = admin_client.post_form(
        f"/admin/accounts/{consultant}/details", {"display_name": "", "legal_name": "Kept Legal"}
    )
    assert response.status_code == 400
    assert input_values(response).values["legal_name"] == "Kept Legal"
    assert snapshot(app) == before


def test_deactivate_and_reactivate(app, admin_client, consultant, get_user):
    victim = other_client(app, consultant)
    response = admin_client.post_form(f"/admin/accounts/{consultant}/deactivate")
    assert response.status_code == 302
    assert not get_user(consultant).active
    assert victim.get("/").status_code == 302
    anonymous = app.test_client()
    assert AuthActions(anonymous, app).login("consultant@example.org").status_code == 400
    assert "Deactivated" in text(admin_client.get(f"/admin/accounts/{consultant}"))

    admin_client.post_form(f"/admin/accounts/{consultant}/reactivate")
    assert get_user(consultant).active
    assert AuthActions(anonymous, app).login("consultant@example.org").status_code == 302


def test_admin_cannot_deactivate_self(app, admin_client, admin, make_user, get_user):
    make_user("admin")  # not the last admin: the self rule alone refuses it
    page = admin_client.get(f"/admin/accounts/{admin}")
    assert f"/admin/accounts/{admin}/deactivate" not in text(page)
    admin_client.post_form(f"/admin/accounts/{admin}/deactivate")
    assert get_user(admin).active
    assert "You cannot deactivate your own account." in flashes(admin_client)
    assert admin_client.get("/admin/accounts").status_code == 200


def test_last_active_admin_cannot_be_demoted(app, admin_client, admin, make_user, get_user):
    other = make_user("admin", display_name="Second Admin")
    # With two admins, one may demote the other...
    admin_client.post_form(f"/admin/accounts/{other}/role", {"role": "consultant"})
    assert get_user(other).role is Role.CONSULTANT
    # ...but not themself once they are the last.
    admin_client.post_form(f"/admin/accounts/{admin}/role", {"role": "editor"})
    assert get_user(admin).role is Role.ADMIN
    assert "The portal needs at least one active administrator." in flashes(admin_client)
    # A deactivated admin does not count as another admin.
    admin_client.post_form(f"/admin/accounts/{other}/role", {"role": "admin"})
    admin_client.post_form(f"/admin/accounts/{other}/deactivate")
    assert not get_user(other).active
    admin_client.post_form(f"/admin/accounts/{admin}/role", {"role": "consultant"})
    assert get_user(admin).role is Role.ADMIN


def test_reset_link_is_shown_once(app, admin_client, consultant):
    response = admin_client.post_form(f"/admin/accounts/{consultant}/reset-link")
    assert response.status_code == 200
    match = LINK.search(text(response))
    assert match and match.group(1) == "reset"
    raw = match.group(2)
    assert raw not in repr(session_data(app, admin_client))
    assert raw not in text(admin_client.get(f"/admin/accounts/{consultant}"))
    assert raw not in flashes(admin_client)
    with app.app_context():
        stored = db.session.scalars(select(AccountToken.token_hash)).all()
    assert raw not in stored
    anonymous = app.test_client()
    assert anonymous.get(f"/reset/{raw}").status_code == 200


def test_reset_link_refused_for_a_pending_invitation(app, admin_client, make_user):
    pending = make_user("consultant", password=None)
    response = admin_client.post_form(f"/admin/accounts/{pending}/reset-link")
    assert response.status_code == 302
    assert not LINK.search(flashes(admin_client))
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AccountToken)) == 0


def test_end_sessions(app, admin_client, consultant, get_user):
    victim = other_client(app, consultant)
    generation = get_user(consultant).session_generation
    response = admin_client.post_form(f"/admin/accounts/{consultant}/end-sessions")
    assert response.status_code == 302
    assert get_user(consultant).session_generation == generation + 1
    assert victim.get("/").status_code == 302
    assert admin_client.get("/").status_code == 200  # the admin's own session is untouched


def test_admin_actions_need_a_csrf_token(app, admin_client, consultant):
    before = snapshot(app)
    for action in ["deactivate", "end-sessions", "reset-link"]:
        response = admin_client.post(f"/admin/accounts/{consultant}/{action}", data={"x": "1"})
        assert response.status_code == 400, action
    assert snapshot(app) == before


# Mass assignment (Z4) ------------------------------------------------------------------------


def test_extra_fields_on_own_account_are_ignored(app, client, auth, consultant, get_user):
    auth.login_as(consultant)
    before = get_user(consultant)
    response = client.post_form(
        "/account",
        {
            "display_name": "Heron",
            "locale": "en",
            "role": "admin",
            "active": "0",
            "password_hash": "$argon2id$v=19$forged",
            "email": "new@example.org",
            "legal_name": "Someone Else",
            "session_generation": "42",
            "id": "99",
        },
    )
    assert response.status_code == 302
    after = get_user(consultant)
    assert after.display_name == "Heron"
    assert after.role is Role.CONSULTANT
    assert after.active
    assert after.password_hash == before.password_hash
    assert after.email == "consultant@example.org"
    assert after.legal_name == "Amara Okafor"
    assert after.session_generation == before.session_generation
    assert client.get("/admin/accounts").status_code == 403


# Access control ------------------------------------------------------------------------------


def _admin_requests(app, user_id: int) -> list[tuple[str, str]]:
    requests = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin"):
            continue
        url = (
            rule.rule.replace("<int:user_id>", str(user_id))
            .replace("<int:criterion_id>", "1")
            .replace("<int:message_id>", "1")
            .replace("<kind>", "photo")
        )
        assert "<" not in url, f"unexpected variable in {rule.rule}"
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            requests.append((method, url))
    return requests


@pytest.mark.parametrize("role", ["consultant", "editor"])
def test_admin_pages_are_forbidden_to_other_roles(app, client, auth, make_user, admin, role):
    target = make_user("consultant", display_name="Target", legal_name="Target Legal")
    actor = make_user(role)
    auth.login_as(actor)
    requests = _admin_requests(app, target)
    assert len(requests) >= 10
    before = snapshot(app)
    for method, url in requests:
        if method == "GET":
            response = client.get(url)
        else:
            response = client.post_form(
                url,
                {"role": "admin", "email": "x@example.org", "display_name": "X", "locale": "en"},
            )
        assert response.status_code == 403, (method, url)
        assert "Target Legal" not in text(response)
    assert snapshot(app) == before


def test_admin_pages_send_anonymous_visitors_to_sign_in(app, client, admin):
    for method, url in _admin_requests(app, admin):
        if method == "GET":
            response = client.get(url)
            assert response.status_code == 302 and "/login" in response.headers["Location"], url


def test_unknown_account_id_is_404(app, admin_client):
    for method, url in _admin_requests(app, 987654):
        if "987654" not in url:
            continue
        response = (
            admin_client.get(url)
            if method == "GET"
            else admin_client.post_form(url, {"role": "editor"})
        )
        assert response.status_code == 404, (method, url)


# Identity minimisation (Z5) ------------------------------------------------------------------


def _pages_seen_by(client) -> dict[str, str]:
    pages = {}
    for url in [
        "/",
        "/account",
        "/account/password",
        "/account/second-factor",
        "/admin/accounts",
        "/no-such-page",
    ]:
        pages[url] = text(client.get(url))
    client.post_form("/account/second-factor/start")
    pages["/account/second-factor (set-up)"] = text(client.get("/account/second-factor"))
    return pages


@pytest.mark.parametrize("role", ["consultant", "editor"])
def test_identities_are_not_shown_to_consultants_or_editors(
    app, client, auth, make_user, role, admin, consultant2
):
    me = make_user(role, email="me@example.org", display_name="Myself", legal_name="My Legal Name")
    make_user("editor", email="ed@example.org", display_name="Ed", legal_name="Edith Legal")
    auth.login_as(me)
    pages = _pages_seen_by(client)
    secrets = [
        "Morgan Ellis",
        "admin@example.org",
        "Sophie Tremblay",
        "consultant2@example.org",
        "Edith Legal",
        "ed@example.org",
        "My Legal Name",
    ]
    for url, page in pages.items():
        for secret in secrets:
            assert secret not in page, (url, secret)
        if url != "/account":
            assert "me@example.org" not in page, url
    # Their own e-mail, on their own account page, so they know which address is on file.
    assert "me@example.org" in pages["/account"]
