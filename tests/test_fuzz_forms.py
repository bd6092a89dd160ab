"""Fuzzing every form (security.md I3): arbitrary text, NUL, very long and missing values.

Whatever is sent, no request may end in a 500, and a refused request writes nothing.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from portal.extensions import db, limiter
from tests.test_access_matrix import MATRIX, _url, principals  # noqa: F401  (fixture)

FIELDS = [
    "email",
    "password",
    "display_name",
    "legal_name",
    "role",
    "locale",
    "code",
    "current_password",
    "confirm",
    "title_en",
    "title_fr",
    "description_en",
    "year",
    "content_note_en",
    "body_en",
    "body_fr",
    "change_summary",
    "based_on",
    "revision",
    "suggestion",
    "to_state",
    "note",
    "consultant",
    "due_on",
    "instructions_en",
    "reason",
    "until",
    "decision",
    "new_due_on",
    "kind",
    "body",
    "replacement",
    "language",
    "block_id",
    "start",
    "end",
    "version_number",
    "submission_key",
    "independent",
    "archive",
    "direction",
    "next",
    "publish",
    "preview",
    "import_document",
    "summary",
    "french_current",
    # Photos, narratives, consent, checklists, sign-offs and regions.
    "caption_en",
    "caption_fr",
    "alt_en",
    "alt_fr",
    "credit",
    "provenance",
    "staged",
    "identifiable",
    "content_note_fr",
    "given_by",
    "given_on",
    "scope",
    "uses_allowed",
    "expires_on",
    "replaces",
    "reasons",
    "answer_1",
    "note_1",
    "x",
    "y",
    "width",
    "height",
    "text_en",
    "text_fr",
    "sources",
    "retired",
    "starts_on",
    "ends_on",
    "assignment",
    "worked_on",
    "hours",
    "minutes",
    "activity",
    "question",
]
VALUES = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=300),
    st.sampled_from(
        [
            "",
            " ",
            "\x00",
            "a\x00b",
            "0",
            "-1",
            "99999999999999999999",
            "2027-02-30",
            "x" * 70_000,
            "<script>alert(1)</script>",
            "../../etc/passwd",
            "%00",
            "approve",
            "suggestion",
            "in_review",
            "fr",
            "admin",
            "not_approved",
            "meets",
            "does_not_meet",
            "50.5",
            "1e309",
            "NaN",
            "-0.0",
        ]
    ),
)
FORMS = st.dictionaries(st.sampled_from(FIELDS), VALUES, max_size=8)
POST_ROUTES = sorted((endpoint, method) for endpoint, method in MATRIX if method == "POST")

# The trail of refused sign-ins is expected to grow; everything else must not change.
IGNORED_TABLES = {"audit_events", "audit_chain_head"}


def fingerprint(app) -> list:
    with app.app_context():
        rows = [
            (
                table.name,
                [
                    tuple(r)
                    for r in db.session.execute(select(table).order_by(*table.primary_key.columns))
                ],
            )
            for table in db.metadata.sorted_tables
            if table.name not in IGNORED_TABLES
        ]
        db.session.rollback()
        return rows


@pytest.mark.parametrize("role", ["consultant", "editor", "admin"])
def test_no_form_input_causes_a_server_error(app, principals, role):  # noqa: F811
    from tests.conftest import AuthActions

    app.config["PROPAGATE_EXCEPTIONS"] = False
    limiter.enabled = False
    client = app.test_client()
    AuthActions(client, app).login_as(principals[role])
    token = client.csrf_token()
    urls = [
        _url(app, endpoint, principals["objects"])
        for endpoint, _m in POST_ROUTES
        if endpoint
        not in (
            "accounts.logout",
            "admin.anonymise",
            "admin.deactivate",
            "admin.end_sessions",
            "admin.change_role",
            "accounts.change_password",
            "accounts.second_factor_disable",
        )
    ]

    @settings(
        max_examples=8,
        deadline=None,
        derandomize=True,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
        ],
    )
    @given(form=FORMS)
    def send(form):
        for url in urls:
            before = fingerprint(app)
            response = client.post(url, data={**form, "csrf_token": token})
            assert response.status_code < 500, (url, form, response.status_code)
            if response.status_code >= 400:
                assert fingerprint(app) == before, (url, form)

    try:
        send()
    finally:
        limiter.enabled = True


def test_control_characters_are_dropped_and_the_rest_kept(app, client, auth, consultant):
    """NUL and other control characters never reach the database (PostgreSQL refuses NUL)."""
    auth.login("consultant@example.org")
    response = client.post_form("/account", {"display_name": "Am\x00a\x07ra", "locale": "en"})
    assert response.status_code == 302
    assert 'value="Amara"' in client.get("/account").get_data(as_text=True)


@pytest.mark.parametrize("role", ["consultant", "editor", "admin"])
def test_nul_in_every_field_of_every_form(app, principals, role):  # noqa: F811
    from tests.conftest import AuthActions

    app.config["PROPAGATE_EXCEPTIONS"] = False
    limiter.enabled = False
    try:
        client = app.test_client()
        AuthActions(client, app).login_as(principals[role])
        token = client.csrf_token()
        form = dict.fromkeys(FIELDS, "a\x00b")
        for endpoint, _method in POST_ROUTES:
            if endpoint == "accounts.logout":
                continue
            url = _url(app, endpoint, principals["objects"])
            response = client.post(url, data={**form, "csrf_token": token})
            assert response.status_code < 500, (url, response.status_code)
    finally:
        limiter.enabled = True
