"""Report, section and version services against the database (SQLite, and PostgreSQL when set).

Reports and sections (create, edit with the revision check, order, archive), versions (numbering,
immutability enforced by the database, the content fingerprint, the French translation state,
conflicts on a stale base) and the section workflow.
"""

from __future__ import annotations

import itertools
import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from portal.accounts.models import User
from portal.errors import DomainError
from portal.extensions import db
from portal.models import utcnow
from portal.reports import services
from portal.reports.models import (
    SECTION_TRANSITIONS,
    Report,
    ReportStatus,
    Section,
    SectionState,
    SectionTransition,
    SectionVersion,
    content_sha256,
)
from portal.reports.services import EditConflict


@pytest.fixture
def ctx(app, editor, admin):
    """A request context (translated DomainError messages) with the editor and admin loaded."""
    with app.test_request_context():
        yield SimpleNamespace(
            editor=db.session.get(User, editor), admin=db.session.get(User, admin)
        )
        db.session.rollback()


@pytest.fixture
def report(ctx) -> Report:
    report = services.create_report(ctx.editor, title_en="2027 Report", year=2027)
    db.session.commit()
    return report


def new_section(ctx, report: Report, title: str = "Introduction", **fields) -> Section:
    section = services.create_section(ctx.editor, report, title_en=title, **fields)
    db.session.commit()
    return section


def publish(ctx, section: Section, body_en: str, body_fr: str | None = None, **kwargs):
    latest = services.latest_version(section)
    kwargs.setdefault("based_on", latest.number if latest else 0)
    kwargs.setdefault("change_summary", None)
    version = services.publish_version(
        ctx.editor, section, body_en=body_en, body_fr=body_fr, **kwargs
    )
    db.session.commit()
    return version


def version_count(section: Section) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(SectionVersion)
        .where(SectionVersion.section_id == section.id)
    )


def positions(report: Report) -> list[tuple[str, int]]:
    db.session.expire_all()
    rows = db.session.execute(
        select(Section.title_en, Section.position)
        .where(Section.report_id == report.id)
        .order_by(Section.position, Section.id)
    )
    return [tuple(row) for row in rows]


# Reports -----------------------------------------------------------------------------------


def test_create_report_cleans_its_fields(ctx):
    report = services.create_report(
        ctx.editor,
        title_en="  2027 Trafficking in Persons Report ",
        title_fr="   ",
        description_en=" The annual report. ",
        year=2027,
    )
    db.session.commit()
    db.session.expire_all()
    assert report.title_en == "2027 Trafficking in Persons Report"
    assert report.title_fr is None
    assert report.description_en == "The annual report."
    assert report.description_fr is None
    assert report.status is ReportStatus.ACTIVE
    assert report.revision == 1
    assert report.created_by_id == ctx.editor.id


def test_database_refuses_an_implausible_year(ctx):
    with pytest.raises(IntegrityError):
        services.create_report(ctx.editor, title_en="Old", year=1800)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Report)) == 0


def test_update_report_with_the_loaded_revision(ctx, report):
    services.update_report(
        ctx.editor,
        report,
        expected_revision=1,
        title_en=" New title ",
        title_fr="Nouveau titre",
        description_en="",
        year=2028,
    )
    db.session.commit()
    db.session.expire_all()
    assert (report.title_en, report.title_fr, report.year) == ("New title", "Nouveau titre", 2028)
    assert report.description_en is None
    assert report.revision == 2


def test_update_report_on_a_stale_revision_is_a_conflict_and_changes_nothing(ctx, report):
    services.update_report(ctx.editor, report, expected_revision=1, title_en="First", year=2027)
    db.session.commit()
    with pytest.raises(EditConflict, match="changed this report") as caught:
        services.update_report(ctx.editor, report, expected_revision=1, title_en="Late", year=2030)
    assert caught.value.current is report
    db.session.rollback()
    db.session.expire_all()
    assert (report.title_en, report.year, report.revision) == ("First", 2027, 2)


def test_report_status_archive_and_restore(ctx, report):
    services.set_report_status(ctx.editor, report, ReportStatus.ARCHIVED)
    assert report.is_archived and report.revision == 2
    with pytest.raises(DomainError, match="already has this status"):
        services.set_report_status(ctx.editor, report, ReportStatus.ARCHIVED)
    services.set_report_status(ctx.editor, report, ReportStatus.ACTIVE)
    assert not report.is_archived and report.revision == 3


# Sections ----------------------------------------------------------------------------------


def test_create_section_appends_at_the_end(ctx, report):
    first = new_section(ctx, report, "Introduction", content_note_en="  Describes harm. ")
    second = new_section(ctx, report, "Survivor leadership", title_fr=" Leadership ")
    assert (first.position, second.position) == (1, 2)
    assert first.content_note_en == "Describes harm." and first.has_content_note
    assert second.title_fr == "Leadership" and not second.has_content_note
    assert first.state is SectionState.DRAFT and first.revision == 1
    assert report.sections == [first, second]


def test_no_section_is_added_to_an_archived_report(ctx, report):
    services.set_report_status(ctx.editor, report, ReportStatus.ARCHIVED)
    with pytest.raises(DomainError, match="archived"):
        services.create_section(ctx.editor, report, title_en="Late")
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Section)) == 0


def test_update_section_checks_the_revision(ctx, report):
    section = new_section(ctx, report)
    services.update_section(
        ctx.editor,
        section,
        expected_revision=1,
        title_en="Introduction, revised",
        content_note_fr="Décrit des violences.",
    )
    db.session.commit()
    assert section.revision == 2
    with pytest.raises(EditConflict, match="changed this section") as caught:
        services.update_section(ctx.editor, section, expected_revision=1, title_en="Stale")
    assert caught.value.current is section
    db.session.rollback()
    db.session.expire_all()
    assert section.title_en == "Introduction, revised"
    assert section.content_note_fr == "Décrit des violences."
    assert section.revision == 2


def test_a_final_section_cannot_be_edited(ctx, report):
    section = new_section(ctx, report)
    section.state = SectionState.FINAL
    db.session.commit()
    with pytest.raises(DomainError, match="final and locked"):
        services.update_section(ctx.editor, section, expected_revision=1, title_en="Changed")
    db.session.rollback()
    db.session.expire_all()
    assert section.title_en == "Introduction"


def test_publishing_a_version_bumps_the_section_revision(ctx, report):
    """So an edit of the details loaded before the publication is told about it."""
    section = new_section(ctx, report)
    publish(ctx, section, "Text.")
    assert section.revision == 2
    with pytest.raises(EditConflict):
        services.update_section(ctx.editor, section, expected_revision=1, title_en="Stale")


@pytest.fixture
def four(ctx, report) -> list[Section]:
    return [new_section(ctx, report, title) for title in ("A", "B", "C", "D")]


def test_move_section_up_and_down_keeps_positions_one_to_n(ctx, report, four):
    a, _b, c, d = four
    services.move_section(ctx.editor, c, -1)
    db.session.commit()
    assert positions(report) == [("A", 1), ("C", 2), ("B", 3), ("D", 4)]
    services.move_section(ctx.editor, a, +1)
    db.session.commit()
    assert positions(report) == [("C", 1), ("A", 2), ("B", 3), ("D", 4)]
    services.move_section(ctx.editor, d, -1)
    db.session.commit()
    assert positions(report) == [("C", 1), ("A", 2), ("D", 3), ("B", 4)]


def test_move_section_refuses_past_either_end(ctx, report, four):
    a, _b, _c, d = four
    with pytest.raises(DomainError, match="cannot move further"):
        services.move_section(ctx.editor, a, -1)
    with pytest.raises(DomainError, match="cannot move further"):
        services.move_section(ctx.editor, d, +1)
    with pytest.raises(DomainError, match="cannot move further"):
        services.move_section(ctx.editor, a, +2)
    db.session.rollback()
    assert positions(report) == [("A", 1), ("B", 2), ("C", 3), ("D", 4)]


def test_move_section_closes_gaps_in_positions(ctx, report, four):
    for section, position in zip(four, (5, 9, 9, 40), strict=True):
        section.position = position
    db.session.commit()
    services.move_section(ctx.editor, four[3], -1)
    db.session.commit()
    assert positions(report) == [("A", 1), ("B", 2), ("D", 3), ("C", 4)]


def test_move_section_passes_over_archived_sections(ctx, report, four):
    """The dashboard lists archived sections last: a move must change the order it shows."""
    _a, b, c, d = four
    services.set_section_archived(ctx.editor, b, True)
    db.session.commit()
    services.move_section(ctx.editor, c, -1)  # C goes before A, as the editor sees A, C, D
    db.session.commit()
    active = [title for title, _ in positions(report) if title != "B"]
    assert active == ["C", "A", "D"]
    assert [p for _, p in positions(report)] == [1, 2, 3, 4]
    with pytest.raises(DomainError, match="cannot move further"):
        services.move_section(ctx.editor, d, +1)  # nothing active below D
    db.session.rollback()


def test_archive_and_restore_a_section(ctx, report):
    section = new_section(ctx, report)
    publish(ctx, section, "Text.")
    services.set_section_archived(ctx.editor, section, True)
    db.session.commit()
    assert section.is_archived and section.archived_at is not None
    assert section.revision == 3
    with pytest.raises(DomainError, match="already in that state"):
        services.set_section_archived(ctx.editor, section, True)
    services.set_section_archived(ctx.editor, section, False)
    db.session.commit()
    assert not section.is_archived
    # Nothing was deleted: the version is still there.
    assert version_count(section) == 1


# Versions ----------------------------------------------------------------------------------


def test_versions_are_numbered_per_section(ctx, report):
    intro, other = new_section(ctx, report, "Intro"), new_section(ctx, report, "Other")
    assert [publish(ctx, intro, f"Text {n}.").number for n in (1, 2, 3)] == [1, 2, 3]
    assert publish(ctx, other, "Other text.").number == 1
    assert [v.number for v in intro.versions] == [1, 2, 3]
    assert services.latest_version(intro).number == 3
    assert services.version_by_number(intro, 2).body_en == "Text 2."
    assert services.version_by_number(intro, 4) is None


def test_a_version_records_author_time_summary_and_fingerprint(ctx, report):
    section = new_section(ctx, report)
    before = utcnow()
    version = publish(
        ctx,
        section,
        "\n# Introduction\n\nSurvivors wrote this.\n\n",
        "  # Introduction\n\nDes survivantes l'ont écrit.  ",
        change_summary="  First draft. ",
    )
    db.session.expire_all()
    assert version.author_id == ctx.editor.id
    assert before - timedelta(seconds=1) <= version.created_at <= utcnow()
    assert version.body_en == "# Introduction\n\nSurvivors wrote this."
    assert version.body_fr == "# Introduction\n\nDes survivantes l'ont écrit."
    assert version.change_summary == "First draft."
    assert len(version.content_sha256) == 64
    assert version.content_sha256 == content_sha256(version.body_en, version.body_fr)


def test_the_fingerprint_covers_both_languages_unambiguously():
    digests = {
        content_sha256("ab", None),
        content_sha256("a", "b"),
        content_sha256("b", "a"),
        content_sha256("ab", "x"),
        content_sha256("ab", "y"),
    }
    assert len(digests) == 5
    assert content_sha256("ab", None) == content_sha256("ab", "")
    assert all(re.fullmatch(r"[0-9a-f]{64}", d) for d in digests)
    # Unicode is taken as it is written: composed and decomposed "é" are different texts.
    assert content_sha256("caf\u00e9", None) != content_sha256("cafe\u0301", None)


def test_publishing_never_changes_an_earlier_version(ctx, report):
    section = new_section(ctx, report)
    first = publish(ctx, section, "Version one.", "Version un.", change_summary="One")
    columns = [c.key for c in SectionVersion.__table__.columns]
    snapshot = {name: getattr(first, name) for name in columns}
    publish(ctx, section, "Version two.", "Version deux.", change_summary="Two")
    publish(ctx, section, "Version three.", change_summary="Three")
    db.session.expire_all()
    reread = db.session.get(SectionVersion, snapshot["id"])
    assert {name: getattr(reread, name) for name in columns} == snapshot


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE section_versions SET body_en = 'Rewritten behind everyone''s back.' WHERE id = :id",
        "UPDATE section_versions SET content_sha256 = 'x' WHERE id = :id",
        "DELETE FROM section_versions WHERE id = :id",
    ],
)
def test_the_database_refuses_to_change_or_delete_a_version(ctx, report, statement):
    section = new_section(ctx, report)
    version = publish(ctx, section, "The published text.")
    version_id, digest = version.id, version.content_sha256
    with pytest.raises(DBAPIError, match="immutable"):
        db.session.execute(text(statement), {"id": version_id})
    db.session.rollback()
    db.session.expire_all()
    kept = db.session.get(SectionVersion, version_id)
    assert kept is not None
    assert (kept.body_en, kept.content_sha256) == ("The published text.", digest)


def test_the_orm_cannot_edit_a_version_either(ctx, report):
    section = new_section(ctx, report)
    version = publish(ctx, section, "The published text.")
    version.body_en = "Changed."
    with pytest.raises(DBAPIError, match="immutable"):
        db.session.flush()
    db.session.rollback()
    db.session.expire_all()
    assert db.session.get(SectionVersion, version.id).body_en == "The published text."


def test_nothing_changed_is_refused(ctx, report):
    section = new_section(ctx, report)
    publish(ctx, section, "Same text.", "Même texte.")
    for body_en, body_fr, summary in [
        ("Same text.", "Même texte.", None),
        ("  Same text.\n\n", " Même texte. ", "Only the summary differs"),
    ]:
        with pytest.raises(DomainError, match="Nothing changed since version 1"):
            services.publish_version(
                ctx.editor,
                section,
                body_en=body_en,
                body_fr=body_fr,
                change_summary=summary,
                based_on=1,
            )
        db.session.rollback()
    assert version_count(section) == 1


def test_english_text_is_required(ctx, report):
    section = new_section(ctx, report)
    with pytest.raises(DomainError, match="English text is required"):
        services.publish_version(
            ctx.editor, section, body_en="  \n ", body_fr="Texte.", change_summary=None, based_on=0
        )
    db.session.rollback()
    assert version_count(section) == 0


@pytest.mark.parametrize("based_on", [0, 1, 3])
def test_a_stale_or_unknown_base_is_a_conflict_and_nothing_is_saved(ctx, report, based_on):
    section = new_section(ctx, report)
    publish(ctx, section, "One.")
    latest = publish(ctx, section, "Two.")
    revision = section.revision
    with pytest.raises(EditConflict, match="Version 2 was published") as caught:
        services.publish_version(
            ctx.editor,
            section,
            body_en="My text, written from an older version.",
            body_fr=None,
            change_summary=None,
            based_on=based_on,
        )
    assert caught.value.current is latest
    db.session.rollback()
    db.session.expire_all()
    assert version_count(section) == 2
    assert section.revision == revision


def test_a_first_version_written_while_another_was_published_is_a_conflict(ctx, report):
    section = new_section(ctx, report)
    publish(ctx, section, "Someone else's first version.")
    with pytest.raises(EditConflict, match="Version 1 was published"):
        services.publish_version(
            ctx.editor, section, body_en="Mine.", body_fr=None, change_summary=None, based_on=0
        )
    db.session.rollback()
    assert version_count(section) == 1


# The French translation state ---------------------------------------------------------------


def test_french_is_up_to_date_when_written_with_the_english(ctx, report):
    section = new_section(ctx, report)
    v1 = publish(ctx, section, "English one.", "Français un.")
    assert v1.has_french and not v1.french_out_of_date


def test_french_goes_out_of_date_when_only_the_english_changes(ctx, report):
    section = new_section(ctx, report)
    publish(ctx, section, "English one.", "Français un.")
    v2 = publish(ctx, section, "English two.", "Français un.")
    assert v2.french_out_of_date
    # It stays out of date while the English keeps moving and the French does not.
    v3 = publish(ctx, section, "English three.", "Français un.")
    assert v3.french_out_of_date
    # Back to the English the French was written for: up to date again.
    v4 = publish(ctx, section, "English one.", "Français un.")
    assert not v4.french_out_of_date
    # Earlier versions keep their own state.
    db.session.expire_all()
    assert [v.french_out_of_date for v in section.versions] == [False, True, True, False]


def test_french_is_up_to_date_when_the_french_changes_too(ctx, report):
    section = new_section(ctx, report)
    publish(ctx, section, "English one.", "Français un.")
    publish(ctx, section, "English two.", "Français un.")
    v3 = publish(ctx, section, "English two.", "Français deux.")
    assert not v3.french_out_of_date


def test_french_current_marks_an_unchanged_french_as_up_to_date(ctx, report):
    section = new_section(ctx, report)
    publish(ctx, section, "English one.", "Français un.")
    v2 = publish(ctx, section, "English, reworded.", "Français un.", french_current=True)
    assert not v2.french_out_of_date


def test_no_french_is_never_out_of_date(ctx, report):
    section = new_section(ctx, report)
    v1 = publish(ctx, section, "English only.")
    assert not v1.has_french and not v1.french_out_of_date
    v2 = publish(ctx, section, "English only, longer.", "   ")
    assert v2.body_fr is None and not v2.french_out_of_date
    v3 = publish(ctx, section, "English only, longer.", "Enfin du français.")
    assert v3.has_french and not v3.french_out_of_date


@pytest.mark.parametrize("how", ["archived", "final"])
def test_publishing_is_refused_on_a_final_or_archived_section(ctx, report, how):
    section = new_section(ctx, report)
    publish(ctx, section, "Text.")
    if how == "archived":
        services.set_section_archived(ctx.editor, section, True)
    else:
        for state in (SectionState.IN_REVIEW, SectionState.APPROVED, SectionState.FINAL):
            services.transition_section(ctx.editor, section, state)
        assert section.is_locked
    db.session.commit()
    with pytest.raises(DomainError, match="final or archived"):
        services.publish_version(
            ctx.editor, section, body_en="New.", body_fr=None, change_summary=None, based_on=1
        )
    db.session.rollback()
    assert version_count(section) == 1


# Workflow ----------------------------------------------------------------------------------

ALL_MOVES = list(itertools.product(SectionState, SectionState))
ALLOWED = [(a, b) for a, b in ALL_MOVES if b in SECTION_TRANSITIONS[a]]
REFUSED = [(a, b) for a, b in ALL_MOVES if b not in SECTION_TRANSITIONS[a]]


def test_the_workflow_is_the_one_the_issue_describes():
    """draft → in review → changes requested → approved → final (locked), with ways back."""
    S = SectionState
    assert set(ALLOWED) == {
        (S.DRAFT, S.IN_REVIEW),
        (S.IN_REVIEW, S.CHANGES_REQUESTED),
        (S.IN_REVIEW, S.APPROVED),
        (S.IN_REVIEW, S.DRAFT),
        (S.CHANGES_REQUESTED, S.IN_REVIEW),
        (S.CHANGES_REQUESTED, S.DRAFT),
        (S.APPROVED, S.FINAL),
        (S.APPROVED, S.IN_REVIEW),
    }
    assert SECTION_TRANSITIONS[S.FINAL] == frozenset()


@pytest.fixture
def published(ctx, report) -> Section:
    section = new_section(ctx, report)
    publish(ctx, section, "Text.")
    return section


@pytest.mark.parametrize(("start", "target"), ALLOWED, ids=lambda s: s.value)
def test_every_allowed_move_is_made_and_recorded(ctx, published, start, target):
    published.state = start
    db.session.commit()
    before = utcnow()
    transition = services.transition_section(ctx.admin, published, target, note="  Checked. ")
    db.session.commit()
    db.session.expire_all()
    assert published.state is target
    assert published.state_changed_by_id == ctx.admin.id
    assert before - timedelta(seconds=1) <= published.state_changed_at <= utcnow()
    rows = db.session.scalars(
        select(SectionTransition).where(SectionTransition.section_id == published.id)
    ).all()
    assert rows == [transition]
    assert (transition.from_state, transition.to_state) == (start, target)
    assert transition.actor_id == ctx.admin.id
    assert transition.at == published.state_changed_at
    assert transition.note == "Checked."


@pytest.mark.parametrize(("start", "target"), REFUSED, ids=lambda s: s.value)
def test_every_other_move_is_refused_with_a_clear_message(ctx, published, start, target):
    published.state = start
    db.session.commit()
    message = f"A section that is “{start.title}” cannot become “{target.title}”."
    with pytest.raises(DomainError) as caught:
        services.transition_section(ctx.editor, published, target)
    assert caught.value.message == message
    db.session.rollback()
    db.session.expire_all()
    assert published.state is start
    assert published.state_changed_at is None
    assert db.session.scalar(select(func.count()).select_from(SectionTransition)) == 0


def test_the_refusal_is_in_the_readers_language(ctx, published):
    from flask_babel import force_locale, gettext

    published.state = SectionState.FINAL
    with force_locale("fr"):
        with pytest.raises(DomainError) as caught:
            services.transition_section(ctx.editor, published, SectionState.DRAFT)
        expected = gettext(
            "A section that is “%(current)s” cannot become “%(target)s”.",
            current=gettext("Final"),
            target=gettext("Draft"),
        )
    assert caught.value.message == expected


def test_review_needs_a_published_version(ctx, report):
    section = new_section(ctx, report)
    with pytest.raises(DomainError, match="Publish a first version"):
        services.transition_section(ctx.editor, section, SectionState.IN_REVIEW)
    db.session.rollback()
    assert section.state is SectionState.DRAFT
    publish(ctx, section, "Text.")
    services.transition_section(ctx.editor, section, SectionState.IN_REVIEW)
    assert section.state is SectionState.IN_REVIEW


def test_an_archived_section_does_not_move(ctx, published):
    services.set_section_archived(ctx.editor, published, True)
    with pytest.raises(DomainError, match="archived"):
        services.transition_section(ctx.editor, published, SectionState.IN_REVIEW)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(SectionTransition)) == 0


def test_history_keeps_every_move_in_order(ctx, published):
    path = [
        SectionState.IN_REVIEW,
        SectionState.CHANGES_REQUESTED,
        SectionState.IN_REVIEW,
        SectionState.APPROVED,
        SectionState.FINAL,
    ]
    for state in path:
        services.transition_section(ctx.editor, published, state)
        db.session.commit()
    rows = db.session.scalars(
        select(SectionTransition)
        .where(SectionTransition.section_id == published.id)
        .order_by(SectionTransition.id)
    ).all()
    assert [(r.from_state, r.to_state) for r in rows] == list(
        zip([SectionState.DRAFT, *path[:-1]], path, strict=True)
    )
    assert all(r.actor_id == ctx.editor.id for r in rows)
    assert [r.at for r in rows] == sorted(r.at for r in rows)
    assert published.is_locked and not published.can_publish_version()
