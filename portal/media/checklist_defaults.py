"""The default photo and narrative checklists (../shared/guides/trauma-informed.md), with sources.

Plain data in both languages: the migration that creates the checklist table loads it into a new
database, and admins manage the criteria from there on.
"""

from __future__ import annotations

PHOTO_CRITERIA = (
    (
        "Consent: documented, informed consent from each identifiable person for this image and "
        "for its use next to this text.",
        "Consentement : un consentement éclairé et documenté de chaque personne identifiable, "
        "pour cette image et pour son usage à côté de ce texte.",
        "Freedom United, “My Story My Dignity”; UNIAP (2008)",
    ),
    (
        "Identity protection: faces and identifying details concealed where needed; children "
        "never identifiable.",
        "Protection de l’identité : visages et détails identifiants masqués lorsque c’est "
        "nécessaire ; aucun enfant identifiable.",
        "U.S. HHS OTIP, “Look Beneath the Surface”; UNIAP (2008)",
    ),
    (
        "No harmful tropes: no chains, ropes, cages, handcuffs, barcodes, visible injuries, "
        "sexualised or “victim pose” imagery; nothing that implies victims must be physically "
        "restrained.",
        "Aucun cliché nuisible : ni chaînes, cordes, cages, menottes, codes-barres, blessures "
        "visibles, images sexualisées ou « poses de victime » ; rien qui laisse entendre que les "
        "victimes sont forcément entravées physiquement.",
        "Freedom United, “My Story My Dignity”; Zero Tolerance image guidance",
    ),
    (
        "Dignity and agency: the person is shown as a person, with strength and agency, not as "
        "an object of pity.",
        "Dignité et autonomie : la personne est montrée comme une personne, avec sa force et "
        "son pouvoir d’agir, et non comme un objet de pitié.",
        "Freedom United, “My Story My Dignity”; University of Nottingham Rights Lab",
    ),
    (
        "Representation: across the set, people of different races, ethnicities, ages, genders "
        "and abilities; no stereotype of who is trafficked.",
        "Représentation : dans l’ensemble des images, des personnes d’origines, d’âges, de "
        "genres et de capacités variés ; aucun stéréotype sur qui est victime de traite.",
        "University of Nottingham Rights Lab, “Photographing Modern Slavery”",
    ),
    (
        "Staging: a staged or re-enacted photo is labelled as such and was reviewed by survivors.",
        "Mise en scène : une photo mise en scène ou reconstituée est présentée comme telle et a "
        "été examinée par des personnes survivantes.",
        "U.S. HHS OTIP, “Look Beneath the Surface”",
    ),
    (
        "Caption and provenance: the caption is accurate and non-sensational, credit and source "
        "are recorded; where no ethical photograph exists, an illustration is considered.",
        "Légende et provenance : la légende est exacte et sans sensationnalisme, le crédit et "
        "la source sont consignés ; faute de photographie éthique, une illustration est "
        "envisagée.",
        "Zero Tolerance image guidance; University of Nottingham Rights Lab",
    ),
)

NARRATIVE_CRITERIA = (
    (
        "Consent record: scope (where, how, how many times), date, expiry (at most three years), "
        "and the survivor's right to withdraw at any time.",
        "Consentement consigné : portée (où, comment, combien de fois), date, expiration (trois "
        "ans au plus) et droit de la personne survivante de le retirer à tout moment.",
        "National Trafficking Sheltered Alliance media policy; Freedom United event pledge",
    ),
    (
        "Survivor control: the survivor reviewed the final edited text and the quotes that will "
        "be used.",
        "Maîtrise par la personne survivante : elle a relu le texte final et les citations qui "
        "seront utilisées.",
        "Survivor Alliance / United Way ethical storytelling guidelines; NHTTAC",
    ),
    (
        "Safety: personal identifying details removed or risk-assessed; nothing that could "
        "endanger the survivor or affect legal proceedings.",
        "Sécurité : les détails identifiants sont retirés ou leur risque évalué ; rien qui "
        "puisse mettre la personne survivante en danger ou peser sur une procédure judiciaire.",
        "UNIAP's seven principles; Safe House Project",
    ),
    (
        "Framing: expertise and resilience, not the worst moments of trauma; no gratuitous "
        "detail; not “helpless”; no sensational wording; facts checked.",
        "Présentation : l’expertise et la résilience plutôt que les pires moments du "
        "traumatisme ; aucun détail gratuit ; pas d’image « d’impuissance » ; aucun terme "
        "sensationnel ; faits vérifiés.",
        "Polaris, “Working with Survivor Anti-Trafficking Professionals”; NHF International",
    ),
    (
        "Fair exchange: the survivor was paid for their story and time, and offered support.",
        "Échange équitable : la personne survivante a été rémunérée pour son récit et son "
        "temps, et un soutien lui a été proposé.",
        "Polaris; NHTTAC, “Partnering with Survivors”",
    ),
)


def default_rows() -> list[dict]:
    """The default criteria as table rows (kind, position, texts, sources)."""
    rows = []
    for kind, criteria in (("photo", PHOTO_CRITERIA), ("narrative", NARRATIVE_CRITERIA)):
        for position, (text_en, text_fr, sources) in enumerate(criteria, start=1):
            rows.append(
                {
                    "kind": kind,
                    "position": position,
                    "text_en": text_en,
                    "text_fr": text_fr,
                    "sources": sources,
                }
            )
    return rows
