"""The page's words in French (default) and English; sector, reason and profile names come
from the report's own tables (``reports.i18n``) so that the page and the report agree."""

from __future__ import annotations

from typing import Any

from reports import i18n as rep

LANGS = rep.LANGS

UNITS = {
    "fr": {"factor": "facteur (×)", "share": "part (0–1)", "date": "date", "days": "jours"},
    "en": {"factor": "factor (×)", "share": "share (0–1)", "date": "date", "days": "days"},
}

LEVERS = {
    "fr": {
        "uptake": "Vitesse d'adoption — {s}",
        "intensity": "Intensité d'alimentation (plafond moyen) — {s}",
        "funding": "Équipement financé (part qui installe la mise à jour Ségur) — {s}",
        "qualification": "Qualification des identités (part finale des structures qui qualifient) — {s}",
        "rule": "Date d'obligation : {r}",
        "launch": "Lancement vague 2 — {s}",
        "outage_date": "Panne du DMP : premier jour",
        "outage_days": "Panne du DMP : durée (0 = aucune)",
    },
    "en": {
        "uptake": "Uptake speed — {s}",
        "intensity": "Feeding intensity (mean ceiling) — {s}",
        "funding": "Funded equipment (share installing the Ségur update) — {s}",
        "qualification": "Identity qualification (final share of facilities that qualify) — {s}",
        "rule": "Mandate date: {r}",
        "launch": "Wave 2 launch — {s}",
        "outage_date": "DMP outage: first day",
        "outage_days": "DMP outage: length (0 = none)",
    },
}

RULES = {
    "fr": {"require_qualified_identity": "INS qualifiée exigée pour alimenter le DMP",
           "reject_legacy_software": "logiciels pré-Ségur refusés par le DMP",
           "eprescription_mandatory": "e-prescription obligatoire"},
    "en": {"require_qualified_identity": "qualified INS required to feed the DMP",
           "reject_legacy_software": "pre-Ségur software refused by the DMP",
           "eprescription_mandatory": "e-prescription mandatory"},
}

# Refusals in plain words, for the teaching view (what a student should understand).
PLAIN_REASONS = {
    "fr": {
        "identity_not_qualified": "l'identité du patient n'est pas qualifiée (INS non vérifiée par le téléservice INSi et une pièce d'identité) : seule une identité QUAL peut alimenter le DMP",
        "software_not_installed": "l'expéditeur utilise encore un logiciel pré-Ségur, que le DMP n'accepte plus",
        "no_profile": "le patient n'a pas encore de profil Mon espace santé",
        "profile_opposed": "le patient s'est opposé à la création de son Mon espace santé",
        "profile_closed": "le patient a clôturé son Mon espace santé",
        "ins_missing": "le document ne porte pas d'INS",
        "bad_ins": "l'INS est invalide (clé ou OID)",
        "invalid_metadata": "les métadonnées du document sont invalides",
        "outage_wait_exceeded": "le DMP était indisponible trop longtemps : l'envoi a été abandonné",
    },
    "en": {
        "identity_not_qualified": "the patient's identity is not qualified (INS not checked through the INSi service and an ID document): only a QUAL identity may feed the DMP",
        "software_not_installed": "the sender still runs pre-Ségur software, which the DMP no longer accepts",
        "no_profile": "the patient has no Mon espace santé profile yet",
        "profile_opposed": "the patient opposed the creation of their Mon espace santé",
        "profile_closed": "the patient closed their Mon espace santé",
        "ins_missing": "the document carries no INS",
        "bad_ins": "the INS is invalid (key or OID)",
        "invalid_metadata": "the document's metadata are invalid",
        "outage_wait_exceeded": "the DMP was down too long: the submission was dropped",
    },
}

TEXT = {
    "fr": {
        "title": "Ségur du numérique en santé — banc d'essai",
        "planner": "Planification",
        "teaching": "Enseignement",
        "lang_switch": "English",
        "scenario": "Scénario",
        "seed": "Graine",
        "scale": "Échelle",
        "replications": "Réplications (bandes p5–p95 si > 1)",
        "run": "Lancer la simulation",
        "reset": "Valeurs du scénario",
        "pin": "Épingler ce résultat pour comparer",
        "unpin": "Retirer l'épingle",
        "pinned": "Épinglé",
        "current": "Résultat courant",
        "queued": "En file d'attente : position {pos}",
        "running": "Simulation en cours : {pct} %",
        "done": "Terminé",
        "cached": "Résultat déjà calculé (cache)",
        "failed": "Échec : {error}",
        "cancelled": "Annulé",
        "levers": "Leviers",
        "source": "source",
        "unit": "unité",
        "targets": "Objectifs : mois d'atteinte",
        "downloads": "Téléchargements",
        "zip": "Dossier de résultats (zip)",
        "report": "Rapport HTML",
        "files_pending": "fichiers en cours d'écriture…",
        "group_rules": "Obligations et lancements",
        "group_services": "Services",
        "row": "Ligne",
        "target": "Objectif (docs/an)",
        "achieved": "Simulé (12 derniers mois, à {at})",
        "share": "% de l'objectif",
        "reached": "Atteint en",
        "not_reached": "non atteint",
        "assumption": "hypothèse",
        "form_error": "Certaines valeurs sont hors des bornes : voir les messages à côté des champs.",
        "err_ge": "doit être au moins {bound} (reçu {got})",
        "err_le": "doit être au plus {bound} (reçu {got})",
        "err_gt": "doit être supérieur à {bound} (reçu {got})",
        "err_lt": "doit être inférieur à {bound} (reçu {got})",
        "err_date": "doit être une date AAAA-MM-JJ dans la période du scénario (reçu {got})",
        "err_number": "doit être un nombre (reçu {got})",
        "err_unknown": "champ inconnu",
        "no_run": "Choisissez un scénario, réglez les leviers et lancez une simulation.",
        "bands_none": "Une seule réplication : pas de bande d'incertitude (mettez plus d'une réplication).",
        "play": "Lecture",
        "pause": "Pause",
        "step": "Jour suivant",
        "back": "Jour précédent",
        "day": "Jour {n} sur {total}",
        "loading_world": "Construction du territoire de démonstration…",
        "actors": "Acteurs",
        "events": "Documents du jour",
        "sent_dmp": "→ DMP",
        "sent_mss": "→ MSSanté",
        "out_accepted": "accepté",
        "out_rejected": "refusé",
        "out_dropped": "abandonné",
        "out_queued": "en attente",
        "out_delivered": "distribué",
        "out_bounced": "rejeté par la messagerie",
        "out_in_transit": "en transit",
        "patient_space": "Mon espace santé de {name}",
        "professional": "{name}",
        "sent": "Envoyés",
        "received": "Reçus",
        "fhir": "Voir le FHIR (JSON)",
        "hide_fhir": "Masquer le FHIR",
        "type": "Type",
        "author": "Auteur",
        "date": "Date",
        "content": "Contenu",
        "close": "Fermer",
        "timeline_empty": "Aucun document visible dans Mon espace santé à ce jour.",
        "why": "pourquoi",
        "summary_day": "{docs} documents envoyés au DMP ({acc} acceptés, {rej} refusés) · {msgs} messages MSSanté",
        "patient": "Patient",
        "progress": "Avancement de la simulation",
        "compare": "Comparaison",
        "rejections": "Refus et abandons du DMP par motif, sur toute la période (documents nationaux)",
        "reason": "Motif",
        "documents": "Documents",
    },
    "en": {
        "title": "Ségur du numérique en santé — test-bed",
        "planner": "Planner",
        "teaching": "Teaching",
        "lang_switch": "Français",
        "scenario": "Scenario",
        "seed": "Seed",
        "scale": "Scale",
        "replications": "Replications (p5–p95 bands when > 1)",
        "run": "Run the simulation",
        "reset": "Scenario values",
        "pin": "Pin this result to compare",
        "unpin": "Unpin",
        "pinned": "Pinned",
        "current": "Current result",
        "queued": "Queued: position {pos}",
        "running": "Simulating: {pct}%",
        "done": "Done",
        "cached": "Already computed (cache)",
        "failed": "Failed: {error}",
        "cancelled": "Cancelled",
        "levers": "Levers",
        "source": "source",
        "unit": "unit",
        "targets": "Targets: month reached",
        "downloads": "Downloads",
        "zip": "Results folder (zip)",
        "report": "HTML report",
        "files_pending": "files being written…",
        "group_rules": "Mandates and launches",
        "group_services": "Services",
        "row": "Row",
        "target": "Target (docs/year)",
        "achieved": "Simulated (last 12 months, to {at})",
        "share": "% of target",
        "reached": "Reached in",
        "not_reached": "not reached",
        "assumption": "assumption",
        "form_error": "Some values are out of bounds: see the messages next to the fields.",
        "err_ge": "must be at least {bound} (got {got})",
        "err_le": "must be at most {bound} (got {got})",
        "err_gt": "must be greater than {bound} (got {got})",
        "err_lt": "must be less than {bound} (got {got})",
        "err_date": "must be a date YYYY-MM-DD within the scenario's run (got {got})",
        "err_number": "must be a number (got {got})",
        "err_unknown": "unknown field",
        "no_run": "Pick a scenario, set the levers and run a simulation.",
        "bands_none": "One replication: no uncertainty band (ask for more than one replication).",
        "play": "Play",
        "pause": "Pause",
        "step": "Next day",
        "back": "Previous day",
        "day": "Day {n} of {total}",
        "loading_world": "Building the demo territory…",
        "actors": "Actors",
        "events": "Documents of the day",
        "sent_dmp": "→ DMP",
        "sent_mss": "→ MSSanté",
        "out_accepted": "accepted",
        "out_rejected": "refused",
        "out_dropped": "dropped",
        "out_queued": "waiting",
        "out_delivered": "delivered",
        "out_bounced": "bounced",
        "out_in_transit": "in transit",
        "patient_space": "{name}'s Mon espace santé",
        "professional": "{name}",
        "sent": "Sent",
        "received": "Received",
        "fhir": "Show the FHIR (JSON)",
        "hide_fhir": "Hide the FHIR",
        "type": "Type",
        "author": "Author",
        "date": "Date",
        "content": "Content",
        "close": "Close",
        "timeline_empty": "No document visible in Mon espace santé yet.",
        "why": "why",
        "summary_day": "{docs} documents sent to the DMP ({acc} accepted, {rej} refused) · {msgs} MSSanté messages",
        "patient": "Patient",
        "progress": "Simulation progress",
        "compare": "Comparison",
        "rejections": "DMP refusals and drops by reason, over the whole run (national documents)",
        "reason": "Reason",
        "documents": "Documents",
    },
}


def check_lang(lang: str) -> str:
    """``fr`` or ``en``; anything else falls back to French (the page's default)."""
    return lang if lang in LANGS else "fr"


def text(key: str, lang: str, **fmt: Any) -> str:
    s = TEXT[check_lang(lang)].get(key, key)
    return s.format(**fmt) if fmt else s


def unit(u: str, lang: str) -> str:
    return UNITS[check_lang(lang)].get(u, u)


def lever_label(kind: str, arg: str) -> dict[str, str]:
    """A lever's label in both languages (``arg``: a sector or a rule)."""
    out = {}
    for lang in LANGS:
        s = rep.sector_label(arg, lang) if arg else ""
        r = RULES[lang].get(arg, arg)
        out[lang] = LEVERS[lang][kind].format(s=s, r=r)
    return out


def plain_reason(reason: str, lang: str) -> str:
    return PLAIN_REASONS[check_lang(lang)].get(reason, rep.reason_label(reason, check_lang(lang)))


def all_text(lang: str) -> dict[str, str]:
    """Every word of the page in one language (handed to the script)."""
    return dict(TEXT[check_lang(lang)])
