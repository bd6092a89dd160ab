"""Demo data for `flask seed-demo`: realistic people, and a bilingual report in progress.

The texts are written for the demo; they describe the kind of material a survivor-informed
report contains, without any real person's story.
"""

from __future__ import annotations

from datetime import timedelta

from portal.accounts import services as account_services
from portal.accounts.models import Role, User
from portal.assignments import services as assignment_services
from portal.models import utcnow
from portal.reports import services as report_services
from portal.reports.models import SectionState

DEMO_ACCOUNTS = [
    {
        "email": "admin@example.org",
        "display_name": "Morgan Ellis",
        "legal_name": "Morgan Ellis",
        "role": Role.ADMIN,
        "locale": "en",
    },
    {
        "email": "editor@example.org",
        "display_name": "Camille Roy",
        "legal_name": "Camille Roy",
        "role": Role.EDITOR,
        "locale": "fr",
    },
    {
        "email": "consultant@example.org",
        "display_name": "Amara",
        "legal_name": "Amara Okafor",
        "role": Role.CONSULTANT,
        "locale": "en",
    },
    {
        "email": "consultant2@example.org",
        "display_name": "Rivière",
        "legal_name": "Sophie Tremblay",
        "role": Role.CONSULTANT,
        "locale": "fr",
    },
]

INTRODUCTION_V1_EN = """# Introduction

Every year, this report describes how governments prevent human trafficking, protect the people
it harms and hold traffickers to account. This year, survivors of trafficking wrote and reviewed
this introduction as paid expert consultants.

## Why survivor leadership matters

People with lived experience see what policies miss. They know which services were there when
they needed them, and which were not.

- Survivors should be paid for their expertise, like any other expert.
- Survivors should be part of decisions from the start, not asked to approve them at the end.
- Survivors should choose how, and whether, their own stories are told.
"""

INTRODUCTION_V2_EN = """# Introduction

Every year, this report describes how governments prevent human trafficking, protect the people
it harms and hold traffickers to account. This year, survivors of trafficking wrote and reviewed
this introduction as paid expert consultants, and their recommendations shaped every chapter.

## Why survivor leadership matters

People with lived experience see what policies miss. They know which services were there when
they needed them, which were not, and which did harm while meaning well.

- Survivors should be paid for their expertise, like any other expert.
- Survivors should be part of decisions from the start, not asked to approve them at the end.
- Survivors should choose how, and whether, their own stories are told.

> Nothing about us without us.
"""

INTRODUCTION_FR = """# Introduction

Chaque année, ce rapport décrit comment les gouvernements préviennent la traite des personnes,
protègent les personnes qui en sont atteintes et demandent des comptes aux trafiquants. Cette
année, des survivantes et survivants de la traite ont rédigé et relu cette introduction en tant
que consultantes et consultants experts rémunérés.

## Pourquoi le leadership des survivantes et survivants compte

Les personnes ayant une expérience vécue voient ce qui échappe aux politiques. Elles savent
quels services étaient là quand elles en avaient besoin, et lesquels ne l'étaient pas.

- Les survivantes et survivants doivent être rémunérés pour leur expertise, comme tout expert.
- Ils doivent participer aux décisions dès le départ, et non être consultés à la fin.
- Ils choisissent comment, et si, leur propre histoire est racontée.
"""

LEADERSHIP_EN = """# Survivor leadership

Survivor-led organisations now advise governments in many countries. Where they are funded
fairly and consulted early, services become easier to reach and less likely to retraumatise.

Good practice we saw this year:

1. Paid advisory councils with a clear mandate and a budget of their own.
2. Plain-language consent forms, offered in the languages people actually speak.
3. Time to review drafts, and the right to say no without having to explain why.
"""

LEADERSHIP_FR = """# Le leadership des survivantes et survivants

Des organisations dirigées par des survivantes et survivants conseillent désormais les
gouvernements dans de nombreux pays. Lorsqu'elles sont financées équitablement et consultées
tôt, les services deviennent plus accessibles et risquent moins de raviver les traumatismes.

Bonnes pratiques observées cette année :

1. Des conseils consultatifs rémunérés, avec un mandat clair et un budget propre.
2. Des formulaires de consentement en langage clair, dans les langues que les gens parlent.
3. Du temps pour relire les ébauches, et le droit de refuser sans avoir à se justifier.
"""

SEAFOOD_EN = """# Topic box: forced labour at sea

Workers recruited for fishing vessels described debts that grew faster than their wages,
identity documents kept by recruiters, and months at sea without a port call.

Several governments now inspect vessels at sea and require that workers keep their own
documents. Survivors asked that inspections include private interviews, away from officers,
in the workers' own language.
"""

SEAFOOD_FR = """# Encadré : le travail forcé en mer

Des travailleurs recrutés pour des navires de pêche ont décrit des dettes qui augmentaient plus
vite que leurs salaires, des papiers d'identité conservés par les recruteurs et des mois en mer
sans escale.

Plusieurs gouvernements inspectent désormais les navires en mer et exigent que les travailleurs
gardent leurs propres papiers. Les survivantes et survivants demandent que les inspections
comprennent des entretiens privés, à l'écart des officiers, dans la langue des travailleurs.
"""

DATA_EN = """# Topic box: trauma-informed data collection

Questionnaires can harm. Ask only what you will use, explain why you ask it, and let people
skip any question. Offer breaks, and tell people what happens to their answers.
"""

SECTIONS = [
    {"title_en": "Introduction", "title_fr": "Introduction"},
    {"title_en": "Survivor leadership", "title_fr": "Le leadership des survivantes et survivants"},
    {
        "title_en": "Topic box: forced labour at sea",
        "title_fr": "Encadré : le travail forcé en mer",
        "content_note_en": "Describes debt bondage and confinement at sea, without graphic detail.",
        "content_note_fr": "Décrit la servitude pour dettes et l'enfermement en mer, sans détails "
        "crus.",
    },
    {
        "title_en": "Topic box: trauma-informed data collection",
        "title_fr": "Encadré : une collecte de données tenant compte des traumatismes",
    },
    {"title_en": "Recommendations", "title_fr": "Recommandations"},
]


def seed_accounts(password: str) -> list[tuple[str, bool]]:
    """Create the demo accounts that do not exist yet; return (e-mail, created) pairs."""
    results = []
    for spec in DEMO_ACCOUNTS:
        exists = account_services.user_by_email(spec["email"]) is not None
        if not exists:
            account_services.create_user(password=password, **spec)
        results.append((spec["email"], not exists))
    return results


def seed_report() -> bool:
    """Add the demo report with sections, versions and assignments, unless it exists."""
    from sqlalchemy import select

    from portal.extensions import db
    from portal.reports.models import Report

    title = "2027 Trafficking in Persons Report"
    if db.session.scalar(select(Report).where(Report.title_en == title)) is not None:
        return False
    editor = account_services.user_by_email("editor@example.org")
    amara = account_services.user_by_email("consultant@example.org")
    riviere = account_services.user_by_email("consultant2@example.org")
    if not all(isinstance(user, User) for user in (editor, amara, riviere)):
        return False
    report = report_services.create_report(
        editor,
        title_en=title,
        title_fr="Rapport 2027 sur la traite des personnes",
        description_en="The annual report, with an introduction written and reviewed by survivor "
        "consultants.",
        description_fr="Le rapport annuel, dont l'introduction est rédigée et relue par des "
        "consultantes et consultants survivants.",
        year=2027,
    )
    intro, leadership, seafood, data, _recommendations = (
        report_services.create_section(editor, report, **spec) for spec in SECTIONS
    )
    report_services.publish_version(
        editor,
        intro,
        body_en=INTRODUCTION_V1_EN,
        body_fr=INTRODUCTION_FR,
        change_summary="First draft.",
        based_on=0,
    )
    # The English moved on and the French did not: the French shows as out of date.
    report_services.publish_version(
        editor,
        intro,
        body_en=INTRODUCTION_V2_EN,
        body_fr=INTRODUCTION_FR,
        change_summary="Added the consultants' recommendations and a closing quote.",
        based_on=1,
    )
    for section, body_en, body_fr in (
        (leadership, LEADERSHIP_EN, LEADERSHIP_FR),
        (seafood, SEAFOOD_EN, SEAFOOD_FR),
        (data, DATA_EN, None),
    ):
        report_services.publish_version(
            editor, section, body_en=body_en, body_fr=body_fr, change_summary=None, based_on=0
        )
    for section in (intro, leadership, seafood):
        report_services.transition_section(editor, section, SectionState.IN_REVIEW)

    today = utcnow().date()
    offer = assignment_services.assign_section

    def days(n: int):
        return today + timedelta(days=n)

    a = offer(
        editor,
        intro,
        amara,
        due_on=days(10),
        instructions_en="Please check that the introduction reads as written by and for survivors.",
        instructions_fr="Merci de vérifier que l'introduction se lit comme écrite par et "
        "pour les survivantes et survivants.",
    )
    assignment_services.accept(amara, a)
    assignment_services.start_review(amara, a)
    a = offer(editor, seafood, amara, due_on=days(5))
    assignment_services.accept(amara, a)
    # Offered earlier and now past due: the dashboards mark it overdue.
    a = offer(editor, leadership, amara, due_on=days(1), today=today)
    a.due_on = days(-2)
    offer(editor, intro, riviere, due_on=days(14))
    a = offer(editor, leadership, riviere, due_on=days(7))
    assignment_services.decline(riviere, a)
    a = offer(editor, seafood, riviere, due_on=days(3))
    assignment_services.accept(riviere, a)
    assignment_services.request_extension(
        riviere, a, until=days(12), reason="Je préfère relire ce texte avec mon accompagnatrice."
    )
    db.session.flush()
    from portal.media.demo import seed_media

    seed_media(editor, amara, riviere, intro, seafood)
    db.session.flush()
    return True
