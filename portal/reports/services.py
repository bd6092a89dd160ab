"""Report, section and version operations: the rules. They flush, never commit."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from portal.accounts.models import User
from portal.audit.services import record
from portal.errors import DomainError
from portal.extensions import db
from portal.models import insert_unless_conflict, utcnow
from portal.reports.models import (
    Report,
    ReportStatus,
    Section,
    SectionState,
    SectionTransition,
    SectionVersion,
    content_sha256,
    text_sha256,
)


class EditConflict(DomainError):
    """Someone saved a newer revision since the form was loaded (security.md R2)."""

    def __init__(self, message, current) -> None:
        super().__init__(message)
        self.current = current


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


# Reports -----------------------------------------------------------------------------------


def create_report(
    actor: User,
    *,
    title_en: str,
    year: int,
    title_fr: str | None = None,
    description_en: str | None = None,
    description_fr: str | None = None,
) -> Report:
    report = Report(
        title_en=title_en.strip(),
        title_fr=_clean(title_fr),
        description_en=_clean(description_en),
        description_fr=_clean(description_fr),
        year=year,
        status=ReportStatus.ACTIVE,
        created_by_id=actor.id,
        revision=1,
    )
    db.session.add(report)
    record(actor, "report.created", report)
    return report


def update_report(actor: User, report: Report, *, expected_revision: int, **fields) -> None:
    if report.revision != expected_revision:
        raise EditConflict(
            _l("Someone else changed this report while you were editing it."), report
        )
    report.title_en = fields["title_en"].strip()
    report.title_fr = _clean(fields.get("title_fr"))
    report.description_en = _clean(fields.get("description_en"))
    report.description_fr = _clean(fields.get("description_fr"))
    report.year = fields["year"]
    report.revision += 1
    record(actor, "report.updated", report)


def set_report_status(actor: User, report: Report, status: ReportStatus) -> None:
    if report.status is status:
        raise DomainError(_l("The report already has this status."))
    report.status = status
    report.revision += 1
    record(actor, "report.status_changed", report, status=status.value)


# Sections ----------------------------------------------------------------------------------


def create_section(
    actor: User,
    report: Report,
    *,
    title_en: str,
    title_fr: str | None = None,
    content_note_en: str | None = None,
    content_note_fr: str | None = None,
) -> Section:
    if report.is_archived:
        raise DomainError(_l("This report is archived; restore it before adding sections."))
    last = db.session.scalar(
        select(func.max(Section.position)).where(Section.report_id == report.id)
    )
    section = Section(
        report_id=report.id,
        title_en=title_en.strip(),
        title_fr=_clean(title_fr),
        content_note_en=_clean(content_note_en),
        content_note_fr=_clean(content_note_fr),
        position=(last or 0) + 1,
        state=SectionState.DRAFT,
        revision=1,
    )
    db.session.add(section)
    record(actor, "section.created", section, report_id=report.id)
    return section


def update_section(actor: User, section: Section, *, expected_revision: int, **fields) -> None:
    if section.revision != expected_revision:
        raise EditConflict(
            _l("Someone else changed this section while you were editing it."), section
        )
    if section.is_locked:
        raise DomainError(_l("This section is final and locked."))
    section.title_en = fields["title_en"].strip()
    section.title_fr = _clean(fields.get("title_fr"))
    section.content_note_en = _clean(fields.get("content_note_en"))
    section.content_note_fr = _clean(fields.get("content_note_fr"))
    section.revision += 1
    record(actor, "section.updated", section)


def move_section(actor: User, section: Section, offset: int) -> None:
    """Move a section up (-1) or down (+1) among its report's sections.

    It swaps places with the nearest section that is archived or not as it is: the dashboard
    lists archived sections after the others, so swapping with one would change nothing there.
    """
    siblings = list(
        db.session.scalars(
            select(Section)
            .where(Section.report_id == section.report_id)
            .order_by(Section.position, Section.id)
        )
    )
    peers = [sibling for sibling in siblings if sibling.is_archived == section.is_archived]
    index = peers.index(section)
    target = index + offset
    if offset not in (-1, 1) or not 0 <= target < len(peers):
        raise DomainError(_l("This section cannot move further in that direction."))
    i, j = siblings.index(section), siblings.index(peers[target])
    siblings[i], siblings[j] = siblings[j], siblings[i]
    for position, sibling in enumerate(siblings, start=1):
        sibling.position = position
    record(actor, "section.moved", section, position=section.position)


def set_section_archived(actor: User, section: Section, archived: bool) -> None:
    """Archive instead of deleting: a section a consultant worked on is never removed."""
    if archived == section.is_archived:
        raise DomainError(_l("The section is already in that state."))
    section.archived_at = utcnow() if archived else None
    section.revision += 1
    record(actor, "section.archived" if archived else "section.restored", section)


def transition_section(
    actor: User, section: Section, to_state: SectionState, note: str | None = None
) -> SectionTransition:
    if section.is_archived:
        raise DomainError(_l("This section is archived; restore it first."))
    if not section.can_move_to(to_state):
        raise DomainError(
            _l(
                "A section that is “%(current)s” cannot become “%(target)s”.",
                current=section.state.title,
                target=to_state.title,
            )
        )
    if to_state is SectionState.IN_REVIEW and latest_version(section) is None:
        raise DomainError(_l("Publish a first version before sending the section for review."))
    transition = SectionTransition(
        section_id=section.id,
        from_state=section.state,
        to_state=to_state,
        actor_id=actor.id,
        at=utcnow(),
        note=_clean(note),
    )
    section.state = to_state
    section.state_changed_at = transition.at
    section.state_changed_by_id = actor.id
    db.session.add(transition)
    record(
        actor,
        "section.state_changed",
        section,
        previous=transition.from_state.value,
        state=to_state.value,
    )
    return transition


# Versions ----------------------------------------------------------------------------------


def latest_version(section: Section) -> SectionVersion | None:
    return db.session.scalar(
        select(SectionVersion)
        .where(SectionVersion.section_id == section.id)
        .order_by(SectionVersion.number.desc())
        .limit(1)
    )


def version_by_number(section: Section, number: int) -> SectionVersion | None:
    return db.session.scalar(
        select(SectionVersion).where(
            SectionVersion.section_id == section.id, SectionVersion.number == number
        )
    )


def publish_version(
    actor: User,
    section: Section,
    *,
    body_en: str,
    body_fr: str | None,
    change_summary: str | None,
    based_on: int,
    french_current: bool = False,
) -> SectionVersion:
    """Add the next version; never touches an earlier one.

    `based_on` is the latest version number the editor saw (0 for none): if another version was
    published since, this raises EditConflict and nothing is saved.
    """
    if not section.can_publish_version():
        raise DomainError(_l("This section is final or archived; no new version can be published."))
    latest = latest_version(section)
    latest_number = latest.number if latest else 0
    if based_on != latest_number:
        raise EditConflict(
            _l(
                "Version %(number)d was published while you were writing.",
                number=latest_number,
            ),
            latest,
        )
    body_en = body_en.strip()
    body_fr = _clean(body_fr)
    if not body_en:
        raise DomainError(_l("The English text is required."))
    digest = content_sha256(body_en, body_fr)
    if latest is not None and latest.content_sha256 == digest:
        raise DomainError(_l("Nothing changed since version %(number)d.", number=latest_number))
    if body_fr is None:
        fr_source = None
    elif french_current or latest is None or body_fr != latest.body_fr:
        # New or edited French is taken to translate this English.
        fr_source = text_sha256(body_en)
    else:
        fr_source = latest.fr_source_sha256
    # The unique (section, number) pair decides between two editors publishing at once.
    version_id = insert_unless_conflict(
        db.session,
        SectionVersion,
        {
            "section_id": section.id,
            "number": latest_number + 1,
            "body_en": body_en,
            "body_fr": body_fr,
            "fr_source_sha256": fr_source,
            "content_sha256": digest,
            "change_summary": _clean(change_summary),
            "author_id": actor.id,
            "created_at": utcnow(),
        },
        ["section_id", "number"],
    )
    if version_id is None:
        raise EditConflict(
            _l("Another version was published while you were writing."), latest_version(section)
        )
    version = db.session.get(SectionVersion, version_id)
    section.revision += 1
    record(actor, "version.published", version, number=version.number, sha256=digest)
    if latest is not None:
        from portal.review.services import ask_again_after_new_version, carry_annotations

        # Annotations follow their text (or become orphans), and earlier decisions go stale.
        carry_annotations(section, latest, version)
        ask_again_after_new_version(section)
    return version
