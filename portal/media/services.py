"""Photo and narrative rules: versions, consent, checklists, sign-offs, regions, clearance.

Every function flushes, never commits: the view commits the change and its audit record together
(security.md R4).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import Row, bindparam, exists, func, select, update
from sqlalchemy.orm import Bundle, selectinload

from portal.accounts.models import User
from portal.assignments.models import Assignment
from portal.audit.services import record
from portal.errors import DomainError
from portal.extensions import db
from portal.media.models import (
    IMAGE_FIELDS,
    NARRATIVE_FIELDS,
    PHOTO_FIELDS,
    Answer,
    ChecklistAnswer,
    ChecklistCriterion,
    ConsentRecord,
    ConsentState,
    ItemKind,
    MediaItem,
    MediaVersion,
    PhotoRegion,
    SignOff,
    SignOffDecision,
    fingerprint,
)
from portal.models import insert_unless_conflict, utcnow
from portal.reports.models import Report, Section, SectionState, SectionVersion
from portal.reports.services import EditConflict
from portal.review.models import Decision, SectionDecision
from portal.review.services import WORKING_STATES, can_work_on, is_editorial

MAX_NOTE = 2000
MAX_REASONS = 5000
CONSENT_YEARS = 3
EXPIRING_WITHIN = timedelta(days=60)
DECISIONS = (
    SignOffDecision.APPROVE,
    SignOffDecision.APPROVE_WITH_CHANGES,
    SignOffDecision.NOT_APPROVED,
)


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


# Items and versions ---------------------------------------------------------------------------


def items_of(section: Section, *, include_archived: bool = False) -> list[MediaItem]:
    return items_of_sections([section.id], include_archived=include_archived).get(section.id, [])


def items_of_sections(
    section_ids: list[int], *, include_archived: bool = False
) -> dict[int, list[MediaItem]]:
    """`items_of` several sections (section id -> items), with their versions and consents."""
    items: dict[int, list[MediaItem]] = {}
    if not section_ids:
        return items
    stmt = (
        select(MediaItem)
        .where(MediaItem.section_id.in_(section_ids))
        .order_by(MediaItem.kind, MediaItem.id)
        .options(selectinload(MediaItem.versions), selectinload(MediaItem.consents))
    )
    if not include_archived:
        stmt = stmt.where(MediaItem.archived_at.is_(None))
    for item in db.session.scalars(stmt):
        items.setdefault(item.section_id, []).append(item)
    return items


def _version_fields(kind: ItemKind, fields: dict) -> dict:
    """The cleaned columns of a version of this kind (other kinds' columns stay empty)."""
    if kind is ItemKind.PHOTO:
        cleaned = {name: _clean(fields.get(name)) for name in PHOTO_FIELDS if name != "staged"}
        cleaned["staged"] = bool(fields.get("staged"))
        cleaned |= {name: fields.get(name) for name in IMAGE_FIELDS}
    else:
        names = NARRATIVE_FIELDS
        cleaned = {name: _clean(fields.get(name)) for name in names}
    return cleaned


def _add_version(actor: User, item: MediaItem, fields: dict, change_summary: str | None):
    number = item.versions[-1].number + 1 if item.versions else 1
    version = MediaVersion(
        item=item,
        number=number,
        content_sha256=fingerprint(item.kind, fields),
        change_summary=_clean(change_summary),
        author_id=actor.id,
        created_at=utcnow(),
        **fields,
    )
    db.session.add(version)
    db.session.flush()
    return version


def add_item(
    actor: User, section: Section, kind: ItemKind, fields: dict, *, identifiable: bool = False
) -> MediaItem:
    """Attach a new photo or narrative to a section, as its version 1."""
    if section.is_archived:
        raise DomainError(_l("This section is archived; nothing can be added to it."))
    item = MediaItem(
        section=section,
        kind=kind,
        identifiable_people=identifiable if kind is ItemKind.PHOTO else False,
        created_by_id=actor.id,
    )
    db.session.add(item)
    version = _add_version(actor, item, _version_fields(kind, fields), None)
    record(
        actor,
        f"{kind.value}.added",
        item,
        section_id=section.id,
        version=1,
        sha256=version.content_sha256,
    )
    return item


def publish_item_version(
    actor: User,
    item: MediaItem,
    *,
    expected_revision: int | None,
    fields: dict,
    identifiable: bool,
    change_summary: str | None = None,
) -> MediaVersion | None:
    """A change to the item makes a new version; sign-offs on older versions become stale.

    Returns None when only the identifiable-people flag changed (it is not reviewed content).
    """
    if item.is_archived:
        raise DomainError(_l("This item was removed from the section; it cannot be changed."))
    # Taking the revision in one statement serialises two editors saving at once: the second
    # finds the revision moved on and gets the conflict page (R2), never a duplicate version.
    taken = db.session.execute(
        update(MediaItem)
        .where(MediaItem.id == item.id, MediaItem.revision == expected_revision)
        .values(revision=MediaItem.revision + 1)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:
        db.session.refresh(item)
        raise EditConflict(
            _l("Someone saved a newer version of this item while you were editing."), item
        )
    db.session.refresh(item, ["revision"])
    previous = item.latest
    cleaned = _version_fields(item.kind, fields)
    if item.kind is ItemKind.PHOTO and not cleaned.get("image_name"):
        cleaned |= {name: getattr(previous, name) for name in IMAGE_FIELDS}
    consent_changed = item.kind is ItemKind.PHOTO and identifiable != item.identifiable_people
    if consent_changed:
        item.identifiable_people = identifiable
        record(actor, "photo.identifiable_changed", item, identifiable=identifiable)
    if previous is not None and fingerprint(item.kind, cleaned) == previous.content_sha256:
        if consent_changed:
            return None
        raise DomainError(_l("Nothing changed, so no new version was made."))
    version = _add_version(actor, item, cleaned, change_summary)
    _ask_again(item, version)
    record(
        actor,
        f"{item.kind.value}.version_published",
        item,
        version=version.number,
        sha256=version.content_sha256,
        image_changed=bool(
            item.kind is ItemKind.PHOTO
            and previous is not None
            and previous.image_sha256 != version.image_sha256
        ),
    )
    return version


def _ask_again(item: MediaItem, version: MediaVersion) -> None:
    """Consultants whose decision the change made stale are told the item is back for them."""
    from portal.notifications.models import NotificationKind
    from portal.notifications.services import bilingual_title, notify, path_for

    for row in latest_records(item).values():
        if (
            row.decision is not SignOffDecision.WITHDRAWN
            and row.version_id != version.id
            and can_work_on(row.consultant, item.section)
        ):
            notify(
                row.consultant,
                NotificationKind.ASKED_AGAIN,
                link=path_for("media.item", item_id=item.id),
                params={"title": bilingual_title(item.section), "item": item.kind.value},
            )


def archive_item(actor: User, item: MediaItem) -> None:
    if item.is_archived:
        return
    item.archived_at = utcnow()
    item.archived_by_id = actor.id
    record(actor, f"{item.kind.value}.removed", item)


def version_by_number(item: MediaItem, number: int) -> MediaVersion | None:
    return next((v for v in item.versions if v.number == number), None)


# Consent --------------------------------------------------------------------------------------


class ConsentError(DomainError):
    """A consent record refused; `field` names the form field the message belongs to."""

    def __init__(self, message, field: str) -> None:
        super().__init__(message)
        self.field = field


def default_expiry(given_on: date) -> date:
    """Three years after the date consent was given (the shared guide's maximum)."""
    try:
        return given_on.replace(year=given_on.year + CONSENT_YEARS)
    except ValueError:  # 29 February
        return given_on.replace(year=given_on.year + CONSENT_YEARS, day=28)


def record_consent(
    actor: User,
    item: MediaItem,
    *,
    given_by: str,
    given_on: date,
    scope: str,
    uses_allowed: int | None,
    expires_on: date | None,
    replaces: ConsentRecord | None = None,
    today: date | None = None,
) -> ConsentRecord:
    today = today or utcnow().date()
    given_by, scope = _clean(given_by), _clean(scope)
    if not given_by or not scope:
        raise ConsentError(_l("Please say who gave consent and what it covers."), "given_by")
    if given_on > today:
        raise ConsentError(_l("The date consent was given cannot be in the future."), "given_on")
    latest_allowed = default_expiry(given_on)
    expires_on = expires_on or latest_allowed
    if expires_on <= given_on:
        raise ConsentError(
            _l("The expiry date must come after the date consent was given."), "expires_on"
        )
    if expires_on > latest_allowed:
        raise ConsentError(
            _l("Consent can last at most three years from the date it was given."), "expires_on"
        )
    if uses_allowed is not None and uses_allowed < 1:
        raise ConsentError(
            _l("The number of uses must be at least 1, or left empty."), "uses_allowed"
        )
    if replaces is not None:
        if replaces.item_id != item.id:
            raise ConsentError(_l("That earlier consent belongs to another item."), "replaces")
        if _is_renewed(replaces):
            raise ConsentError(_l("That earlier consent was already renewed."), "replaces")
    consent = ConsentRecord(
        item=item,
        given_by=given_by,
        given_on=given_on,
        scope=scope,
        uses_allowed=uses_allowed,
        expires_on=expires_on,
        recorded_by_id=actor.id,
        recorded_at=utcnow(),
        replaces=replaces,
    )
    db.session.add(consent)
    db.session.flush()
    record(
        actor,
        "consent.recorded",
        consent,
        item_id=item.id,
        given_on=given_on.isoformat(),
        expires_on=expires_on.isoformat(),
        renews=replaces.id if replaces is not None else None,
    )
    return consent


def withdraw_consent(actor: User, consent: ConsentRecord, *, today: date | None = None) -> bool:
    """Record that consent was withdrawn (one action). False if it already was."""
    if consent.withdrawn_on is not None:
        return False
    consent.withdrawn_on = today or utcnow().date()
    consent.withdrawn_recorded_by_id = actor.id
    consent.withdrawn_recorded_at = utcnow()
    record(actor, "consent.withdrawn", consent, item_id=consent.item_id)
    return True


def _is_renewed(consent: ConsentRecord) -> bool:
    return bool(db.session.scalar(select(exists().where(ConsentRecord.replaces_id == consent.id))))


def consent_state(consent: ConsentRecord, today: date, renewed_ids: set[int]) -> ConsentState:
    if consent.id in renewed_ids:
        return ConsentState.RENEWED
    if consent.withdrawn_on is not None:
        return ConsentState.WITHDRAWN
    if consent.expires_on <= today:
        return ConsentState.EXPIRED
    if consent.expires_on - today <= EXPIRING_WITHIN:
        return ConsentState.EXPIRING
    return ConsentState.VALID


@dataclass
class ConsentSummary:
    state: ConsentState
    records: list[tuple[ConsentRecord, ConsentState]]
    expires_on: date | None = None

    @property
    def blocks(self) -> bool:
        return self.state.blocks


def item_consent(item: MediaItem, today: date | None = None) -> ConsentSummary:
    """The item's consent, judged on the records that count (renewed ones do not)."""
    today = today or utcnow().date()
    renewed = {c.replaces_id for c in item.consents if c.replaces_id is not None}
    records = [(c, consent_state(c, today, renewed)) for c in item.consents]
    counting = [(c, s) for c, s in records if s is not ConsentState.RENEWED]
    expiry = min((c.expires_on for c, _s in counting), default=None)
    if not item.needs_consent and not counting:
        return ConsentSummary(ConsentState.NOT_NEEDED, records)
    if not counting:
        return ConsentSummary(ConsentState.MISSING, records)
    for state in (ConsentState.WITHDRAWN, ConsentState.EXPIRED, ConsentState.EXPIRING):
        if any(s is state for _c, s in counting):
            return ConsentSummary(state, records, expiry)
    return ConsentSummary(ConsentState.VALID, records, expiry)


# Checklists -----------------------------------------------------------------------------------


def criteria(kind: ItemKind, *, include_retired: bool = False) -> list[ChecklistCriterion]:
    stmt = (
        select(ChecklistCriterion)
        .where(ChecklistCriterion.kind == kind)
        .order_by(ChecklistCriterion.position, ChecklistCriterion.id)
    )
    if not include_retired:
        stmt = stmt.where(ChecklistCriterion.retired_at.is_(None))
    return list(db.session.scalars(stmt))


def criterion_used(criterion: ChecklistCriterion) -> bool:
    return bool(
        db.session.scalar(select(exists().where(ChecklistAnswer.criterion_id == criterion.id)))
    )


def add_criterion(
    actor: User, kind: ItemKind, *, text_en: str, text_fr: str, sources: str | None
) -> ChecklistCriterion:
    position = max((c.position for c in criteria(kind, include_retired=True)), default=0) + 1
    criterion = ChecklistCriterion(
        kind=kind,
        position=position,
        text_en=_clean(text_en),
        text_fr=_clean(text_fr),
        sources=_clean(sources),
    )
    db.session.add(criterion)
    db.session.flush()
    record(actor, "checklist.criterion_added", criterion, kind=kind.value)
    return criterion


def update_criterion(
    actor: User, criterion: ChecklistCriterion, *, text_en: str, text_fr: str, sources: str | None
) -> None:
    """Wording can change until a consultant has answered it; then retire it and add another."""
    if criterion_used(criterion):
        raise DomainError(
            _l(
                "Consultants have already answered this criterion, so its wording cannot change. "
                "Retire it and add a new one instead."
            )
        )
    criterion.text_en = _clean(text_en)
    criterion.text_fr = _clean(text_fr)
    criterion.sources = _clean(sources)
    record(actor, "checklist.criterion_changed", criterion)


def retire_criterion(actor: User, criterion: ChecklistCriterion, retired: bool) -> None:
    if criterion.is_retired == retired:
        return
    criterion.retired_at = utcnow() if retired else None
    record(
        actor,
        "checklist.criterion_retired" if retired else "checklist.criterion_restored",
        criterion,
    )


def delete_criterion(actor: User, criterion: ChecklistCriterion) -> None:
    if criterion_used(criterion):
        raise DomainError(
            _l("Consultants have already answered this criterion: it can be retired, not deleted.")
        )
    record(actor, "checklist.criterion_deleted", criterion, kind=criterion.kind.value)
    db.session.delete(criterion)
    db.session.flush()


# Sign-offs ------------------------------------------------------------------------------------


def can_review(user: User, item: MediaItem) -> bool:
    """Consultants whose assignment on the item's section is accepted, in review or submitted."""
    return not is_editorial(user) and can_work_on(user, item.section) and not item.is_archived


@dataclass(frozen=True)
class AnswerGiven:
    answer: Answer
    note: str | None = None


def submit_sign_off(
    consultant: User,
    item: MediaItem,
    *,
    version_number: int,
    decision: SignOffDecision,
    reasons: str | None,
    answers: dict[int, AnswerGiven],
    submission_key: str,
) -> SignOff:
    """Record a decision on the exact version reviewed, with the whole checklist answered.

    The same form sent twice (two clicks, two workers) records one sign-off (R3).
    """
    existing = _sign_off_sent_with(submission_key)
    if existing is not None:
        return _same_sender(existing, consultant, item)
    if not can_review(consultant, item):
        raise DomainError(_l("You can give a decision once you have accepted this section."))
    version = item.latest
    if version is None or version.number != version_number:
        raise DomainError(
            _l("This item changed since you opened this page. Please look at it again.")
        )
    if decision not in DECISIONS:
        raise DomainError(_l("Please choose a decision."))
    reasons = _clean(reasons)
    if decision is not SignOffDecision.APPROVE and not reasons:
        raise DomainError(_l("Please say what should change, or why it is not approved."))
    required = criteria(item.kind)
    missing = [c for c in required if c.id not in answers]
    if missing:
        raise DomainError(_l("Please answer every point of the checklist before deciding."))
    if any(a.answer is Answer.DOES_NOT_MEET and not _clean(a.note) for a in answers.values()):
        raise DomainError(_l("Please add a note to each point that is not met."))
    if decision is not SignOffDecision.NOT_APPROVED and item_consent(item).blocks:
        raise DomainError(
            _l(
                "Consent for this item is missing, expired or withdrawn, so it cannot be "
                "approved. You can still record “Not approved”."
            )
        )
    row_id = insert_unless_conflict(
        db.session,
        SignOff,
        {
            "item_id": item.id,
            "version_id": version.id,
            "consultant_id": consultant.id,
            "decision": decision,
            "reasons": reasons,
            "content_sha256": version.content_sha256,
            "submission_key": submission_key,
            "created_at": utcnow(),
        },
        ["submission_key"],
    )
    row = _sign_off_sent_with(submission_key)
    if row_id is None:
        # The same form, sent at the same moment by another request, got there first.
        return _same_sender(row, consultant, item)
    known = {c.id for c in required}
    for criterion_id, given in answers.items():
        if criterion_id in known:
            db.session.add(
                ChecklistAnswer(
                    sign_off_id=row.id,
                    criterion_id=criterion_id,
                    answer=given.answer,
                    note=_clean(given.note),
                )
            )
    db.session.flush()
    record(
        consultant,
        "sign_off.recorded",
        row,
        item_id=item.id,
        decision=decision.value,
        version=version.number,
        sha256=version.content_sha256,
    )
    return row


def _sign_off_sent_with(submission_key: str) -> SignOff | None:
    return db.session.scalar(select(SignOff).where(SignOff.submission_key == submission_key))


def _same_sender(row: SignOff, consultant: User, item: MediaItem) -> SignOff:
    if row.consultant_id != consultant.id or row.item_id != item.id:
        raise DomainError(_l("This form was already used. Please open the decision page again."))
    return row


def withdraw_sign_off(consultant: User, sign_off: SignOff) -> SignOff:
    """Take back one's own decision: a new record pointing at it (the old one stays)."""
    if sign_off.consultant_id != consultant.id or sign_off.decision is SignOffDecision.WITHDRAWN:
        raise DomainError(_l("Only your own decision can be withdrawn."))
    latest = latest_records(sign_off.item).get(consultant.id)
    if latest is not None and latest.withdraws_id == sign_off.id:
        return latest  # already withdrawn: the second click is told, not failed
    if latest is None or latest.id != sign_off.id:
        raise DomainError(_l("This decision was already replaced by a newer one."))
    row_id = insert_unless_conflict(
        db.session,
        SignOff,
        {
            "item_id": sign_off.item_id,
            "version_id": sign_off.version_id,
            "consultant_id": consultant.id,
            "decision": SignOffDecision.WITHDRAWN,
            "content_sha256": sign_off.content_sha256,
            "withdraws_id": sign_off.id,
            "submission_key": uuid.uuid4().hex,
            "created_at": utcnow(),
        },
        ["withdraws_id"],
    )
    row = db.session.scalar(select(SignOff).where(SignOff.withdraws_id == sign_off.id))
    if row_id is not None:
        record(
            consultant, "sign_off.withdrawn", row, item_id=sign_off.item_id, withdraws=sign_off.id
        )
    return row


def latest_records(item: MediaItem, *, with_answers: bool = False) -> dict[int, SignOff]:
    """Each consultant's most recent sign-off record on the item (a withdrawal included)."""
    return latest_records_of([item], with_answers=with_answers).get(item.id, {})


def latest_records_of(
    items: list[MediaItem], *, with_answers: bool = False
) -> dict[int, dict[int, SignOff]]:
    """`latest_records` of several items (item id -> consultant id -> record), in one query."""
    options = [selectinload(SignOff.consultant), selectinload(SignOff.version)]
    if with_answers:
        options.append(selectinload(SignOff.answers).selectinload(ChecklistAnswer.criterion))
    newest: dict[int, dict[int, SignOff]] = {}
    if not items:
        return newest
    for row in db.session.scalars(
        select(SignOff)
        .where(SignOff.item_id.in_([item.id for item in items]))
        .order_by(SignOff.created_at, SignOff.id)
        .options(*options)
    ):
        newest.setdefault(row.item_id, {})[row.consultant_id] = row
    return newest


@dataclass
class ItemDecisions:
    current: list[SignOff] = field(default_factory=list)
    stale: list[SignOff] = field(default_factory=list)

    @property
    def state(self) -> SignOffDecision | None:
        """The most cautious current decision (not approved > with changes > approved)."""
        if not self.current:
            return None
        return max((s.decision for s in self.current), key=lambda d: d.caution)


def item_decisions(item: MediaItem, records: dict[int, SignOff] | None = None) -> ItemDecisions:
    """Current and stale decisions; `records` is `latest_records(item)` if the caller has it."""
    if records is None:
        records = latest_records(item)
    latest = item.latest
    return ItemDecisions(*_split_decisions(records, latest.id if latest else None))


def _split_decisions(newest: dict, latest_version_id: int | None) -> tuple[list, list]:
    """Each consultant's latest decision (consultant id -> a SignOff or ClearanceDecision),
    split into current ones (on the latest version) and stale ones; withdrawals are neither."""
    current, stale = [], []
    for row in newest.values():
        if row.decision is SignOffDecision.WITHDRAWN:
            continue
        if latest_version_id is not None and row.version_id == latest_version_id:
            current.append(row)
        else:
            stale.append(row)
    return current, stale


@cache
def _review_queue_statement():
    """The live items on the sections a consultant (the `consultant_id` parameter) works on,
    each with only its latest version and only what the dashboard names them by.

    Built once: assembling it costs more than running it (the database's plan and SQLAlchemy's
    compiled form are cached, the Python statement is not)."""
    item = Bundle(
        "item",
        MediaItem.id,
        MediaItem.kind,
        Section.title_en.label("section_title_en"),
        Section.title_fr.label("section_title_fr"),
    )
    version = Bundle(
        "version",
        MediaVersion.id,
        MediaVersion.caption_en,
        MediaVersion.caption_fr,
        MediaVersion.title_en,
        MediaVersion.title_fr,
        MediaVersion.content_note_en,
        MediaVersion.content_note_fr,
    )
    later = MediaVersion.__table__.alias()
    latest_number = (
        select(func.max(later.c.number)).where(later.c.item_id == MediaItem.id).scalar_subquery()
    )
    return (
        select(item, version)
        .join_from(
            MediaItem,
            MediaVersion,
            (MediaVersion.item_id == MediaItem.id) & (MediaVersion.number == latest_number),
        )
        .join(Section, Section.id == MediaItem.section_id)
        .join(
            Assignment,
            (Assignment.section_id == MediaItem.section_id)
            & (Assignment.consultant_id == bindparam("consultant_id")),
        )
        .where(Assignment.state.in_(WORKING_STATES), MediaItem.archived_at.is_(None))
        .order_by(MediaItem.section_id, MediaItem.kind, MediaItem.id)
    )


def review_queue(consultant: User) -> list[tuple[Row, Row, bool]]:
    """Items waiting for this consultant's decision: each with its latest version and whether
    they are asked again (because they decided on an earlier version).

    Plain rows, not ORM objects, for the dashboard: `item` has the item's `id`, `kind` and its
    section's titles (`section_title_en`, `section_title_fr`); `version` has the version's `id`,
    titles, captions and content notes.
    """
    rows = db.session.execute(_review_queue_statement(), {"consultant_id": consultant.id}).all()
    # The consultant's own latest record on each item, read in one query for all of them.
    mine_on: dict[int, tuple[SignOffDecision, int]] = {}
    if rows:
        for item_id, decision, version_id in db.session.execute(
            select(SignOff.item_id, SignOff.decision, SignOff.version_id)
            .where(
                SignOff.consultant_id == consultant.id,
                SignOff.item_id.in_([item.id for item, _version in rows]),
            )
            .order_by(SignOff.created_at, SignOff.id)
        ):
            mine_on[item_id] = (decision, version_id)
    queue = []
    for item, latest in rows:
        decision, version_id = mine_on.get(item.id, (None, None))
        if decision is None or decision is SignOffDecision.WITHDRAWN:
            queue.append((item, latest, False))
        elif version_id != latest.id:
            queue.append((item, latest, True))
    return queue


# Regions --------------------------------------------------------------------------------------


def visible_regions(user: User, item: MediaItem) -> list[PhotoRegion]:
    """Regions drawn on the image the latest version shows; same visibility as annotations."""
    latest = item.latest
    if latest is None or latest.image_sha256 is None:
        return []
    stmt = (
        select(PhotoRegion)
        .where(PhotoRegion.item_id == item.id, PhotoRegion.image_sha256 == latest.image_sha256)
        .order_by(PhotoRegion.created_at, PhotoRegion.id)
        .options(selectinload(PhotoRegion.author))
    )
    if not is_editorial(user) and (
        item.section.independent_review or not can_work_on(user, item.section)
    ):
        stmt = stmt.where(PhotoRegion.author_id == user.id)
    return list(db.session.scalars(stmt))


def add_region(
    user: User,
    item: MediaItem,
    *,
    x: float,
    y: float,
    width: float,
    height: float,
    note: str,
    submission_key: str,
) -> PhotoRegion:
    """Mark a rectangle (fractions of the image) on the photo's latest version, with a note."""
    existing = db.session.scalar(
        select(PhotoRegion).where(PhotoRegion.submission_key == submission_key)
    )
    if existing is not None:
        if existing.author_id != user.id or existing.item_id != item.id:
            raise DomainError(_l("This form was already used. Please open the page again."))
        return existing
    if not item.is_photo or item.is_archived or not can_work_on(user, item.section):
        raise DomainError(_l("Notes on a photo can be added once you have accepted the section."))
    note = _clean(note)
    if not note:
        raise DomainError(_l("Please write a note for the marked area."))
    values = (x, y, width, height)
    if any(v != v for v in values) or x < 0 or y < 0 or width <= 0 or height <= 0:
        raise DomainError(_l("Please mark an area inside the photo."))
    if x + width > 1.0001 or y + height > 1.0001:
        raise DomainError(_l("Please mark an area inside the photo."))
    latest = item.latest
    row_id = insert_unless_conflict(
        db.session,
        PhotoRegion,
        {
            "item_id": item.id,
            "version_id": latest.id,
            "image_sha256": latest.image_sha256,
            "author_id": user.id,
            "x": x,
            "y": y,
            "width": width,
            "height": height,
            "note": note,
            "submission_key": submission_key,
            "created_at": utcnow(),
        },
        ["submission_key"],
    )
    region = db.session.scalar(
        select(PhotoRegion).where(PhotoRegion.submission_key == submission_key)
    )
    if row_id is not None:
        record(user, "region.added", region, item_id=item.id, version=latest.number)
    return region


def delete_region(user: User, region: PhotoRegion) -> None:
    if region.author_id != user.id:
        raise DomainError(_l("Only the person who marked an area can remove it."))
    record(user, "region.removed", region, item_id=region.item_id)
    db.session.delete(region)
    db.session.flush()


# Clearance ------------------------------------------------------------------------------------
#
# A report may list hundreds of sections and items: everything is read as plain rows (only the
# columns the report shows, in a fixed number of queries), and every title and message is
# translated once per report, then formatted per row.


@dataclass(slots=True)
class ClearanceDecision:
    """A consultant's latest decision on a section or an item, as the clearance report lists it."""

    id: int
    consultant_id: int
    consultant_name: str
    version_id: int
    version_number: int
    decision: object  # a review Decision (sections) or a SignOffDecision (items)
    created_at: datetime
    title: str  # the decision's title, translated


@dataclass(slots=True)
class ClearanceVersion:
    """What the report shows of an item's latest version."""

    id: int
    number: int
    caption_en: str | None
    caption_fr: str | None
    title_en: str | None
    title_fr: str | None


@dataclass
class ClearanceItem:
    """What the report needs of a photo or narrative: its latest version, and its consent records
    (plain rows of what `item_consent` reads)."""

    id: int
    section_id: int
    kind: ItemKind
    identifiable_people: bool
    latest: ClearanceVersion | None
    consents: list[Row] = field(default_factory=list)

    # The same rules as a MediaItem's.
    is_photo = MediaItem.is_photo
    needs_consent = MediaItem.needs_consent


@dataclass
class ClearanceRow:
    """One section, photo or narrative on the clearance report."""

    kind: str  # "section" | "photo" | "narrative"
    obj: object  # the section (as `section`) or a ClearanceItem
    section: Row  # id, title_en, title_fr, state, version_id and version_number (its latest)
    version_number: int | None
    state_title: str
    decisions: list[ClearanceDecision]  # current and stale
    stale_ids: set[int]
    consent: ConsentSummary | None
    blockers: list[str]

    @property
    def cleared(self) -> bool:
        return not self.blockers


class _ClearanceTexts:
    """The report's titles and messages, translated once; those with a name or a number are
    formatted per row with %."""

    def __init__(self) -> None:
        self.section_states = {state: state.title for state in SectionState}
        self.section_decisions = {decision: decision.title for decision in Decision}
        self.sign_offs = {decision: decision.title for decision in SignOffDecision}
        self.consent_states = {state: state.title for state in ConsentState}
        self.awaiting = gettext("Awaiting decisions")
        self.no_text = gettext("No version of the text has been published yet.")
        self.no_decision = gettext("No consultant has given a decision on this version yet.")
        self.changes_requested = gettext("Changes requested by %(name)s.")
        self.not_approved = gettext("Not approved by %(name)s.")
        self.with_changes = gettext(
            "%(name)s approved with changes: a new version with the changes needs their decision."
        )
        self.decided_earlier = gettext(
            "%(name)s decided on version %(number)d; a newer version waits for them."
        )
        self.waiting = gettext("Waiting for a decision from %(name)s.")


def _clearance_sections(report: Report, consultant: User | None) -> list[Row]:
    """The report's live sections in order, each with its latest version's id and number (None
    without one); only those offered to `consultant` when given."""
    newest = (
        select(SectionVersion.section_id, func.max(SectionVersion.number).label("number"))
        .join(Section, Section.id == SectionVersion.section_id)
        .where(Section.report_id == report.id)
        .group_by(SectionVersion.section_id)
        .subquery()
    )
    stmt = (
        select(
            Section.id,
            Section.title_en,
            Section.title_fr,
            Section.state,
            SectionVersion.id.label("version_id"),
            SectionVersion.number.label("version_number"),
        )
        .outerjoin(newest, newest.c.section_id == Section.id)
        .outerjoin(
            SectionVersion,
            (SectionVersion.section_id == Section.id) & (SectionVersion.number == newest.c.number),
        )
        .where(Section.report_id == report.id, Section.archived_at.is_(None))
        .order_by(Section.position, Section.id)
    )
    if consultant is not None:
        stmt = stmt.where(
            Section.id.in_(
                select(Assignment.section_id).where(Assignment.consultant_id == consultant.id)
            )
        )
    return list(db.session.execute(stmt))


def _clearance_items(section_ids: list[int]) -> dict[int, list[ClearanceItem]]:
    """The sections' live items (section id -> items), with latest versions and consents."""
    items: dict[int, list[ClearanceItem]] = {}
    if not section_ids:
        return items
    newest = (
        select(MediaVersion.item_id, func.max(MediaVersion.number).label("number"))
        .join(MediaItem, MediaItem.id == MediaVersion.item_id)
        .where(MediaItem.section_id.in_(section_ids))
        .group_by(MediaVersion.item_id)
        .subquery()
    )
    by_id: dict[int, ClearanceItem] = {}
    for item_id, section_id, kind, identifiable, *version in db.session.execute(
        select(
            MediaItem.id,
            MediaItem.section_id,
            MediaItem.kind,
            MediaItem.identifiable_people,
            # The ClearanceVersion.
            MediaVersion.id,
            MediaVersion.number,
            MediaVersion.caption_en,
            MediaVersion.caption_fr,
            MediaVersion.title_en,
            MediaVersion.title_fr,
        )
        .outerjoin(newest, newest.c.item_id == MediaItem.id)
        .outerjoin(
            MediaVersion,
            (MediaVersion.item_id == MediaItem.id) & (MediaVersion.number == newest.c.number),
        )
        .where(MediaItem.section_id.in_(section_ids), MediaItem.archived_at.is_(None))
        .order_by(MediaItem.kind, MediaItem.id)
    ):
        latest = ClearanceVersion(*version) if version[0] is not None else None
        item = ClearanceItem(item_id, section_id, kind, identifiable, latest)
        by_id[item_id] = item
        items.setdefault(section_id, []).append(item)
    if by_id:
        for consent in db.session.execute(
            select(
                ConsentRecord.item_id,
                ConsentRecord.id,
                ConsentRecord.replaces_id,
                ConsentRecord.expires_on,
                ConsentRecord.withdrawn_on,
            )
            .where(ConsentRecord.item_id.in_(list(by_id)))
            .order_by(ConsentRecord.id)
        ):
            by_id[consent.item_id].consents.append(consent)
    return items


def _latest_decisions(
    owner_ids: list[int], *, model, owner, version, titles: dict
) -> dict[int, dict[int, ClearanceDecision]]:
    """Each consultant's latest decision (owner id -> consultant id -> decision, in the order of
    their first one) on these sections (model SectionDecision, owner SectionDecision.section_id,
    version SectionVersion) or items (SignOff, SignOff.item_id, MediaVersion)."""
    newest: dict[int, dict[int, Row]] = {}
    if not owner_ids:
        return {}
    for row in db.session.execute(
        select(
            owner.label("owner_id"),
            model.id,
            model.consultant_id,
            User.display_name_column().label("display_name"),
            model.version_id,
            version.number,
            model.decision,
            model.created_at,
        )
        .join(User, User.id == model.consultant_id)
        .join(version, version.id == model.version_id)
        .where(owner.in_(owner_ids))
        .order_by(model.created_at, model.id)
    ):
        newest.setdefault(row.owner_id, {})[row.consultant_id] = row
    return {
        owner_id: {
            consultant_id: ClearanceDecision(
                id=row.id,
                consultant_id=consultant_id,
                consultant_name=row.display_name,
                version_id=row.version_id,
                version_number=row.number,
                decision=row.decision,
                created_at=row.created_at,
                title=titles[row.decision],
            )
            for consultant_id, row in rows.items()
        }
        for owner_id, rows in newest.items()
    }


def _working_consultant_names(section_ids: list[int]) -> dict[int, list[tuple[int, str]]]:
    """Consultants at work on each section (section id -> their ids and display names): their
    word is expected on the section and its items."""
    working: dict[int, list[tuple[int, str]]] = {}
    if not section_ids:
        return working
    for row in db.session.execute(
        select(
            Assignment.section_id,
            User.id.label("consultant_id"),
            User.display_name_column().label("display_name"),
        )
        .select_from(User)
        .join(Assignment, Assignment.consultant_id == User.id)
        .where(Assignment.section_id.in_(section_ids), Assignment.state.in_(WORKING_STATES))
        .order_by(Assignment.offered_at)
    ):
        working.setdefault(row.section_id, []).append((row.consultant_id, row.display_name))
    return working


def _waiting_blockers(
    texts: _ClearanceTexts,
    decided: set[int],
    stale: list[ClearanceDecision],
    working: list[tuple[int, str]],
) -> list[str]:
    blockers = []
    stale_by = {row.consultant_id: row for row in stale}
    for consultant_id, name in working:
        if consultant_id in decided:
            continue
        if consultant_id in stale_by:
            number = stale_by[consultant_id].version_number
            blockers.append(texts.decided_earlier % {"name": name, "number": number})
        else:
            blockers.append(texts.waiting % {"name": name})
    return blockers


def _decision_blockers(
    texts: _ClearanceTexts, current: list[ClearanceDecision], refused: str
) -> list[str]:
    """What current decisions hold back; `refused` words the most cautious one (%(name)s)."""
    blockers = []
    for row in current:
        if row.decision.value == "approve":
            continue
        if row.decision.value == "approve_with_changes":
            blockers.append(texts.with_changes % {"name": row.consultant_name})
        else:
            blockers.append(refused % {"name": row.consultant_name})
    return blockers


def _section_row(
    texts: _ClearanceTexts,
    section: Row,
    consultant: User | None,
    newest: dict[int, ClearanceDecision],
    working: list[tuple[int, str]],
) -> ClearanceRow:
    """`newest`: each consultant's latest decision on the section; `working`: who is at work."""
    current, stale = _split_decisions(newest, section.version_id)
    blockers: list[str] = []
    if section.version_id is None:
        blockers.append(texts.no_text)
    else:
        blockers += _decision_blockers(texts, current, texts.changes_requested)
        waiting = _waiting_blockers(texts, {d.consultant_id for d in current}, stale, working)
        blockers += waiting
        if not current and not waiting:
            blockers.append(texts.no_decision)
    decisions = current + stale
    if consultant is not None:
        decisions = [d for d in decisions if d.consultant_id == consultant.id]
    return ClearanceRow(
        kind="section",
        obj=section,
        section=section,
        version_number=section.version_number,
        state_title=texts.section_states[section.state],
        decisions=decisions,
        stale_ids={d.id for d in stale},
        consent=None,
        blockers=blockers,
    )


def item_clearance(
    texts: _ClearanceTexts,
    item: ClearanceItem,
    section: Row,
    consultant: User | None,
    newest: dict[int, ClearanceDecision],
    working: list[tuple[int, str]],
    today: date,
) -> ClearanceRow:
    """`newest`: each consultant's latest sign-off on the item; `working`: who is at work on its
    section."""
    current, stale = _split_decisions(newest, item.latest.id if item.latest else None)
    consent = item_consent(item, today)
    blockers: list[str] = []
    if consent.blocks:
        blockers.append(texts.consent_states[consent.state])
    blockers += _decision_blockers(texts, current, texts.not_approved)
    waiting = _waiting_blockers(texts, {s.consultant_id for s in current}, stale, working)
    blockers += waiting
    if not current and not waiting:
        blockers.append(texts.no_decision)
    rows = current + stale
    if consultant is not None:
        rows = [r for r in rows if r.consultant_id == consultant.id]
    state = ItemDecisions(current, stale).state
    return ClearanceRow(
        kind=item.kind.value,
        obj=item,
        section=section,
        version_number=item.latest.number if item.latest else None,
        state_title=texts.sign_offs[state] if state else texts.awaiting,
        decisions=rows,
        stale_ids={s.id for s in stale},
        consent=consent,
        blockers=blockers,
    )


def clearance(report: Report, consultant: User | None = None) -> list[ClearanceRow]:
    """Every live section of the report, then its photos and narratives, with what blocks each.

    A fixed number of queries however large the report: each kind of row is read for all
    sections (or items) at once.
    """
    texts = _ClearanceTexts()
    today = utcnow().date()
    sections = _clearance_sections(report, consultant)
    ids = [section.id for section in sections]
    section_decisions = _latest_decisions(
        ids,
        model=SectionDecision,
        owner=SectionDecision.section_id,
        version=SectionVersion,
        titles=texts.section_decisions,
    )
    working = _working_consultant_names(ids)
    items = _clearance_items(ids)
    sign_offs = _latest_decisions(
        [item.id for section_items in items.values() for item in section_items],
        model=SignOff,
        owner=SignOff.item_id,
        version=MediaVersion,
        titles=texts.sign_offs,
    )
    rows: list[ClearanceRow] = []
    for section in sections:
        people = working.get(section.id, [])
        rows.append(
            _section_row(texts, section, consultant, section_decisions.get(section.id, {}), people)
        )
        rows.extend(
            item_clearance(
                texts, item, section, consultant, sign_offs.get(item.id, {}), people, today
            )
            for item in items.get(section.id, [])
        )
    return rows
