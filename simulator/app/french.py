"""What the French page says of the scenario files, which are written in English: each library
scenario's question and each lever's source, in French, with the files' shorthand spelled out.

The tables are keyed by the English text itself, so a source edited in a scenario file falls back
to its shorthand spelled out (``[I]`` → "hypothèse de modélisation"…), with the English detail
marked as such; ``tests/test_app_api.py`` asks every shipped text to be in these tables.
"""

from __future__ import annotations

import re

DESCRIPTIONS = {
    "baseline": "Vague 1 seule, prolongée jusqu'en 2027 : la projection de référence face à l'objectif de 250 millions de documents par an.",
    "dmp_outage": "Vague 2 avec le DMP en panne trois jours en mars 2026 ; les envois attendent et sont renvoyés.",
    "dmp_outage_drop": "Vague 2 avec le DMP en panne trois jours en mars 2026 ; les envois sont abandonnés après un jour d'attente.",
    "eprescription_mandate_late": "Projection centrale de la vague 2 avec l'obligation d'e-prescription reportée au 1er janvier 2026.",
    "gp_fast": "Vague 2 avec l'adoption des médecins de ville (taux de Bass p et q) doublée dès les premiers déploiements (mars 2022).",
    "insi_outage": "Vague 2 avec le téléservice INSi en panne deux semaines à partir du 2 mars 2026 (aucune recherche d'identité n'aboutit).",
    "legacy_software_rejected": "Vague 2 avec les logiciels pré-Ségur refusés par le DMP à partir du 31 octobre 2023 (une règle sans source, pour voir).",
    "mes_campaign": "Vague 2 avec une campagne nationale d'activation en 2026 et 2027 (taux d'activation × 4, comme en 2025).",
    "mes_opposition": "Vague 2 avec un taux d'opposition porté de 2 % à 10 % des personnes informées à partir du 1er mars 2022.",
    "mssante_operator_failure": "Mailiz (l'offre MSSanté nationale des professionnels libéraux) en panne 14 jours à partir du 2 mars 2026.",
    "new_document_type": "Vague 2 avec les officines qui envoient des notes de vaccination (87273-9) à partir de janvier 2026.",
    "nurses_first": "Infirmiers lancés mi-2024 comme visé au départ, avant les autres secteurs de la vague 2 (dates centrales sinon).",
    "obligation_gp_prescriptions": "Vague 2 avec l'obligation pour les médecins de ville d'envoyer chaque prescription de médicaments à partir de 2026.",
    "radiology_lag": "Vague 2 avec l'adoption de la radiologie divisée par deux à partir de 2024 et le logiciel d'imagerie de la vague 2 (DRIMbox) un an en retard.",
    "targets_by_channel": "Vague 2 avec des objectifs par type de document (prescriptions dans le DMP) et par canal (messages MSSanté), et l'objectif des médecins relevé en 2026.",
    "vendor_defects": "Référence avec un éditeur de médecine de ville qui envoie 5 % d'INS à l'OID erroné, un éditeur de RIS 3 % de codes de type retirés, les logiciels d'officine 1 % de clés NIR fausses.",
    "vendor_failure": "Vague 2 avec l'éditeur de médecine de ville LGC-A en panne 61 jours à partir du 2 mars 2026 (documents gardés, envoyés au rétablissement).",
    "wave2": "Projection centrale de la vague 2 : secteurs de la vague 2 lancés selon leurs propres dispositifs (médico-social janvier 2026, les autres mai 2026), services de la vague 2, e-prescription obligatoire dès 2025.",
    "wave2_deadline": "Projection centrale de la vague 2 avec l'échéance d'installation de la vague 1 repoussée de 182 jours pour les hôpitaux et la radiologie.",
    "wave2_funding": "Projection centrale de la vague 2 avec 20 000 € par laboratoire de ville à partir du 1er janvier 2024 pour ceux qui n'ont pas encore commandé.",
    "wave2_late": "Chaque lancement de la vague 2 un an plus tard que dans wave2 (médico-social janvier 2027, les autres secteurs mai 2027, mises à jour logicielles à partir de 2026).",
    "wave2_regional": "Projection centrale de la vague 2 avec la campagne des infirmiers pilotée en Bretagne à partir du 1er septembre 2024.",
}

ASSUMED = "hypothèse de modélisation"
CHECKED = "vérifié dans la source citée"

SOURCES = {
    "share [I]: the sector's 850 facilities are the RIS structures the deck counts":
        f"{ASSUMED} : les 850 structures du secteur sont les structures RIS que compte la présentation du programme",
    "1/day [I]": ASSUMED,
    ">70% of city labs equipped / 0.956 → >0.73 ordered [V]; 0.78 [I]":
        f"plus de 70 % des laboratoires de ville équipés ÷ 0,956 → plus de 0,73 ont commandé ({CHECKED}) ; 0,78 : {ASSUMED}",
    ">97% of pharmacies equipped / 0.987 → >0.98 ordered [V]; 0.99 [I]":
        f"plus de 97 % des officines équipées ÷ 0,987 → plus de 0,98 ont commandé ({CHECKED}) ; 0,99 : {ASSUMED}",
    "Bass imitation [I]": f"imitation (modèle de Bass) : {ASSUMED}",
    "DMP down three days; outboxes drop submissions that waited a day":
        "DMP en panne trois jours ; les envois qui ont attendu un jour sont abandonnés",
    "DMP down three days; outboxes keep submissions up to 30 days and retry":
        "DMP en panne trois jours ; les envois sont gardés jusqu'à 30 jours et renvoyés",
    "DMP feeding needs a qualified INS (domain §3, S25/S33) [V]":
        f"alimenter le DMP exige une INS qualifiée (faits du domaine, section 3, sources 25 et 33 ; {CHECKED})",
    "INSi comes with the wave 2 software (domain §1 goal 4: INS management)":
        "l'INSi arrive avec les logiciels de la vague 2 (faits du domaine, section 1, objectif 4 : gestion de l'INS)",
    "[I] assumption": ASSUMED,
    "calibrated (docs/calibration.md) (first pass), same figures [I]":
        f"calibré (docs/calibration.md, premier passage), mêmes chiffres : {ASSUMED}",
    "level of an officine when it starts feeding (before learning): dispensations reach the DMP rarely; the calibrated 0.02358 (docs/calibration.md, 3% of documents end 2023) rescaled to the activity-based volume [I]":
        "niveau d'une officine quand elle commence à alimenter (avant l'apprentissage) : les dispensations atteignent rarement "
        "le DMP ; la valeur calibrée 0,02358 (docs/calibration.md, 3 % des documents fin 2023) ramenée au volume d'activité "
        f"({ASSUMED})",
    "dispensations reach the DMP rarely; the calibrated 0.02358 (docs/calibration.md, 3% of documents end 2023) rescaled to the activity-based volume [I]; no learning (constant)":
        "les dispensations atteignent rarement le DMP ; la valeur calibrée 0,02358 (docs/calibration.md, 3 % des documents fin 2023) "
        f"ramenée au volume d'activité ({ASSUMED}) ; pas d'apprentissage (constante)",
    "level of a GP when it starts feeding (before learning, × type ceilings) [I]; with the 0.35 ceiling before the wave 1 deadline, keeps ≈ 25M/yr Sept 2023 (observed) on 190M consultations · posterior draw (docs/calibration.md, issue 24)":
        f"niveau d'un médecin quand il commence à alimenter (avant l'apprentissage, × les plafonds par type ; {ASSUMED}) ; "
        "avec le plafond de 0,35 avant l'échéance de la vague 1, donne ≈ 25 millions par an en septembre 2023 (chiffre observé) "
        "sur 190 millions de consultations · tirage joint de la loi a posteriori de la calibration (docs/calibration.md, issue 24)",
    "level of a lab site when it starts feeding [I]; keeps ≈ 75M/yr Sept 2023 (observed) with the learning below (the calibrated constant was 0.8216) · posterior draw (docs/calibration.md, issue 24)":
        f"niveau d'un site de laboratoire quand il commence à alimenter ({ASSUMED}) ; donne ≈ 75 millions par an en septembre 2023 "
        "(chiffre observé) avec l'apprentissage (la constante calibrée était 0,8216) · tirage joint de la loi a posteriori de la calibration (docs/calibration.md, issue 24)",
    "level of a structure when it starts feeding; the calibrated 0.535 (docs/calibration.md, 13M/yr Sept 2023) rescaled to the activity-based eligible volume [I] · posterior draw (docs/calibration.md, issue 24)":
        "niveau d'une structure quand elle commence à alimenter ; la valeur calibrée 0,535 (docs/calibration.md, 13 millions par an "
        f"en septembre 2023) ramenée au volume éligible d'activité ({ASSUMED}) · tirage joint de la loi a posteriori de la calibration (docs/calibration.md, issue 24)",
    "level of an establishment when it starts feeding (before learning, × type ceilings) [I]; keeps ≈ 30M/yr Sept 2023 (observed) with the learning below (the calibrated constant was 0.5853) · posterior draw (docs/calibration.md, issue 24)":
        f"niveau d'un établissement quand il commence à alimenter (avant l'apprentissage, × les plafonds par type ; {ASSUMED}) ; "
        "donne ≈ 30 millions par an en septembre 2023 (chiffre observé) avec l'apprentissage (la constante calibrée était 0,5853) "
        "· tirage joint de la loi a posteriori de la calibration (docs/calibration.md, issue 24)",
    "pre-Ségur software no longer accepted from the LOINC transcoding deadline [I] (what-if: no source states it)":
        f"logiciels pré-Ségur refusés à partir de l'échéance de transcodage LOINC ({ASSUMED}, pour voir : aucune source ne le dit)",
    "share [I]": ASSUMED,
    "share [I]: 0.75 of facilities eventually equipped (as before) / 0.98 installed of ordered":
        f"{ASSUMED} : 0,75 des structures finalement équipées (comme avant) ÷ 0,98 installées parmi les commandes",
    "share [I]: 0.8 of facilities eventually equipped (as before) / 0.98 installed of ordered":
        f"{ASSUMED} : 0,8 des structures finalement équipées (comme avant) ÷ 0,98 installées parmi les commandes",
    "share [I]: 0.85 of facilities eventually equipped (as before) / 0.98 installed of ordered":
        f"{ASSUMED} : 0,85 des structures finalement équipées (comme avant) ÷ 0,98 installées parmi les commandes",
    "since Oct 2023 every DMP document of a facility that does not qualify is refused (domain §3, S25/S33)":
        "depuis octobre 2023, tout document envoyé au DMP par une structure qui ne qualifie pas est refusé "
        "(faits du domaine, section 3, sources 25 et 33)",
    "wave 2 launch: dentists [I] (LGC CD dispositif expected Q1 2024, domain §1; not published by the 12th COSUI, 2025-04-02 [V]; taken as published 2025-11-05, first deployments six months later)":
        f"lancement vague 2 : chirurgiens-dentistes ({ASSUMED} ; dispositif LGC CD attendu au 1er trimestre 2024, faits du domaine, "
        f"section 1 ; pas encore publié au 12e comité de suivi du 2 avril 2025, {CHECKED} ; supposé publié le 5 novembre 2025, "
        "premiers déploiements six mois plus tard)",
    "wave 2 launch: dentists, a year after wave2 [I]": f"lancement vague 2 : chirurgiens-dentistes, un an après wave2 ({ASSUMED})",
    "wave 2 launch: dentists, as in wave2 [I]": f"lancement vague 2 : chirurgiens-dentistes, comme dans wave2 ({ASSUMED})",
    "wave 2 launch: midwives [I] (LGC SF dispositif expected Q1 2024, domain §1; not published by the 12th COSUI, 2025-04-02 [V]; taken as published 2025-11-05, first deployments six months later)":
        f"lancement vague 2 : sages-femmes ({ASSUMED} ; dispositif LGC SF attendu au 1er trimestre 2024, faits du domaine, "
        f"section 1 ; pas encore publié au 12e comité de suivi du 2 avril 2025, {CHECKED} ; supposé publié le 5 novembre 2025, "
        "premiers déploiements six mois plus tard)",
    "wave 2 launch: midwives, a year after wave2 [I]": f"lancement vague 2 : sages-femmes, un an après wave2 ({ASSUMED})",
    "wave 2 launch: midwives, as in wave2 [I]": f"lancement vague 2 : sages-femmes, comme dans wave2 ({ASSUMED})",
    "wave 2 launch: médico-social [I] (SONS médico-social vague 2 announced 'd'ici cet été', 12th COSUI 2025-04-02 [V]; taken as 2025-07-01, first deployments six months later; the wave 1 DUI is installed before)":
        f"lancement vague 2 : médico-social ({ASSUMED} ; SONS médico-social de la vague 2 annoncé « d'ici cet été » au 12e comité "
        f"de suivi du 2 avril 2025, {CHECKED} ; supposé publié le 1er juillet 2025, premiers déploiements six mois plus tard ; "
        "le DUI de la vague 1 est installé avant)",
    "wave 2 launch: médico-social, a year after wave2 [I]": f"lancement vague 2 : médico-social, un an après wave2 ({ASSUMED})",
    "wave 2 launch: médico-social, as in wave2 [I]": f"lancement vague 2 : médico-social, comme dans wave2 ({ASSUMED})",
    "wave 2 launch: nurses [I] (LGC paramédicaux dispositif: first deployments aimed at 2024, seed 003; not published by the 12th COSUI, 2025-04-02 [V]; taken as published 2025-11-05, first deployments six months later)":
        f"lancement vague 2 : infirmiers ({ASSUMED} ; dispositif LGC paramédicaux : premiers déploiements visés en 2024, document "
        f"source 003 ; pas encore publié au 12e comité de suivi du 2 avril 2025, {CHECKED} ; supposé publié le 5 novembre 2025, "
        "premiers déploiements six mois plus tard)",
    "wave 2 launch: nurses first (Ségur infirmier aimed at 2024, seed 003) [V] for the aim, [I] for the date":
        f"lancement vague 2 : infirmiers en premier (Ségur infirmier visé en 2024, document source 003) ; l'objectif : {CHECKED} ; "
        f"la date : {ASSUMED}",
    "wave 2 launch: nurses, a year after wave2 [I]": f"lancement vague 2 : infirmiers, un an après wave2 ({ASSUMED})",
    "wave 2 launch: physiotherapists / paramedics [I] (LGC paramédicaux dispositif expected Q1 2024, domain §1; not published by the 12th COSUI, 2025-04-02 [V]; taken as published 2025-11-05, first deployments six months later)":
        f"lancement vague 2 : kinésithérapeutes et paramédicaux ({ASSUMED} ; dispositif LGC paramédicaux attendu au 1er trimestre "
        f"2024, faits du domaine, section 1 ; pas encore publié au 12e comité de suivi du 2 avril 2025, {CHECKED} ; supposé publié "
        "le 5 novembre 2025, premiers déploiements six mois plus tard)",
    "wave 2 launch: physiotherapists / paramedics, a year after wave2 [I]":
        f"lancement vague 2 : kinésithérapeutes et paramédicaux, un an après wave2 ({ASSUMED})",
    "wave 2 launch: physiotherapists / paramedics, as in wave2 [I]":
        f"lancement vague 2 : kinésithérapeutes et paramédicaux, comme dans wave2 ({ASSUMED})",
    "≈ 2,000 equipped / 2,962 establishments / 0.985 installed of ordered (domain §8, observed) [V] → 0.69 ordered by Sept 2023; a few later [I]":
        "≈ 2 000 équipés ÷ 2 962 établissements ÷ 0,985 installés parmi les commandes (faits du domaine, section 8, chiffres observés ; "
        f"{CHECKED}) → 0,69 ont commandé en septembre 2023 ; quelques-uns plus tard ({ASSUMED})",
    "≈ 52,500 equipped / 56,500 / 0.994 (seed 001, observed) [V] → 0.935 ordered by Sept 2023 [I]":
        f"≈ 52 500 équipés ÷ 56 500 ÷ 0,994 (document source 001, chiffres observés ; {CHECKED}) → 0,935 ont commandé en "
        f"septembre 2023 ({ASSUMED})",
}

_SHORTHAND = [
    (re.compile(r"\[V\]"), f"({CHECKED})"),
    (re.compile(r"\[I\]"), f"({ASSUMED})"),
    (re.compile(r"domain §(\d+)"), r"faits du domaine, section \1"),
    (re.compile(r"\bS(\d+)\b"), r"source \1"),
    (re.compile(r"\bseed (\d{3})\b"), r"document source \1"),
    (re.compile(r"posterior median"), "médiane a posteriori"),
    (re.compile(r"\bobserved\b"), "chiffres observés"),
]


def spell_out(text: str) -> str:
    """The scenario files' shorthand spelled out in French (``[I]``, ``domain §3``, ``S25``…)."""
    for pattern, repl in _SHORTHAND:
        text = pattern.sub(repl, text)
    return text


_SHORTHAND_EN = [
    (re.compile(r"\[V\]"), "(checked in the cited source)"),
    (re.compile(r"\[I\]"), "(modelling assumption)"),
    (re.compile(r"domain §(\d+)"), r"domain facts, section \1"),
    (re.compile(r"\bS(\d+)\b"), r"source \1"),
    (re.compile(r"\bseed (\d{3})\b"), r"source document \1"),
]


def spell_out_en(text: str) -> str:
    """The same shorthand spelled out in English, for the English page."""
    for pattern, repl in _SHORTHAND_EN:
        text = pattern.sub(repl, text)
    return text


# The note `python -m simulator.studies.representative --write` appends to a fitted value's comment.
_DRAW_NOTE = re.compile(r"\s*·\s*representative posterior draw (\d+) of (\S+).*$")


def source(text: str) -> tuple[str, bool]:
    """A lever's source in French, and whether it is wholly French (False: shorthand spelled
    out, English detail kept)."""
    if not text:
        return "", True
    note = _DRAW_NOTE.search(text)
    if note:  # the source, then which posterior draw the value is
        french, whole = source(text[:note.start()])
        return f"{french} · tirage représentatif n° {note.group(1)} de {note.group(2)} (docs/calibration.md)", whole
    if text in SOURCES:
        return SOURCES[text], True
    return spell_out(text), False


def description(name: str, english: str) -> str:
    """A library scenario's question in French (its file's English one when not translated yet)."""
    return DESCRIPTIONS.get(name, english)


__all__ = ["DESCRIPTIONS", "SOURCES", "description", "source", "spell_out", "spell_out_en"]
