"""Bulk data for `flask seed-bulk`: a large, realistic and reproducible data set for measuring.

At scale 1 it makes about 20 consultants, 5 editors, 3 reports of 40 sections with three
bilingual versions each, 5,000 annotations with replies, 300 photos and 100 narratives with
consent records, and decisions and sign-offs in every state; scale N makes N times as much. At
any scale one section holds a 10,000-word text with 1,000 annotations.

Everything but the annotation threads goes through the domain services, so the rules, the
notifications and the audit trail are what real use would leave. Annotations, their replies and
their actions are inserted in bulk (the services would take minutes): they are valid (every
anchor quotes the text at its offsets in the version it is anchored to) but have no audit
events. Texts come from word lists and a fixed random seed, so two runs make the same data
(ids, times and image file names aside).
"""

from __future__ import annotations

import io
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta

import click
from flask import current_app
from flask.cli import with_appcontext
from PIL import Image
from sqlalchemy import func, insert, select

from portal.accounts import services as account_services
from portal.accounts.models import Role, User
from portal.assignments import services as assignment_services
from portal.assignments.models import Assignment
from portal.availability import services as availability_services
from portal.cli import DEMO_PASSWORD
from portal.documents import anchoring
from portal.documents.rendering import RenderedDocument, render_markdown
from portal.errors import DomainError
from portal.extensions import db
from portal.media import services as media_services
from portal.media import storage
from portal.media.imaging import process_image
from portal.media.models import (
    NARRATIVE_FIELDS,
    PHOTO_FIELDS,
    Answer,
    ConsentRecord,
    ItemKind,
    MediaItem,
    MediaVersion,
    SignOff,
    SignOffDecision,
)
from portal.models import utcnow
from portal.notifications import services as notification_services
from portal.notifications.models import DeliveryMode, Notification, NotificationKind
from portal.reports import services as report_services
from portal.reports.models import Report, Section, SectionState, SectionVersion
from portal.review import services as review_services
from portal.review.models import (
    AnchorMethod,
    Annotation,
    AnnotationAction,
    AnnotationKind,
    AnnotationReply,
    AnnotationState,
    Decision,
    SectionDecision,
)
from portal.timesheets import services as time_services
from portal.timesheets.models import TimeActivity, TimeRecord

SEED = 2027
EMAIL_DOMAIN = "example.org"
EMAIL_PATTERN = f"bulk-%@{EMAIL_DOMAIN}"


@dataclass(frozen=True)
class BulkPlan:
    """How much to make. `at_scale(1)` is the documented scale 1."""

    consultants: int
    editors: int
    reports: int
    sections: int  # in all, spread evenly over the reports
    annotations: int  # in all, the big section's included
    photos: int
    narratives: int
    big_section_words: int = 10_000
    big_section_annotations: int = 1_000

    @classmethod
    def at_scale(cls, scale: float) -> BulkPlan:
        def times(n: int) -> int:
            return max(1, round(n * scale))

        return cls(
            consultants=max(4, times(20)),
            editors=times(5),
            reports=times(3),
            sections=max(2, times(120)),
            # The big section's 1,000, and at least 4,000 x scale on the other sections.
            annotations=1_000 + max(times(5_000) - 1_000, times(4_000)),
            photos=times(300),
            narratives=times(100),
        )


# Word lists: (English, French) pairs that translate each other -------------------------------

SUBJECTS = [
    ("Survivor-led organisations", "Les organisations dirigées par des personnes survivantes"),
    ("Labour inspectors", "Les inspecteurs du travail"),
    ("Frontline caseworkers", "Les intervenants de première ligne"),
    ("Recruitment agencies", "Les agences de recrutement"),
    ("Prosecutors", "Les procureurs"),
    ("Local shelters", "Les refuges locaux"),
    ("Advisory council members", "Les membres du conseil consultatif"),
    ("Health workers", "Les personnels de santé"),
    ("Many governments", "De nombreux gouvernements"),
    ("Community leaders", "Les responsables communautaires"),
    ("Employers in the fishing sector", "Les employeurs du secteur de la pêche"),
    ("Border officials", "Les agents des frontières"),
    ("Legal aid clinics", "Les cliniques d'aide juridique"),
    ("Trade unions", "Les syndicats"),
    ("Survivors we spoke with", "Les personnes survivantes que nous avons rencontrées"),
]
VERBS = [
    ("now review", "examinent désormais"),
    ("often overlook", "négligent souvent"),
    ("have begun to fund", "ont commencé à financer"),
    ("rarely explain", "expliquent rarement"),
    ("should publish", "devraient publier"),
    ("asked for", "ont demandé"),
    ("described", "ont décrit"),
    ("continue to improve", "continuent d'améliorer"),
    ("must protect", "doivent protéger"),
    ("struggle to provide", "peinent à fournir"),
    ("documented", "ont documenté"),
    ("called for changes to", "ont demandé que l'on change"),
]
OBJECTS = [
    ("the conditions of recruitment", "les conditions de recrutement"),
    ("debts imposed by intermediaries", "les dettes imposées par les intermédiaires"),
    ("identity documents kept by employers", "les papiers d'identité conservés par les employeurs"),
    ("plain-language consent forms", "les formulaires de consentement en langage clair"),
    (
        "services for people leaving exploitation",
        "les services pour les personnes qui sortent de l'exploitation",
    ),
    ("long-term housing", "le logement à long terme"),
    (
        "interpreters trained in trauma-informed practice",
        "les interprètes formés aux pratiques tenant compte des traumatismes",
    ),
    ("compensation for unpaid wages", "l'indemnisation des salaires impayés"),
    (
        "private interviews away from supervisors",
        "les entretiens privés à l'écart des superviseurs",
    ),
    ("data on identified victims", "les données sur les victimes identifiées"),
    ("the right to change employers", "le droit de changer d'employeur"),
    ("access to medical care", "l'accès aux soins médicaux"),
    ("fees charged to workers", "les frais facturés aux travailleurs"),
    ("protection orders", "les ordonnances de protection"),
]
QUALIFIERS = [
    ("in rural areas", "dans les zones rurales"),
    ("at border crossings", "aux postes frontières"),
    ("on fishing vessels", "sur les navires de pêche"),
    ("during the reporting period", "pendant la période couverte par le rapport"),
    ("in domestic work", "dans le travail domestique"),
    ("in the languages people speak", "dans les langues que les gens parlent"),
    ("without delay", "sans délai"),
    ("across the region", "dans toute la région"),
    ("in agriculture", "dans l'agriculture"),
    ("for children and young people", "pour les enfants et les jeunes"),
    ("", ""),
    ("", ""),
]
OPENERS = [
    ("According to survivors, ", "Selon les personnes survivantes, "),
    ("This year, ", "Cette année, "),
    ("In several countries, ", "Dans plusieurs pays, "),
    ("For the first time, ", "Pour la première fois, "),
    ("As in previous years, ", "Comme les années précédentes, "),
    ("", ""),
    ("", ""),
    ("", ""),
]
TOPICS = [
    ("Prevention", "Prévention"),
    ("Protection", "Protection"),
    ("Prosecution", "Poursuites"),
    ("Recruitment and debt", "Recrutement et endettement"),
    ("Forced labour at sea", "Le travail forcé en mer"),
    ("Domestic work", "Le travail domestique"),
    ("What survivors told us", "Ce que les personnes survivantes nous ont dit"),
    ("Recommendations", "Recommandations"),
    ("Data and evidence", "Données et éléments probants"),
    ("Services and shelters", "Services et refuges"),
]
PLACES = [
    ("the coastal provinces", "les provinces côtières"),
    ("the northern highlands", "les hauts plateaux du Nord"),
    ("the capital region", "la région de la capitale"),
    ("the river delta", "le delta du fleuve"),
    ("the border districts", "les districts frontaliers"),
    ("the island states", "les États insulaires"),
    ("the mining towns", "les villes minières"),
    ("the southern plains", "les plaines du Sud"),
    ("the eastern ports", "les ports de l'Est"),
    ("the western valleys", "les vallées de l'Ouest"),
    ("the central farmlands", "les terres agricoles du centre"),
    ("the free-trade zones", "les zones franches"),
]
QUOTES = [
    ("Nothing about us without us.", "Rien sur nous sans nous."),
    (
        "I wanted someone to ask me what I needed.",
        "Je voulais qu'on me demande ce dont j'avais besoin.",
    ),
    ("The debt never got smaller.", "La dette ne diminuait jamais."),
    (
        "Being paid as an expert changed how people listened.",
        "Être rémunérée comme experte a changé la façon dont on m'écoutait.",
    ),
]
STORY = [
    (
        "I was promised work and a wage I could send home.",
        "On m'avait promis un travail et un salaire à envoyer à ma famille.",
    ),
    (
        "The recruiter kept my passport for safekeeping, he said.",
        "Le recruteur gardait mon passeport, pour le mettre en sécurité, disait-il.",
    ),
    (
        "Every month the debt grew, whatever I earned.",
        "Chaque mois, la dette augmentait, quoi que je gagne.",
    ),
    (
        "A nurse was the first person who asked me if I was safe.",
        "Une infirmière a été la première personne à me demander si j'étais en sécurité.",
    ),
    (
        "Today I train inspectors to ask the right questions.",
        "Aujourd'hui, je forme des inspecteurs à poser les bonnes questions.",
    ),
    (
        "I want readers to know that people can speak for themselves.",
        "Je veux que les lecteurs sachent que chacun peut parler pour soi.",
    ),
    (
        "It took two years before I trusted anyone again.",
        "Il m'a fallu deux ans pour refaire confiance à quelqu'un.",
    ),
    (
        "My children do not know this part of my life.",
        "Mes enfants ne connaissent pas cette partie de ma vie.",
    ),
]
SCENES = [
    ("a fishing harbour at dawn", "un port de pêche à l'aube"),
    ("a council working session", "une séance de travail du conseil"),
    ("a shelter's kitchen", "la cuisine d'un refuge"),
    ("a border crossing", "un poste frontière"),
    ("a training for labour inspectors", "une formation d'inspecteurs du travail"),
    ("a market street", "une rue commerçante"),
]
COLOURS = [
    ("slate blue", (96, 120, 160)),
    ("sand", (214, 192, 150)),
    ("moss green", (110, 140, 90)),
    ("brick red", (170, 80, 64)),
    ("ochre", (204, 150, 60)),
    ("teal", (60, 140, 140)),
    ("plum", (120, 80, 120)),
    ("charcoal", (64, 64, 70)),
]
COMMENTS = {
    AnnotationKind.COMMENT: [
        (
            "Could this name the services survivors actually used?",
            "Pourrait-on nommer les services que les personnes survivantes ont vraiment utilisés ?",
        ),
        (
            "This reads well; it matches what the council heard.",
            "C'est clair ; cela correspond à ce que le conseil a entendu.",
        ),
        ("Please add where this figure comes from.", "Merci d'indiquer d'où vient ce chiffre."),
        (
            "I would move this before the recommendations.",
            "Je placerais ce passage avant les recommandations.",
        ),
    ],
    AnnotationKind.CONCERN: [
        (
            "This detail could identify the person; please remove the place name.",
            "Ce détail pourrait identifier la personne ; merci de retirer le nom du lieu.",
        ),
        (
            "This wording blames the survivor for what happened.",
            "Cette formulation rend la personne survivante responsable de ce qui lui est arrivé.",
        ),
        (
            "This passage may be hard to read without a content note.",
            "Ce passage peut être difficile à lire sans avertissement.",
        ),
        (
            "This is not accurate for the region I know.",
            "Ce n'est pas exact pour la région que je connais.",
        ),
    ],
    AnnotationKind.SUGGESTION: [
        (
            "A plainer wording would help readers.",
            "Une formulation plus simple aiderait les lecteurs.",
        ),
        (
            "Say \u201cpeople\u201d rather than \u201cvictims\u201d here.",
            "Dire \u00ab personnes \u00bb plutôt que \u00ab victimes \u00bb ici.",
        ),
        ("Shorter, and in the active voice.", "Plus court, et à la voix active."),
    ],
}
REPLIES = [
    (
        "Thank you, we will change this in the next version.",
        "Merci, nous le changerons dans la prochaine version.",
    ),
    ("Agreed.", "D'accord."),
    (
        "Could you say more about what would help here?",
        "Pourriez-vous préciser ce qui aiderait ici ?",
    ),
    (
        "We checked the source; the figure is from the ministry's annual data.",
        "Nous avons vérifié : le chiffre vient des données annuelles du ministère.",
    ),
    (
        "I see it differently, but I am happy with the new wording.",
        "Je le vois autrement, mais la nouvelle formulation me convient.",
    ),
]
CONTENT_NOTE = (
    "Describes debt bondage and confinement, without graphic detail.",
    "Décrit la servitude pour dettes et l'enfermement, sans détails crus.",
)
FIRST_NAMES = [
    "Amara", "Rivière", "Nadia", "Tomás", "Leila", "Joseph", "Mei", "Ayo", "Sofia", "Kwame",
    "Inès", "Dara", "Yusuf", "Lina", "Mateo", "Priya", "Élodie", "Samuel", "Hana", "Omar",
]  # fmt: skip
EDITOR_NAMES = ["Camille Roy", "Jordan Blake", "Alex Moreau", "Sam Okoro", "Noor Haddad"]


# Texts ----------------------------------------------------------------------------------------

Pair = tuple[str, str]


@dataclass
class TextBlock:
    """One Markdown block in both languages: a heading, a paragraph, a list or a quote."""

    kind: str
    lines: list[Pair]


def _sentence(rng: random.Random) -> Pair:
    opener = rng.choice(OPENERS)
    subject, verb, thing, where = (
        rng.choice(words) for words in (SUBJECTS, VERBS, OBJECTS, QUALIFIERS)
    )
    parts = []
    for lang in (0, 1):
        head = subject[lang]
        if opener[lang]:
            head = opener[lang] + head[0].lower() + head[1:]
        words = [head, verb[lang], thing[lang]] + ([where[lang]] if where[lang] else [])
        parts.append(" ".join(words) + ".")
    return parts[0], parts[1]


def _paragraph(rng: random.Random, sentences: tuple[int, int] = (3, 6)) -> TextBlock:
    return TextBlock("paragraph", [_sentence(rng) for _ in range(rng.randint(*sentences))])


def _document(rng: random.Random, words: int) -> list[TextBlock]:
    """Headings, paragraphs, the odd list and quote, until the English has `words` words."""
    blocks: list[TextBlock] = []
    count = 0
    while count < words:
        if not blocks or rng.random() < 0.12:
            blocks.append(TextBlock("heading", [rng.choice(TOPICS)]))
        roll = rng.random()
        if roll < 0.1:
            items = [
                (f"{t[0][0].upper()}{t[0][1:]}", f"{t[1][0].upper()}{t[1][1:]}")
                for t in rng.sample(OBJECTS, rng.randint(2, 4))
            ]
            blocks.append(TextBlock("list", items))
        elif roll < 0.15:
            blocks.append(TextBlock("quote", [rng.choice(QUOTES)]))
        else:
            blocks.append(_paragraph(rng))
        count = sum(len(line[0].split()) for block in blocks for line in block.lines)
    return blocks


def _revise(blocks: list[TextBlock], rng: random.Random, share: float) -> list[TextBlock]:
    """The next version: some sentences rewritten, some added, a paragraph added."""
    revised = []
    for block in blocks:
        lines = list(block.lines)
        if block.kind == "paragraph":
            lines = [_sentence(rng) if rng.random() < share else line for line in lines]
            if rng.random() < share:
                lines.append(_sentence(rng))
        revised.append(TextBlock(block.kind, lines))
    revised.insert(rng.randint(1, len(revised)), _paragraph(rng, (2, 4)))
    return revised


def _markdown(title: str, blocks: list[TextBlock], lang: int) -> str:
    out = [f"# {title}"]
    for block in blocks:
        texts = [line[lang] for line in block.lines]
        if block.kind == "heading":
            out.append(f"## {texts[0]}")
        elif block.kind == "list":
            out.append("\n".join(f"- {text}" for text in texts))
        elif block.kind == "quote":
            out.append(f"> {texts[0]}")
        else:
            out.append(" ".join(texts))
    return "\n\n".join(out) + "\n"


# The build ------------------------------------------------------------------------------------


@dataclass
class BulkResult:
    plan: BulkPlan
    timings: dict[str, float] = field(default_factory=dict)
    big_section_id: int | None = None
    report_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class _Text:
    """What the annotations need of a version (ORM objects held here would stay in the session's
    identity map, which every audited UPDATE scans)."""

    id: int
    number: int
    body_en: str
    body_fr: str | None

    def body(self, lang: str) -> str | None:
        return self.body_fr if lang == "fr" else self.body_en


@dataclass
class _SectionPlan:
    id: int
    report_id: int
    editor: User
    big: bool = False
    versions: list[_Text] = field(default_factory=list)
    state: SectionState = SectionState.DRAFT
    independent: bool = False
    authors: list[User] | None = None  # consultants working on it, read once


class _Builder:
    def __init__(self, plan: BulkPlan, password_hash: str, seed: int) -> None:
        self.plan = plan
        self.password_hash = password_hash
        # Reproducible test data, not secrets.
        self.rng = random.Random(seed)  # noqa: S311
        self.today = utcnow().date()
        self.consultants: list[User] = []
        self.editors: list[User] = []
        self.sections: list[_SectionPlan] = []
        self.report_ids: list[int] = []
        self.images: list[dict] = []
        self.criteria: dict[ItemKind, list] = {}
        self.made: set = set()  # (kind, state) pairs made so far

    def pick(self, kind: str, choices: list, weights: tuple) -> object:
        """Each choice once first, so every state exists at any scale; then by weight."""
        for choice in choices:
            if (kind, choice) not in self.made:
                self.made.add((kind, choice))
                return choice
        return self.rng.choices(choices, weights=weights)[0]

    def key(self) -> str:
        """A submission key (forms carry a random one; this one is reproducible)."""
        return f"{self.rng.getrandbits(128):032x}"

    # People -----------------------------------------------------------------------------------

    def people(self) -> None:
        for role, count, names, into in (
            (Role.EDITOR, self.plan.editors, EDITOR_NAMES, self.editors),
            (Role.CONSULTANT, self.plan.consultants, FIRST_NAMES, self.consultants),
        ):
            for n in range(1, count + 1):
                name = names[(n - 1) % len(names)]
                if count > len(names):
                    name = f"{name} {n:03d}"
                user = account_services.create_user(
                    email=f"bulk-{role.value}-{n:03d}@{EMAIL_DOMAIN}",
                    display_name=name,
                    role=role,
                    locale="fr" if n % 3 == 0 else "en",
                )
                # One hash for every bulk account: hashing each would take most of the run.
                user.password_hash = self.password_hash
                user.password_changed_at = utcnow()
                # In the portal only: bulk offers and answers queue no e-mail to send.
                notification_services.set_preferences(
                    user, dict.fromkeys(NotificationKind, DeliveryMode.IN_APP)
                )
                into.append(user)
        # Some consultants are away now or soon; the editors' grid shows it.
        for consultant in self.consultants[:: max(1, len(self.consultants) // 3)]:
            start = self.today + timedelta(days=self.rng.randint(-3, 20))
            availability_services.add_period(
                consultant,
                starts_on=start,
                ends_on=start + timedelta(days=self.rng.randint(3, 21)),
                note=None,
            )

    # Reports, sections, versions, assignments, decisions --------------------------------------

    def reports(self) -> None:
        per_report = [
            len(range(n, self.plan.sections, self.plan.reports)) for n in range(self.plan.reports)
        ]
        for n, count in enumerate(per_report):
            editor = self.editors[n % len(self.editors)]
            report = report_services.create_report(
                editor,
                title_en=f"Bulk data: {2027 + n % 4} regional report {n + 1}",
                title_fr=f"Données en nombre : rapport régional {2027 + n % 4}, n° {n + 1}",
                description_en="Generated by flask seed-bulk for measuring the portal.",
                description_fr="Produit par flask seed-bulk pour mesurer le portail.",
                year=2027 + n % 4,
            )
            self.report_ids.append(report.id)
            titles = [(topic, place) for topic in TOPICS for place in PLACES]
            self.rng.shuffle(titles)
            for index in range(count):
                big = n == 0 and index == 0
                topic, place = titles[index % len(titles)]
                if big:
                    title = (
                        "Country narratives: the full chapter",
                        "Récits par pays : le chapitre complet",
                    )
                else:
                    title = (f"{topic[0]}: {place[0]}", f"{topic[1]} : {place[1]}")
                self._section(editor, report, title, big)

    def _section(self, editor: User, report: Report, title: Pair, big: bool) -> None:
        rng = self.rng
        note = CONTENT_NOTE if big or rng.random() < 0.15 else (None, None)
        section = report_services.create_section(
            editor,
            report,
            title_en=title[0],
            title_fr=title[1],
            content_note_en=note[0],
            content_note_fr=note[1],
        )
        plan = _SectionPlan(section.id, report.id, editor, big=big)
        self.sections.append(plan)
        words = self.plan.big_section_words if big else rng.randint(250, 600)
        blocks = _document(rng, words)
        english_only = not big and rng.random() < 0.1
        french_lags = not big and rng.random() < 0.25
        previous_fr = None
        for number in (1, 2, 3):
            if number > 1:
                blocks = _revise(blocks, rng, 0.02 if big else 0.15)
            body_fr = None if english_only else _markdown(title[1], blocks, 1)
            if number == 3 and french_lags:
                body_fr = previous_fr  # the English moved on; the French did not (yet)
            version = report_services.publish_version(
                editor,
                section,
                body_en=_markdown(title[0], blocks, 0),
                body_fr=body_fr,
                change_summary=None if number == 1 else f"Revised after review round {number - 1}.",
                based_on=number - 1,
            )
            plan.versions.append(_Text(version.id, number, version.body_en, version.body_fr))
            previous_fr = body_fr
            if number == 1:
                if not big and rng.random() < 0.08:
                    continue  # stays a draft nobody is asked to review yet
                report_services.transition_section(editor, section, SectionState.IN_REVIEW)
                self._assign(editor, section, 8 if big else rng.randint(3, 5), big)
            else:
                self._decide(section, number, 0.35 if number == 2 else 0.6)
        if section.state is SectionState.IN_REVIEW:
            self._settle(editor, section)
        plan.state, plan.independent = section.state, section.independent_review

    def _assign(self, editor: User, section: Section, count: int, big: bool) -> None:
        rng = self.rng
        for consultant in rng.sample(self.consultants, min(count, len(self.consultants))):
            roll = 0.5 if big else rng.random()
            due_in = rng.randint(-10, 40)
            assignment = assignment_services.assign_section(
                editor,
                section,
                consultant,
                due_on=self.today + timedelta(days=due_in),
                instructions_en="Please look at how survivors are described."
                if roll < 0.2
                else None,
                today=self.today + timedelta(days=min(due_in, 0)),
            )
            if roll < 0.1:
                continue  # offered, not answered yet
            if roll < 0.17:
                reason = "I am not available this month." if rng.random() < 0.5 else None
                assignment_services.decline(consultant, assignment, reason)
                continue
            if roll < 0.2:
                assignment_services.withdraw(editor, assignment)
                continue
            assignment_services.accept(consultant, assignment)
            if roll < 0.85:
                assignment_services.start_review(consultant, assignment)
            if roll > 0.95:
                assignment_services.request_extension(
                    consultant,
                    assignment,
                    until=assignment.due_on + timedelta(days=14),
                    reason="I need more time to read this with my support worker.",
                )

    def _working(self, section_id: int) -> list[User]:
        """The consultants working on the section (their assignment accepted or further on)."""
        ids = db.session.scalars(
            select(Assignment.consultant_id)
            .where(
                Assignment.section_id == section_id,
                Assignment.state.in_(review_services.WORKING_STATES),
            )
            .order_by(Assignment.id)
        ).all()
        by_id = {user.id: user for user in self.consultants}
        return [by_id[user_id] for user_id in ids]

    def _decide(self, section: Section, number: int, share: float) -> None:
        for consultant in self._working(section.id):
            if self.rng.random() >= share and ("decided on", number) in self.made:
                continue
            self.made.add(("decided on", number))
            decision = self.pick("decision", list(Decision), (55, 30, 15))
            review_services.submit_decision(
                consultant,
                section,
                version_number=number,
                decision=decision,
                summary=None
                if decision is Decision.APPROVE
                else "Please soften the wording of the second paragraph.",
                submission_key=self.key(),
            )

    def _settle(self, editor: User, section: Section) -> None:
        """Move the section on as the editors would after the latest round of decisions."""
        outcome = review_services.outcome(section)
        if outcome is Decision.CHANGES_REQUESTED:
            report_services.transition_section(editor, section, SectionState.CHANGES_REQUESTED)
        elif outcome is Decision.APPROVE and self.rng.random() < 0.7:
            report_services.transition_section(editor, section, SectionState.APPROVED)
            if self.rng.random() < 0.4:
                report_services.transition_section(editor, section, SectionState.FINAL)
        if self.rng.random() < 0.05:
            review_services.set_independent_review(editor, section, True)

    # Annotations (inserted in bulk) -----------------------------------------------------------

    def annotations(self) -> None:
        rng = self.rng
        candidates = [plan for plan in self.sections if not plan.big and self._authors(plan)]
        big = next(plan for plan in self.sections if plan.big)
        share = {plan.id: rng.expovariate(1.0) for plan in candidates}
        total = sum(share.values()) or 1.0
        rest = max(0, self.plan.annotations - self.plan.big_section_annotations)
        counts = {plan.id: int(rest * share[plan.id] / total) for plan in candidates}
        if candidates:  # rounding: the remainder goes to the first sections
            for plan in candidates[: rest - sum(counts.values())]:
                counts[plan.id] += 1
        counts[big.id] = self.plan.big_section_annotations
        now = utcnow()
        for plan in [big, *candidates]:
            self._annotate(plan, counts[plan.id], now)

    def _authors(self, plan: _SectionPlan) -> list[User]:
        if plan.authors is None:
            plan.authors = self._working(plan.id)
        return plan.authors

    def _annotate(self, plan: _SectionPlan, count: int, now) -> None:
        rng = self.rng
        consultants = self._authors(plan)
        if not consultants or count == 0:
            return
        latest = plan.versions[-1]
        texts: dict[tuple[int, str], RenderedDocument] = {}

        def rendered(version: _Text, lang: str) -> RenderedDocument:
            if (version.id, lang) not in texts:
                texts[(version.id, lang)] = render_markdown(
                    version.body(lang) or "", id_prefix=f"{lang}-"
                )
            return texts[(version.id, lang)]

        rows, threads = [], []
        for _ in range(count):
            written = rng.choices(plan.versions, weights=(15, 25, 60))[0]
            if plan.big:
                written = latest if rng.random() < 0.9 else written
            lang = "fr" if written.body_fr and rng.random() < 0.25 else "en"
            document = rendered(written, lang)
            start, end = _span(document.plain_text, rng)
            quote, position = anchoring.describe(document.plain_text, start, end)
            author = rng.choice(consultants) if rng.random() < 0.85 else rng.choice(self.editors)
            kind = self.pick("annotation", list(AnnotationKind), (55, 25, 20))
            body = rng.choice(COMMENTS[kind])[1 if lang == "fr" else 0]
            states = [AnnotationState.OPEN, AnnotationState.RESOLVED]
            if written is not latest:  # addressed in a later version
                states.append(AnnotationState.ADDRESSED)
            state = self.pick("thread", states, (55, 30, 15)[: len(states)])
            row = {
                "section_id": plan.id,
                "version_id": written.id,
                "anchored_version_id": written.id,
                "author_id": author.id,
                "kind": kind,
                "language": lang,
                "block_id": _block_at(document, position.start),
                "quote_exact": quote.exact,
                "quote_prefix": quote.prefix,
                "quote_suffix": quote.suffix,
                "pos_start": position.start,
                "pos_end": position.end,
                "anchor_method": AnchorMethod.EXACT,
                "anchor_score": 1.0,
                "body": body,
                "replacement": _reworded(quote.exact)
                if kind is AnnotationKind.SUGGESTION
                else None,
                "state": state,
                "addressed_in": None,
                "created_at": now,
                "updated_at": now,
            }
            if state is not AnnotationState.RESOLVED and written is not latest:
                # What publishing the later versions did: carried to the latest text, or orphaned.
                _carry(
                    row, quote, position, len(document.plain_text), latest, rendered(latest, lang)
                )
            if state is AnnotationState.ADDRESSED:
                row["addressed_in"] = rng.randint(written.number + 1, latest.number)
            rows.append(row)
            threads.append((author, written))
        ids = db.session.scalars(
            insert(Annotation).returning(Annotation.id, sort_by_parameter_order=True), rows
        ).all()
        replies, actions = [], []
        editor = plan.editor
        for index, (annotation_id, row, (author, written)) in enumerate(
            zip(ids, rows, threads, strict=True)
        ):
            moment = now + timedelta(microseconds=index)
            for n in range(rng.choices((0, 1, 2, 3), weights=(35, 40, 17, 8))[0]):
                who = (editor, author, rng.choice(consultants))[n % 3]
                if plan.independent and who.role is Role.CONSULTANT:
                    who = author
                text = rng.choice(REPLIES)[1 if row["language"] == "fr" else 0]
                replies.append(
                    {
                        "annotation_id": annotation_id,
                        "author_id": who.id,
                        "body": text,
                        "created_at": moment + timedelta(seconds=n + 1),
                    }
                )
            action = {"annotation_id": annotation_id, "at": moment + timedelta(seconds=5)}
            if row["state"] is AnnotationState.ADDRESSED:
                actions.append(
                    action
                    | {
                        "actor_id": editor.id,
                        "action": "addressed",
                        "version_number": row["addressed_in"],
                    }
                )
            elif row["state"] is AnnotationState.RESOLVED:
                actions.append(
                    action
                    | {
                        "actor_id": rng.choice((author, editor)).id,
                        "action": "resolved",
                        "version_number": written.number,
                    }
                )
        if replies:
            db.session.execute(insert(AnnotationReply), replies)
        if actions:
            db.session.execute(insert(AnnotationAction), actions)

    # Photos and narratives --------------------------------------------------------------------

    def media(self) -> None:
        for name, colour in COLOURS:
            buffer = io.BytesIO()
            Image.new("RGB", (64, 48), colour).save(buffer, "JPEG", quality=85)
            image = process_image(buffer.getvalue(), max_bytes=1024 * 1024, max_pixels=10_000)
            self.images.append(
                {
                    "colour": name,
                    "image_name": storage.store(image),
                    "image_sha256": image.sha256,
                    "image_format": image.format,
                    "width": image.width,
                    "height": image.height,
                }
            )
        reviewed = [plan for plan in self.sections if plan.state is not SectionState.DRAFT]
        self.criteria = {kind: media_services.criteria(kind) for kind in ItemKind}
        for n in range(self.plan.photos + self.plan.narratives):
            plan = self.rng.choice(reviewed)
            item = self._photo(plan) if n < self.plan.photos else self._narrative(plan)
            if item.needs_consent:
                self._consent(plan, item)
            self._sign_offs(plan, item)

    def _photo(self, plan: _SectionPlan) -> MediaItem:
        rng = self.rng
        image = rng.choice(self.images)
        scene = rng.choice(SCENES)
        editor = plan.editor
        note = CONTENT_NOTE if rng.random() < 0.1 else (None, None)
        fields = {
            "caption_en": f"Placeholder for a photo of {scene[0]}.",
            "caption_fr": f"Image provisoire pour une photo : {scene[1]}.",
            "alt_en": f"A plain {image['colour']} rectangle.",
            "alt_fr": "Un rectangle uni de couleur.",
            "credit": "Generated by flask seed-bulk",
            "provenance": "Made for measuring the portal; shows nobody.",
            "staged": rng.random() < 0.2,
            "content_note_en": note[0],
            "content_note_fr": note[1],
        } | {name: value for name, value in image.items() if name != "colour"}
        return media_services.add_item(
            editor,
            db.session.get(Section, plan.id),
            ItemKind.PHOTO,
            fields,
            identifiable=rng.random() < 0.3,
        )

    def _narrative(self, plan: _SectionPlan) -> MediaItem:
        rng = self.rng
        editor = plan.editor
        paragraphs = [rng.sample(STORY, rng.randint(2, 3)) for _ in range(rng.randint(2, 4))]
        bodies = [
            "\n\n".join(" ".join(line[lang] for line in paragraph) for paragraph in paragraphs)
            for lang in (0, 1)
        ]
        scene = rng.choice(SCENES)
        return media_services.add_item(
            editor,
            db.session.get(Section, plan.id),
            ItemKind.NARRATIVE,
            {
                "title_en": f"A story from {scene[0]}",
                "title_fr": f"Un récit : {scene[1]}",
                "body_en": bodies[0],
                "body_fr": bodies[1],
                "content_note_en": CONTENT_NOTE[0],
                "content_note_fr": CONTENT_NOTE[1],
            },
        )

    def _consent(self, plan: _SectionPlan, item: MediaItem) -> None:
        """Valid, expiring, expired, withdrawn, renewed or missing, in realistic shares."""
        rng = self.rng
        editor = plan.editor
        state = self.pick(
            "consent",
            ["valid", "expiring", "expired", "withdrawn", "renewed", "missing"],
            (55, 12, 6, 10, 5, 12),
        )
        if state == "missing":
            return
        three_years = media_services.default_expiry(self.today) - self.today
        given_on = {
            "valid": self.today - timedelta(days=rng.randint(5, 700)),
            "expiring": self.today - three_years + timedelta(days=rng.randint(5, 55)),
            "expired": self.today - three_years - timedelta(days=rng.randint(1, 90)),
        }.get(state, self.today - timedelta(days=rng.randint(5, 700)))
        if state == "renewed":
            given_on = self.today - three_years + timedelta(days=rng.randint(5, 55))
        consent = media_services.record_consent(
            editor,
            item,
            given_by=f"Contributor (reference BK-{item.id:05d})",
            given_on=given_on,
            scope="This report, in print and online.",
            uses_allowed=None if rng.random() < 0.7 else rng.randint(1, 3),
            expires_on=None,
        )
        if state == "withdrawn":
            media_services.withdraw_consent(
                editor, consent, today=self.today - timedelta(days=rng.randint(0, 30))
            )
        elif state == "renewed":
            media_services.record_consent(
                editor,
                item,
                given_by=consent.given_by,
                given_on=self.today - timedelta(days=rng.randint(0, 3)),
                scope=consent.scope,
                uses_allowed=None,
                expires_on=None,
                replaces=consent,
            )

    def _sign_offs(self, plan: _SectionPlan, item: MediaItem) -> None:
        """Decisions on version 1; for some items a version 2 makes them stale, and some
        consultants decide again; a few take their decision back."""
        rng = self.rng
        working = self._working(plan.id)
        blocked = media_services.item_consent(item, self.today).blocks
        for consultant in working:
            if rng.random() < 0.6:
                self._sign_off(consultant, item, blocked)
                self.made.add("signed")
        if rng.random() < 0.2 or ("signed" in self.made and "item v2" not in self.made):
            self.made.add("item v2")
            editor = plan.editor
            names = PHOTO_FIELDS if item.is_photo else NARRATIVE_FIELDS
            fields = {name: getattr(item.latest, name) for name in names}
            changed = "caption_en" if item.is_photo else "title_en"
            fields[changed] = f"{fields[changed]} (revised)"
            media_services.publish_item_version(
                editor,
                item,
                expected_revision=item.revision,
                fields=fields,
                identifiable=item.identifiable_people,
                change_summary="Revised after the consultants' sign-offs.",
            )
            for consultant in working:
                if rng.random() < 0.4:
                    self._sign_off(consultant, item, blocked)
        for consultant in working:
            if rng.random() < 0.05 or "withdrew" not in self.made:
                mine = media_services.latest_records(item).get(consultant.id)
                if mine is not None and mine.decision is not SignOffDecision.WITHDRAWN:
                    media_services.withdraw_sign_off(consultant, mine)
                    self.made.add("withdrew")

    def _sign_off(self, consultant: User, item: MediaItem, blocked: bool) -> None:
        rng = self.rng
        decision = (
            SignOffDecision.NOT_APPROVED
            if blocked
            else self.pick("sign-off", list(media_services.DECISIONS), (60, 25, 15))
        )
        unmet = set()
        if decision is not SignOffDecision.APPROVE:
            unmet = {c.id for c in rng.sample(self.criteria[item.kind], 1)}
        answers = {
            criterion.id: media_services.AnswerGiven(
                Answer.DOES_NOT_MEET if criterion.id in unmet else Answer.MEETS,
                "Please check this point again." if criterion.id in unmet else None,
            )
            for criterion in self.criteria[item.kind]
        }
        media_services.submit_sign_off(
            consultant,
            item,
            version_number=item.latest.number,
            decision=decision,
            reasons=None
            if decision is SignOffDecision.APPROVE
            else "The caption should say this is an illustration.",
            answers=answers,
            submission_key=self.key(),
        )

    # Time ---------------------------------------------------------------------------------------

    def time(self) -> None:
        rng = self.rng
        assignments = db.session.scalars(
            select(Assignment)
            .where(
                Assignment.consultant_id.in_([c.id for c in self.consultants]),
                Assignment.state.in_(review_services.WORKING_STATES),
            )
            .order_by(Assignment.id)
        ).all()
        for assignment in assignments:
            for _ in range(rng.choices((0, 1, 2, 3), weights=(40, 30, 20, 10))[0]):
                time_record = time_services.add_time(
                    assignment.consultant,
                    assignment,
                    worked_on=self.today - timedelta(days=rng.randint(0, 90)),
                    minutes=rng.choice((30, 45, 60, 90, 120, 180)),
                    activity=rng.choice(list(TimeActivity)),
                    note="Read the draft twice." if rng.random() < 0.2 else None,
                )
                roll = rng.random()
                editor = rng.choice(self.editors)
                if roll < 0.5:
                    time_services.approve_time(
                        editor, time_record, expected_revision=time_record.revision
                    )
                elif roll < 0.65:
                    time_services.query_time(
                        editor,
                        time_record,
                        expected_revision=time_record.revision,
                        question="Was this the same meeting as the day before?",
                    )


def _span(text: str, rng: random.Random) -> tuple[int, int]:
    """A few words inside one leaf block (paragraph or heading) of the plain text."""
    leaves = []
    offset = 0
    for leaf in text.split("\n\n"):
        if len(leaf.split()) >= 3:
            leaves.append((offset, leaf))
        offset += len(leaf) + 2
    start_of_leaf, leaf = rng.choice(leaves)
    words = [(m, m + len(w)) for m, w in _word_positions(leaf)]
    first = rng.randrange(len(words))
    last = min(len(words) - 1, first + rng.randint(1, 12))
    return start_of_leaf + words[first][0], start_of_leaf + words[last][1]


def _word_positions(text: str) -> Iterator[tuple[int, str]]:
    position = 0
    for word in text.split(" "):
        if word:
            yield position, word
        position += len(word) + 1


def _block_at(document: RenderedDocument, offset: int) -> str | None:
    """The innermost block holding the offset, as the annotation service records it."""
    found = None
    for block in document.blocks:
        if block.start <= offset < block.end:
            found = block.id
    return found


def _reworded(quote: str) -> str:
    """A shorter wording: the quote without its second word."""
    words = quote.split()
    return " ".join(words[:1] + words[2:]) if len(words) > 2 else f"{quote}, in short"


def _carry(
    row: dict, quote, position, old_length: int, latest: _Text, document: RenderedDocument
) -> None:
    anchor = anchoring.reanchor(quote, position, document.plain_text, old_length=old_length)
    if anchor is None:
        row["anchor_method"] = AnchorMethod.ORPHAN
        row["anchor_score"] = 0.0
        return
    row |= {
        "anchored_version_id": latest.id,
        "block_id": _block_at(document, anchor.position.start),
        "quote_exact": anchor.quote.exact,
        "quote_prefix": anchor.quote.prefix,
        "quote_suffix": anchor.quote.suffix,
        "pos_start": anchor.position.start,
        "pos_end": anchor.position.end,
        "anchor_method": AnchorMethod(anchor.method),
        "anchor_score": anchor.score,
    }


def has_bulk_data() -> bool:
    """The marker: bulk accounts exist (their e-mail addresses are bulk-…@example.org)."""
    return bool(
        db.session.scalar(
            select(func.count()).select_from(User).where(User.email.like(EMAIL_PATTERN))
        )
    )


def build(plan: BulkPlan, password: str, *, seed: int = SEED, echo=None) -> BulkResult:
    """Make the data set in the current transaction (flushes, never commits)."""
    problem = account_services.password_problem(password)
    if problem:
        raise DomainError(problem)
    result = BulkResult(plan)
    builder = _Builder(plan, account_services.hashing().hash(password), seed)
    for name, step in (
        ("accounts", builder.people),
        ("reports, sections, versions, assignments, decisions", builder.reports),
        ("annotations, replies, thread actions", builder.annotations),
        ("photos, narratives, consent, sign-offs", builder.media),
        ("time records", builder.time),
    ):
        started = time.perf_counter()
        step()
        db.session.flush()
        result.timings[name] = time.perf_counter() - started
        if echo:
            echo(f"  {name}: {result.timings[name]:.1f} s")
    result.big_section_id = next(p.id for p in builder.sections if p.big)
    result.report_ids = builder.report_ids
    return result


def counts() -> dict[str, dict[str, int] | int]:
    """What the database holds, by kind and state, for the command's summary."""

    def by(column, *where) -> dict[str, int]:
        rows = db.session.execute(select(column, func.count()).where(*where).group_by(column))
        return {getattr(key, "value", str(key)): n for key, n in rows}

    latest_text = (
        select(SectionVersion.section_id, func.max(SectionVersion.id).label("id"))
        .group_by(SectionVersion.section_id)
        .subquery()
    )
    latest_item = (
        select(MediaVersion.item_id, func.max(MediaVersion.id).label("id"))
        .group_by(MediaVersion.item_id)
        .subquery()
    )
    stale_decisions = db.session.scalar(
        select(func.count())
        .select_from(SectionDecision)
        .join(latest_text, latest_text.c.section_id == SectionDecision.section_id)
        .where(SectionDecision.version_id != latest_text.c.id)
    )
    stale_sign_offs = db.session.scalar(
        select(func.count())
        .select_from(SignOff)
        .join(latest_item, latest_item.c.item_id == SignOff.item_id)
        .where(SignOff.version_id != latest_item.c.id)
    )

    def total(model) -> int:
        return db.session.scalar(select(func.count()).select_from(model))

    return {
        "accounts": by(User.role, User.email.like(EMAIL_PATTERN)),
        "reports": total(Report),
        "sections": by(Section.state),
        "versions": total(SectionVersion),
        "assignments": by(Assignment.state),
        "annotations": by(Annotation.kind),
        "annotation states": by(Annotation.state),
        "anchors": by(Annotation.anchor_method),
        "replies": total(AnnotationReply),
        "section decisions": by(SectionDecision.decision),
        "on older versions": stale_decisions,
        "items": by(MediaItem.kind),
        "consent records": total(ConsentRecord),
        "withdrawn": db.session.scalar(
            select(func.count(ConsentRecord.id)).where(ConsentRecord.withdrawn_on.is_not(None))
        ),
        "renewals": db.session.scalar(
            select(func.count(ConsentRecord.id)).where(ConsentRecord.replaces_id.is_not(None))
        ),
        "sign-offs": by(SignOff.decision),
        "on older item versions": stale_sign_offs,
        "notifications": total(Notification),
        "time records": total(TimeRecord),
    }


@click.command("seed-bulk")
@click.option(
    "--scale",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Multiply every count by this (1: about 120 sections, 5,000 annotations).",
)
@click.option(
    "--password", default=DEMO_PASSWORD, show_default=True, help="Password of every bulk account."
)
@click.option(
    "--scale-fraction",
    type=click.FloatRange(min=0.01, max=1),
    default=None,
    hidden=True,
    help="For tests: a fraction of scale 1.",
)
@with_appcontext
def seed_bulk_command(scale: int, password: str, scale_fraction: float | None):
    """Load a large, reproducible data set for measuring (refused under PORTAL_ENV=production).

    Accounts are bulk-consultant-001@example.org, bulk-editor-001@example.org and so on, with
    in-portal notifications only (no e-mail is queued). Refused when the database already has
    bulk accounts. Everything goes through the domain services and is audited, except the
    annotations, their replies and their resolved/addressed actions: those are inserted in bulk
    and have NO audit events (the hash chain stays valid). One section has a 10,000-word text
    with 1,000 annotations whatever the scale.
    """
    if current_app.config["PORTAL_ENV"] == "production":
        raise click.ClickException("seed-bulk refuses to run when PORTAL_ENV=production.")
    if has_bulk_data():
        raise click.ClickException(
            f"The database already has bulk data (accounts like bulk-…@{EMAIL_DOMAIN}); "
            "seed-bulk runs once per database."
        )
    plan = BulkPlan.at_scale(scale_fraction if scale_fraction is not None else scale)
    started = time.perf_counter()
    click.echo(f"Building bulk data at scale {scale_fraction or scale}…")
    before = counts()
    try:
        result = build(plan, password, echo=click.echo)
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from error
    db.session.commit()
    elapsed = time.perf_counter() - started
    click.echo("Created:")
    for name, line in describe_created(before, counts()):
        click.echo(f"  {name:>18}: {line}")
    click.echo(
        f"Done in {elapsed:.1f} s. The 10,000-word section is /sections/{result.big_section_id}; "
        f"the accounts' password is {password!r}."
    )


def describe_created(before: dict, after: dict) -> Iterator[tuple[str, str]]:
    """One line per kind: what `after` holds beyond `before`, by state where it has states."""
    for name, value in after.items():
        if isinstance(value, dict):
            added = {k: n - before[name].get(k, 0) for k, n in sorted(value.items())}
            line = ", ".join(f"{k} {n}" for k, n in added.items() if n) or "none"
            yield name, f"{sum(added.values())} ({line})"
        else:
            yield name, str(value - before[name])
