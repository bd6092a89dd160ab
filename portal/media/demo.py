"""Demo photos and narratives for `flask seed-demo`.

The photos are illustrations drawn here with Pillow (no real person, no outside file), and
their captions say so. The narratives are written for the demo and tell no real person's story.
Consent records, sign-offs and a changed caption show every state the clearance report knows.
"""

from __future__ import annotations

import io
import uuid
from datetime import timedelta

from PIL import Image, ImageDraw

from portal.accounts.models import User
from portal.media import services, storage
from portal.media.imaging import process_image
from portal.media.models import PHOTO_FIELDS, Answer, ItemKind, MediaItem, SignOffDecision
from portal.models import utcnow
from portal.reports.models import Section

WIDTH, HEIGHT = 1200, 800


def _gradient(top: tuple, bottom: tuple) -> Image.Image:
    image = Image.new("RGB", (WIDTH, HEIGHT))
    draw = ImageDraw.Draw(image)
    for y in range(HEIGHT):
        t = y / (HEIGHT - 1)
        colour = tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
        draw.line([(0, y), (WIDTH, y)], fill=colour)
    return image


def harbour_at_dawn() -> bytes:
    """A fishing harbour at dawn: sky, sea, a pier and moored boats."""
    image = _gradient((246, 189, 140), (120, 160, 196))
    draw = ImageDraw.Draw(image)
    draw.ellipse([820, 300, 940, 420], fill=(252, 226, 160))
    draw.rectangle([0, 470, WIDTH, HEIGHT], fill=(52, 92, 128))
    for y in range(490, HEIGHT, 24):
        draw.line([(0, y), (WIDTH, y + 6)], fill=(70, 112, 150), width=2)
    draw.rectangle([0, 440, 420, 480], fill=(92, 70, 52))
    for x in range(20, 420, 60):
        draw.rectangle([x, 480, x + 12, 620], fill=(72, 54, 40))
    for x, colour in ((520, (180, 60, 50)), (700, (40, 90, 70)), (900, (220, 200, 160))):
        draw.polygon([(x, 520), (x + 160, 520), (x + 130, 570), (x + 30, 570)], fill=colour)
        draw.line([(x + 80, 520), (x + 80, 400)], fill=(40, 40, 40), width=5)
    return _jpeg(image)


def meeting_table() -> bytes:
    """A meeting table from above: papers, notebooks and cups around it."""
    image = Image.new("RGB", (WIDTH, HEIGHT), (196, 170, 132))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle([120, 120, 1080, 680], radius=60, fill=(150, 104, 66))
    papers = ((220, 200), (520, 180), (820, 210), (260, 470), (560, 500), (850, 460))
    for index, (x, y) in enumerate(papers):
        draw.rectangle([x, y, x + 150, y + 200], fill=(246, 244, 236))
        for line in range(8):
            top = y + 25 + line * 20
            draw.line([(x + 15, top), (x + 135, top)], fill=(160, 160, 160))
        cup = (x + 175, y + 40 + (index % 2) * 90)
        draw.ellipse([cup[0], cup[1], cup[0] + 54, cup[1] + 54], fill=(236, 236, 232))
        draw.ellipse([cup[0] + 10, cup[1] + 10, cup[0] + 44, cup[1] + 44], fill=(92, 58, 36))
    return _jpeg(image)


def window_silhouette() -> bytes:
    """A person seen from behind, looking out of a window at a city."""
    image = _gradient((170, 200, 226), (228, 236, 242))
    draw = ImageDraw.Draw(image)
    for x in range(0, WIDTH, 90):
        top = 300 + (x * 37) % 200
        draw.rectangle([x, top, x + 70, 640], fill=(130, 150, 170))
    draw.rectangle([0, 640, WIDTH, HEIGHT], fill=(70, 62, 58))
    draw.rectangle([0, 0, 80, HEIGHT], fill=(70, 62, 58))
    draw.rectangle([WIDTH - 80, 0, WIDTH, HEIGHT], fill=(70, 62, 58))
    draw.ellipse([520, 300, 680, 470], fill=(40, 34, 32))
    draw.polygon([(440, 800), (470, 520), (600, 450), (730, 520), (760, 800)], fill=(48, 40, 38))
    return _jpeg(image)


def _jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def _photo(editor: User, section: Section, drawing: bytes, identifiable: bool, **fields):
    image = process_image(drawing, max_bytes=10 * 1024 * 1024, max_pixels=40_000_000)
    stored = {
        "image_name": storage.store(image),
        "image_sha256": image.sha256,
        "image_format": image.format,
        "width": image.width,
        "height": image.height,
    }
    return services.add_item(
        editor, section, ItemKind.PHOTO, fields | stored, identifiable=identifiable
    )


def _decide(consultant: User, item: MediaItem, decision: SignOffDecision, reasons=None, unmet=()):
    answers = {
        criterion.id: services.AnswerGiven(
            Answer.DOES_NOT_MEET if criterion.position in unmet else Answer.MEETS,
            reasons if criterion.position in unmet else None,
        )
        for criterion in services.criteria(item.kind)
    }
    return services.submit_sign_off(
        consultant,
        item,
        version_number=item.latest.number,
        decision=decision,
        reasons=reasons,
        answers=answers,
        submission_key=uuid.uuid4().hex,
    )


ILLUSTRATION_CREDIT = "Illustration drawn for the portal's demonstration data"
STORY_EN = """I was recruited with a promise of work on a fishing boat and a wage I could send home.

The debt came first: for the journey, for the papers, for the food. It never got smaller.

Today I train port inspectors to **ask the right questions**, in the languages crews speak.
What I want readers to know is simple: *people at sea can speak for themselves* when someone
is ready to listen.
"""
STORY_FR = """On m'a recruté avec la promesse d'un travail sur un bateau de pêche et d'un salaire à
envoyer à ma famille.

La dette est venue d'abord : le voyage, les papiers, la nourriture. Elle ne diminuait jamais.

Aujourd'hui, je forme des inspecteurs portuaires à **poser les bonnes questions**, dans les
langues des équipages. Ce que je veux que l'on retienne est simple : *les gens de mer peuvent
parler pour eux-mêmes* quand quelqu'un est prêt à les écouter.
"""
LEADER_EN = """When I joined the advisory council, I expected to be asked about the past.

Instead I was asked about **policy**: which services work, which forms confuse people, which
questions reopen wounds. Survivor leadership means being paid and trusted as an expert.
"""
LEADER_FR = """Quand j'ai rejoint le conseil consultatif, je pensais qu'on m'interrogerait sur
le passé.

On m'a plutôt demandé mon avis sur les **politiques** : quels services fonctionnent, quels
formulaires embrouillent les gens, quelles questions rouvrent les blessures. Le leadership des
personnes survivantes, c'est être rémunéré et reconnu comme expert.
"""


def seed_media(editor: User, amara: User, riviere: User, intro: Section, seafood: Section) -> None:
    """Photos and narratives with consent and sign-offs in every state the portal shows."""
    today = utcnow().date()
    harbour = _photo(
        editor,
        seafood,
        harbour_at_dawn(),
        False,
        caption_en="Illustration: a fishing harbour at dawn, where port inspections take place.",
        caption_fr="Illustration : un port de pêche à l'aube, là où ont lieu les inspections.",
        alt_en="Drawing of a harbour at sunrise with a wooden pier and three small fishing boats.",
        alt_fr="Dessin d'un port au lever du soleil, avec une jetée en bois et trois petits "
        "bateaux de pêche.",
        credit=ILLUSTRATION_CREDIT,
        provenance="Drawn for the demo; no person is shown.",
        content_note_en="Shows the kind of place where people were held at sea. No people are "
        "shown.",
        content_note_fr="Montre le type de lieu où des personnes ont été retenues en mer. Aucune "
        "personne n'est visible.",
    )
    table = _photo(
        editor,
        intro,
        meeting_table(),
        False,
        caption_en="Illustration: the survivor advisory council's working session.",
        caption_fr="Illustration : la séance de travail du conseil consultatif des survivants.",
        alt_en="Drawing of a meeting table seen from above, with papers and cups of coffee.",
        alt_fr="Dessin d'une table de réunion vue d'en haut, avec des papiers et des tasses de "
        "café.",
        credit=ILLUSTRATION_CREDIT,
        provenance="Drawn for the demo; no person is shown.",
    )
    window = _photo(
        editor,
        intro,
        window_silhouette(),
        True,
        caption_en="A council member looks out over the city before the session.",
        caption_fr="Un membre du conseil regarde la ville avant la séance.",
        alt_en="Drawing of a person seen from behind, facing a large window over city buildings.",
        alt_fr="Dessin d'une personne vue de dos, face à une grande fenêtre donnant sur la ville.",
        credit=ILLUSTRATION_CREDIT,
        provenance="Drawn for the demo from a staged scene.",
        staged=True,
    )
    services.record_consent(
        editor,
        window,
        given_by="Council member (reference CM-04)",
        given_on=today - timedelta(days=40),
        scope="The 2027 report, in print and online, next to the introduction.",
        uses_allowed=1,
        expires_on=None,
    )
    leader = services.add_item(
        editor,
        intro,
        ItemKind.NARRATIVE,
        {
            "title_en": "Asked as an expert",
            "title_fr": "Consultée comme experte",
            "body_en": LEADER_EN,
            "body_fr": LEADER_FR,
        },
    )
    # Given almost three years ago: it expires in three weeks.
    soon = today + timedelta(days=21)
    services.record_consent(
        editor,
        leader,
        given_by="Survivor leader (reference SL-11)",
        given_on=soon.replace(year=soon.year - 3, day=min(soon.day, 28)),
        scope="The 2027 report and its launch event; quotes as approved on the final text.",
        uses_allowed=None,
        expires_on=None,
    )
    sea = services.add_item(
        editor,
        seafood,
        ItemKind.NARRATIVE,
        {
            "title_en": "What the sea taught me",
            "title_fr": "Ce que la mer m'a appris",
            "body_en": STORY_EN,
            "body_fr": STORY_FR,
            "content_note_en": "Mentions debt bondage, without graphic detail.",
            "content_note_fr": "Évoque la servitude pour dettes, sans détails crus.",
        },
    )
    withdrawn = services.record_consent(
        editor,
        sea,
        given_by="Former fisher (reference FF-02)",
        given_on=today - timedelta(days=200),
        scope="The 2027 report, online only, once.",
        uses_allowed=1,
        expires_on=None,
    )
    services.withdraw_consent(editor, withdrawn, today=today - timedelta(days=3))

    # Decisions in several states.
    _decide(amara, harbour, SignOffDecision.APPROVE)
    _decide(
        riviere,
        harbour,
        SignOffDecision.APPROVE_WITH_CHANGES,
        reasons="La légende devrait dire que l'image est une illustration dès le premier mot.",
        unmet=(7,),
    )
    _decide(
        amara,
        sea,
        SignOffDecision.NOT_APPROVED,
        reasons="The survivor withdrew consent; the story cannot be used.",
        unmet=(1,),
    )
    _decide(amara, table, SignOffDecision.APPROVE)
    # The caption changed after Amara approved: her decision is stale and she is asked again.
    services.publish_item_version(
        editor,
        table,
        expected_revision=table.revision,
        fields={name: getattr(table.latest, name) for name in PHOTO_FIELDS}
        | {"caption_en": "Illustration: the survivor advisory council at work."},
        identifiable=False,
        change_summary="Shorter caption.",
    )
