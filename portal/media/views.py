"""Photos and narratives: attaching, versions, files, consent, sign-offs and regions."""

from __future__ import annotations

import uuid
from decimal import Decimal

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy.orm import joinedload

from portal.accounts.models import Role
from portal.documents.rendering import render_markdown
from portal.errors import DomainError
from portal.extensions import db
from portal.media import bp, services, storage
from portal.media.forms import ConsentForm, NarrativeForm, PhotoForm, RegionForm, sign_off_form
from portal.media.imaging import ImageRejected, process_image
from portal.media.models import (
    NARRATIVE_FIELDS,
    PHOTO_FIELDS,
    Answer,
    ConsentRecord,
    ItemKind,
    MediaItem,
    PhotoRegion,
    SignOff,
    SignOffDecision,
)
from portal.reports.models import EDITORIAL_ROLES, Section
from portal.reports.services import EditConflict
from portal.reports.views import get_section
from portal.security import roles

MAX_PHOTO_BYTES = 15 * 1024 * 1024
MAX_PHOTO_PIXELS = 40_000_000
IMAGE_MESSAGES = {
    "empty": _l("That file is empty. Please choose the photo again."),
    "too_large": _l("That file is larger than %(mb)d MB. Please choose a smaller photo."),
    "wrong_type": _l(
        "That file is not a JPEG, PNG or WebP photo. Other kinds of file (such as SVG, PDF or "
        "web pages) cannot be used."
    ),
    "too_many_pixels": _l(
        "That photo has more than %(megapixels)d million pixels. Please choose a smaller one."
    ),
    "damaged": _l("That file seems to be damaged and could not be read as a photo."),
    "animated": _l("Animated images cannot be used. Please choose a still photo."),
}


def get_item(item_id: int) -> MediaItem:
    """An item the current person may see: editors any, consultants on sections they read."""
    # With its section, which the permission check reads next (from the session, not again).
    item = db.session.get(MediaItem, item_id, options=[joinedload(MediaItem.section)])
    if item is None:
        abort(404)
    get_section(item.section_id)  # 404 for a consultant the section is not offered to
    if item.is_archived and current_user.role not in EDITORIAL_ROLES:
        abort(404)
    return item


def photo_limits() -> dict:
    max_bytes = min(MAX_PHOTO_BYTES, current_app.config["MAX_CONTENT_LENGTH"] - 512 * 1024)
    return {"max_bytes": max_bytes, "max_pixels": MAX_PHOTO_PIXELS}


def _limits_for_template(form: PhotoForm | None = None, item: MediaItem | None = None) -> dict:
    """The limits, said before the upload (on the file field's hint) and used by the page."""
    limits = photo_limits()
    shown = {
        "max_bytes": limits["max_bytes"],
        "max_mb": limits["max_bytes"] // (1024 * 1024),
        "megapixels": limits["max_pixels"] // 1_000_000,
    }
    if form is not None:
        hint = _(
            "JPEG, PNG or WebP, up to %(mb)d MB and %(megapixels)d million pixels. Location data "
            "and other hidden details are removed from the file.",
            mb=shown["max_mb"],
            megapixels=shown["megapixels"],
        )
        if item is not None:
            hint += " " + _("Leave empty to keep the current photo.")
        form.image.description = hint
    return shown


def _rejection_message(reason: str) -> str:
    shown = _limits_for_template()
    return str(IMAGE_MESSAGES[reason]) % {"mb": shown["max_mb"], "megapixels": shown["megapixels"]}


def _read_upload(form: PhotoForm, *, required: bool):
    """The processed photo, None when no file was chosen, or False when it was refused."""
    upload = form.image.data
    if upload is None or not getattr(upload, "filename", ""):
        if required:
            form.image.errors = [*form.image.errors, _("Please choose a photo to upload.")]
            return False
        return None
    limits = photo_limits()
    data = upload.stream.read(limits["max_bytes"] + 1)
    try:
        return process_image(data, **limits)
    except ImageRejected as rejected:
        current_app.logger.info("photo refused: %s (%s)", rejected.reason, rejected.detail)
        form.image.errors = [*form.image.errors, _rejection_message(rejected.reason)]
        return False


def _stored_fields(image) -> dict:
    """Store a processed photo's files; the version columns that point at them."""
    return {
        "image_name": storage.store(image),
        "image_sha256": image.sha256,
        "image_format": image.format,
        "width": image.width,
        "height": image.height,
    }


def _form_fields(form, names) -> dict:
    return {name: form[name].data for name in names}


# Attaching ----------------------------------------------------------------------------------


@bp.route("/sections/<int:section_id>/photos/new", methods=["GET", "POST"])
@roles(*EDITORIAL_ROLES)
def new_photo(section_id: int):
    section = get_section(section_id)
    form = PhotoForm()
    if request.method == "POST":
        valid = form.validate()
        image = _read_upload(form, required=True)
        if valid and image:
            fields = _form_fields(form, PHOTO_FIELDS) | _stored_fields(image)
            try:
                item = services.add_item(
                    current_user,
                    section,
                    ItemKind.PHOTO,
                    fields,
                    identifiable=form.identifiable.data,
                )
            except DomainError as error:
                db.session.rollback()
                storage.discard(fields["image_name"], image.format)
                flash(error.message, "error")
            else:
                db.session.commit()
                flash(_("The photo is added as version 1."), "success")
                return redirect(url_for("media.item", item_id=item.id))
    return render_template(
        "media/photo_form.html",
        form=form,
        section=section,
        item=None,
        **_limits_for_template(form),
    ), (200 if request.method == "GET" else 400)


@bp.route("/sections/<int:section_id>/narratives/new", methods=["GET", "POST"])
@roles(*EDITORIAL_ROLES)
def new_narrative(section_id: int):
    section = get_section(section_id)
    form = NarrativeForm()
    if form.validate_on_submit():
        try:
            item = services.add_item(
                current_user, section, ItemKind.NARRATIVE, _form_fields(form, NARRATIVE_FIELDS)
            )
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            db.session.commit()
            flash(_("The narrative is added as version 1."), "success")
            return redirect(url_for("media.item", item_id=item.id))
    return render_template("media/narrative_form.html", form=form, section=section, item=None), (
        200 if request.method == "GET" else 400
    )


# Reading --------------------------------------------------------------------------------------


def _narrative_html(text: str | None, prefix: str) -> Markup:
    """Markdown to HTML that nh3 has sanitised with an allow-list (security.md I2)."""
    return Markup(render_markdown(text or "", id_prefix=prefix).html)  # noqa: S704  (sanitised)


@bp.get("/items/<int:item_id>")
def item(item_id: int):
    item = get_item(item_id)
    number = request.args.get("version", type=int)
    version = services.version_by_number(item, number) if number else item.latest
    if version is None:
        abort(404)
    return _render_item(item, version)


def _render_item(item: MediaItem, version, region_form: RegionForm | None = None, status=200):
    editorial = current_user.role in EDITORIAL_ROLES
    # Read once: editors see every record with its checklist answers.
    records = services.latest_records(item, with_answers=editorial)
    decisions = services.item_decisions(item, records)
    mine = records.get(current_user.id)
    show_note = (
        not item.is_photo
        and version.has_content_note
        and request.args.get("continue") != "1"
        and request.method == "GET"
    )
    can_review = services.can_review(current_user, item)
    if region_form is None and item.is_photo:
        region_form = RegionForm()
        region_form.submission_key.data = uuid.uuid4().hex
    return render_template(
        "media/item.html",
        item=item,
        version=version,
        latest=item.latest,
        section=item.section,
        editorial=editorial,
        show_note=show_note,
        decisions=decisions,
        all_records=records if editorial else {},
        mine=mine,
        can_review=can_review,
        queue_again=mine is not None and mine.version_id != item.latest.id,
        consent=services.item_consent(item),
        regions=services.visible_regions(current_user, item) if item.is_photo else [],
        region_form=region_form,
        can_mark=item.is_photo
        and not item.is_archived
        and services.can_work_on(current_user, item.section),
        narrative_en=_narrative_html(version.body_en, "en-") if not item.is_photo else None,
        narrative_fr=_narrative_html(version.body_fr, "fr-") if not item.is_photo else None,
        SignOffDecision=SignOffDecision,
    ), status


@bp.get("/items/<int:item_id>/versions/<int:number>/<size>")
def image(item_id: int, number: int, size: str):
    """A photo file, only through this permission-checked view (security.md F4)."""
    item = get_item(item_id)
    version = services.version_by_number(item, number)
    if size not in storage.SIZES or version is None or not version.image_name:
        abort(404)
    path = storage.path_for(version.image_name, version.image_format, size)
    if not path.is_file():
        current_app.logger.error("photo file missing for item %s v%s", item.id, number)
        abort(404)
    name = f"photo-{item.id}-v{number}-{size}{path.suffix}"
    response = Response(path.read_bytes(), mimetype=storage.mime_for(version.image_format, size))
    response.headers["Content-Disposition"] = f'inline; filename="{name}"'
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# Editing --------------------------------------------------------------------------------------


@bp.route("/items/<int:item_id>/edit", methods=["GET", "POST"])
@roles(*EDITORIAL_ROLES)
def edit_item(item_id: int):
    item = get_item(item_id)
    if item.is_archived:
        abort(404)
    latest = item.latest
    form_class = PhotoForm if item.is_photo else NarrativeForm
    form = form_class(obj=latest if request.method == "GET" else None)
    if request.method == "GET":
        form.revision.data = item.revision
        form.change_summary.data = ""
        if item.is_photo:
            form.identifiable.data = item.identifiable_people
    else:
        valid = form.validate()
        image = _read_upload(form, required=False) if item.is_photo else None
        if image and image.sha256 == latest.image_sha256:
            image = None  # the same picture again: the earlier version's files serve
        if valid and image is not False:
            names = PHOTO_FIELDS if item.is_photo else NARRATIVE_FIELDS
            fields = _form_fields(form, names)
            if image:
                fields |= _stored_fields(image)
            try:
                version = services.publish_item_version(
                    current_user,
                    item,
                    expected_revision=_int_or_none(form.revision.data),
                    fields=fields,
                    identifiable=bool(item.is_photo and form.identifiable.data),
                    change_summary=form.change_summary.data,
                )
            except (EditConflict, DomainError) as error:
                db.session.rollback()
                if image:
                    storage.discard(fields["image_name"], image.format)
                if isinstance(error, EditConflict):
                    form.revision.data = item.revision
                    return _item_form(form, item, conflict=True), 409
                flash(error.message, "error")
            else:
                db.session.commit()
                if version is None:
                    flash(_("Saved. The content did not change, so no new version was made."))
                else:
                    flash(
                        _(
                            "Version %(number)d is saved. Consultants who had decided are asked "
                            "to look again.",
                            number=version.number,
                        ),
                        "success",
                    )
                return redirect(url_for("media.item", item_id=item.id))
    return _item_form(form, item), (200 if request.method == "GET" else 400)


def _item_form(form, item: MediaItem, conflict: bool = False):
    template = "media/photo_form.html" if item.is_photo else "media/narrative_form.html"
    extra = _limits_for_template(form, item) if item.is_photo else {}
    return render_template(
        template, form=form, section=item.section, item=item, conflict=conflict, **extra
    )


def _int_or_none(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@bp.post("/items/<int:item_id>/remove")
@roles(*EDITORIAL_ROLES)
def remove_item(item_id: int):
    item = get_item(item_id)
    services.archive_item(current_user, item)
    db.session.commit()
    flash(_("The item is removed from the section. Its history is kept."), "success")
    return redirect(url_for("reports.section", section_id=item.section_id))


# Consent --------------------------------------------------------------------------------------


def _consent_choices(item: MediaItem) -> list[tuple[str, str]]:
    renewed = {c.replaces_id for c in item.consents}
    choices = [("", _("No, this is a new consent"))]
    for consent in item.consents:
        if consent.id not in renewed:
            choices.append(
                (
                    str(consent.id),
                    _(
                        "%(name)s, given on %(date)s",
                        name=consent.given_by,
                        date=format_date(consent.given_on, "medium"),
                    ),
                )
            )
    return choices


@bp.route("/items/<int:item_id>/consent", methods=["GET", "POST"])
@roles(*EDITORIAL_ROLES)
def record_consent(item_id: int):
    item = get_item(item_id)
    if item.is_archived:
        abort(404)
    form = ConsentForm()
    form.replaces.choices = _consent_choices(item)
    if form.validate_on_submit():
        renewable = {value for value, _label in form.replaces.choices if value}
        replaces = None
        if form.replaces.data in renewable:
            replaces = db.session.get(ConsentRecord, int(form.replaces.data))
        try:
            services.record_consent(
                current_user,
                item,
                given_by=form.given_by.data,
                given_on=form.given_on.data,
                scope=form.scope.data,
                uses_allowed=form.uses_allowed.data,
                expires_on=form.expires_on.data,
                replaces=replaces,
            )
        except services.ConsentError as error:
            db.session.rollback()
            field = form[error.field]
            field.errors = [*field.errors, error.message]
        else:
            db.session.commit()
            flash(_("The consent is recorded."), "success")
            return redirect(url_for("media.item", item_id=item.id) + "#consent")
    return render_template("media/consent_form.html", form=form, item=item), (
        200 if request.method == "GET" else 400
    )


@bp.post("/consent/<int:consent_id>/withdraw")
@roles(*EDITORIAL_ROLES)
def withdraw_consent(consent_id: int):
    consent = db.session.get(ConsentRecord, consent_id)
    if consent is None:
        abort(404)
    item = get_item(consent.item_id)
    if services.withdraw_consent(current_user, consent):
        db.session.commit()
        flash(
            _("The withdrawal is recorded. The item cannot be approved on this consent."),
            "success",
        )
    else:
        flash(_("This consent was already withdrawn."))
    return redirect(url_for("media.item", item_id=item.id) + "#consent")


# Sign-offs ------------------------------------------------------------------------------------


@bp.route("/items/<int:item_id>/review", methods=["GET", "POST"])
@roles(Role.CONSULTANT)
def review(item_id: int):
    """The checklist and the decision, bound to the exact version on screen."""
    item = get_item(item_id)
    if not services.can_review(current_user, item):
        abort(404)
    version = item.latest
    criteria = services.criteria(item.kind)
    form = sign_off_form(criteria)
    if request.method == "GET":
        form.version_number.data = version.number
        form.submission_key.data = uuid.uuid4().hex
    elif form.validate():
        answers = {
            c.id: services.AnswerGiven(
                Answer(form[f"answer_{c.id}"].data), form[f"note_{c.id}"].data
            )
            for c in criteria
        }
        try:
            recorded = services.submit_sign_off(
                current_user,
                item,
                version_number=_int_or_none(form.version_number.data) or 0,
                decision=SignOffDecision(form.decision.data),
                reasons=form.reasons.data,
                answers=answers,
                submission_key=(form.submission_key.data or uuid.uuid4().hex)[:64],
            )
        except DomainError as error:
            db.session.rollback()
            form.decision.errors = [*form.decision.errors, error.message]
        else:
            db.session.commit()
            flash(
                _(
                    "Your decision on version %(number)d is recorded. Thank you.",
                    number=recorded.version.number,
                ),
                "success",
            )
            return redirect(url_for("media.item", item_id=item.id))
    return render_template(
        "media/review.html",
        form=form,
        item=item,
        version=version,
        criteria=criteria,
        consent=services.item_consent(item),
        previous=services.latest_records(item).get(current_user.id),
        narrative_en=_narrative_html(version.body_en, "en-") if not item.is_photo else None,
        narrative_fr=_narrative_html(version.body_fr, "fr-") if not item.is_photo else None,
    ), (200 if request.method == "GET" else 400)


@bp.post("/sign-offs/<int:sign_off_id>/withdraw")
@roles(Role.CONSULTANT)
def withdraw_sign_off(sign_off_id: int):
    sign_off = db.session.get(SignOff, sign_off_id)
    if sign_off is None or sign_off.consultant_id != current_user.id:
        abort(404)
    item = get_item(sign_off.item_id)
    try:
        services.withdraw_sign_off(current_user, sign_off)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(_("Your decision is withdrawn. The item is back in your list to review."), "success")
    return redirect(url_for("media.item", item_id=item.id))


# Regions --------------------------------------------------------------------------------------


@bp.post("/items/<int:item_id>/regions")
def add_region(item_id: int):
    item = get_item(item_id)
    if not item.is_photo or not services.can_work_on(current_user, item.section):
        abort(404)
    form = RegionForm()
    if form.validate():
        hundred = Decimal(100)
        try:
            services.add_region(
                current_user,
                item,
                x=float(form.x.data / hundred),
                y=float(form.y.data / hundred),
                width=float(form.width.data / hundred),
                height=float(form.height.data / hundred),
                note=form.note.data,
                submission_key=(form.submission_key.data or uuid.uuid4().hex)[:64],
            )
        except DomainError as error:
            db.session.rollback()
            form.note.errors = [*form.note.errors, error.message]
        else:
            db.session.commit()
            flash(_("Your note on the photo is saved."), "success")
            return redirect(url_for("media.item", item_id=item.id) + "#regions")
    return _render_item(item, item.latest, region_form=form, status=400)


@bp.post("/regions/<int:region_id>/delete")
def delete_region(region_id: int):
    region = db.session.get(PhotoRegion, region_id)
    if region is None or region.author_id != current_user.id:
        abort(404)
    item = get_item(region.item_id)
    services.delete_region(current_user, region)
    db.session.commit()
    flash(_("Your note on the photo is removed."), "success")
    return redirect(url_for("media.item", item_id=item.id) + "#regions")


def section_items(section: Section) -> list[MediaItem]:
    """For the section and reading pages: the section's live photos and narratives."""
    return services.items_of(section)
