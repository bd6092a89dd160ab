"""Two requests at once (security.md R1-R3), on both engines: the same sign-off or area note sent
twice records one row and both requests end well; two editors saving from the same revision
make one version and the second is shown a conflict with their text kept.

Each thread has its own test client (its own session and database connection; SQLite runs on
the test's file database). A barrier placed just before the insert that decides makes both
requests pass every earlier check first, so the race happens on every run.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.media import services
from portal.media import views as media_views
from portal.media.models import ChecklistAnswer, MediaItem, MediaVersion, PhotoRegion, SignOff
from tests.media.conftest import (
    NARRATIVE_FIELDS,
    add_narrative,
    add_photo,
    audit_events,
    edit_revision,
    form_answers,
    review_form,
    signed_in,
    users,
)
from tests.reports.pages import Page

TIMEOUT = 30


@pytest.fixture
def items(app, world):
    with app.test_request_context():
        people = users(app, world)
        photo = add_photo(people.editor, people.section)
        narrative = add_narrative(people.editor, people.section)
        return world, photo.id, narrative.id


def wait_for_both_before(monkeypatch, module, name: str) -> threading.Barrier:
    """Make module.name wait until two threads have reached it."""
    barrier = threading.Barrier(2, timeout=TIMEOUT)
    original = getattr(module, name)

    def waiting(*args, **kwargs):
        barrier.wait()
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, waiting)
    return barrier


def at_once(requests) -> list:
    """Run each callable in its own thread; their results, or the exception each raised."""
    results: list = [None] * len(requests)

    def run(index, request):
        try:
            results[index] = request()
        except BaseException as error:  # reported by the test, in its own thread
            results[index] = error

    threads = [
        threading.Thread(target=run, args=(index, request))
        for index, request in enumerate(requests)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=TIMEOUT * 2)
    assert not any(thread.is_alive() for thread in threads), "a request never finished"
    return results


def count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_the_same_decision_sent_twice_at_once_records_one(app, items, monkeypatch):
    world, photo, _ = items
    first, second = signed_in(app, world.amara), signed_in(app, world.amara)
    form = review_form(first, photo) | form_answers(app) | {"decision": "approve"}
    token_first, token_second = first.csrf_token(), second.csrf_token()
    wait_for_both_before(monkeypatch, services, "insert_unless_conflict")
    results = at_once(
        [
            lambda: first.post(f"/items/{photo}/review", data=form | {"csrf_token": token_first}),
            lambda: second.post(f"/items/{photo}/review", data=form | {"csrf_token": token_second}),
        ]
    )
    monkeypatch.undo()
    assert [getattr(r, "status_code", r) for r in results] == [302, 302]
    assert {r.headers["Location"] for r in results} == {f"/items/{photo}"}
    assert count(app, SignOff) == 1
    assert count(app, ChecklistAnswer) == len(form_answers(app))
    assert len(audit_events(app, "sign_off.recorded")) == 1
    with app.app_context():
        row = db.session.scalars(select(SignOff)).one()
        assert (row.consultant_id, row.submission_key) == (world.amara, form["submission_key"])
    # Both pages then show the one decision.
    for client in (first, second):
        assert "Your decision on version 1: Approve." in client.get(f"/items/{photo}").get_data(
            as_text=True
        )


def test_the_same_note_on_an_area_sent_twice_at_once_records_one(app, items, monkeypatch):
    world, photo, _ = items
    first, second = signed_in(app, world.river), signed_in(app, world.river)
    form = {
        "x": "12.5",
        "y": "20",
        "width": "30",
        "height": "25.5",
        "note": "The badge on the jacket is readable.",
        "submission_key": "one-note-sent-twice",
    }
    token_first, token_second = first.csrf_token(), second.csrf_token()
    wait_for_both_before(monkeypatch, services, "insert_unless_conflict")
    results = at_once(
        [
            lambda: first.post(f"/items/{photo}/regions", data=form | {"csrf_token": token_first}),
            lambda: second.post(
                f"/items/{photo}/regions", data=form | {"csrf_token": token_second}
            ),
        ]
    )
    monkeypatch.undo()
    assert [getattr(r, "status_code", r) for r in results] == [302, 302]
    assert count(app, PhotoRegion) == 1
    assert len(audit_events(app, "region.added")) == 1
    with app.app_context():
        row = db.session.scalars(select(PhotoRegion)).one()
        assert (row.author_id, row.x, row.y, row.width, row.height) == (
            world.river,
            0.125,
            0.2,
            0.3,
            0.255,
        )


def test_withdrawing_a_decision_twice_at_once_records_one_withdrawal(app, items, monkeypatch):
    world, photo, _ = items
    amara = signed_in(app, world.amara)
    form = review_form(amara, photo) | form_answers(app) | {"decision": "approve"}
    assert amara.post_form(f"/items/{photo}/review", form).status_code == 302
    with app.app_context():
        decided = db.session.scalars(select(SignOff)).one().id
    first, second = signed_in(app, world.amara), signed_in(app, world.amara)
    token_first, token_second = first.csrf_token(), second.csrf_token()
    wait_for_both_before(monkeypatch, services, "insert_unless_conflict")
    url = f"/sign-offs/{decided}/withdraw"
    results = at_once(
        [
            lambda: first.post(url, data={"csrf_token": token_first}),
            lambda: second.post(url, data={"csrf_token": token_second}),
        ]
    )
    monkeypatch.undo()
    assert [getattr(r, "status_code", r) for r in results] == [302, 302]
    assert count(app, SignOff) == 2
    assert count(app, SignOff, SignOff.withdraws_id == decided) == 1
    assert len(audit_events(app, "sign_off.withdrawn")) == 1


def edit_form(revision: str, **fields) -> dict:
    return NARRATIVE_FIELDS | {"revision": revision} | fields


def test_an_editor_saving_over_a_newer_version_gets_a_conflict_with_the_text_kept(
    app, items, make_user
):
    """One after the other: the second editor loaded the form before the first saved."""
    world, _, narrative = items
    first = signed_in(app, world.editor)
    second = signed_in(app, make_user("editor", display_name="Jo"))
    revision = edit_revision(second, narrative)
    assert (
        first.post_form(
            f"/items/{narrative}/edit", edit_form(edit_revision(first, narrative), body_en="First.")
        )
        .headers["Location"]
        .endswith(f"/items/{narrative}")
    )
    typed = "Second editor's careful rewording, which must not be lost."
    response = second.post_form(
        f"/items/{narrative}/edit", edit_form(revision, body_en=typed, change_summary="Mine")
    )
    assert response.status_code == 409
    page = Page(response)
    assert page.value("body_en") == typed
    assert page.value("change_summary") == "Mine"
    assert any("Someone saved a newer version" in alert for alert in page.alerts())
    assert page.value("revision") == "2"  # saving again from here is deliberate
    with app.app_context():
        item = db.session.get(MediaItem, narrative)
        assert [v.body_en for v in item.versions] == [NARRATIVE_FIELDS["body_en"], "First."]
    again = second.post_form(f"/items/{narrative}/edit", edit_form("2", body_en=typed))
    assert again.status_code == 302
    assert count(app, MediaVersion, MediaVersion.item_id == narrative) == 3


def test_two_editors_saving_at_once_make_one_version_and_one_conflict(
    app, items, make_user, monkeypatch
):
    world, _, narrative = items
    first = signed_in(app, world.editor)
    second = signed_in(app, make_user("editor", display_name="Jo"))
    revision = edit_revision(first, narrative)
    assert edit_revision(second, narrative) == revision
    token_first, token_second = first.csrf_token(), second.csrf_token()
    texts = ["The first editor's text.", "The second editor's text, kept on the conflict page."]
    # Both have read the form (with the same revision) before either saves.
    wait_for_both_before(monkeypatch, media_views, "_form_fields")
    url = f"/items/{narrative}/edit"
    results = at_once(
        [
            lambda: first.post(
                url, data=edit_form(revision, body_en=texts[0]) | {"csrf_token": token_first}
            ),
            lambda: second.post(
                url, data=edit_form(revision, body_en=texts[1]) | {"csrf_token": token_second}
            ),
        ]
    )
    monkeypatch.undo()
    statuses = [getattr(r, "status_code", repr(r)) for r in results]
    assert sorted(statuses, key=str) == [302, 409], statuses
    _saved, refused = sorted(results, key=lambda r: r.status_code)
    kept = Page(refused).value("body_en")
    assert kept in texts
    with app.app_context():
        item = db.session.get(MediaItem, narrative)
        assert len(item.versions) == 2
        assert item.versions[-1].body_en == ({*texts} - {kept}).pop()
        assert item.revision == 2
    assert len(audit_events(app, "narrative.version_published")) == 1
