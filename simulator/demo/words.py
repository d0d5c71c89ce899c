"""The demo narration's words in French (the default: the class is French) and English.

Each entry is a format string filled by ``simulator.demo.teaching.Teller``; the file paths
(``ouvrir : …`` / ``open: …``) and the validator's verdict (``segur validate : …``) keep the same
shape in both languages so that a reader (or a test) can follow them.
"""

from __future__ import annotations

import datetime as dt

from simulator.engine.rule_labels import RULES as RULE_LABELS

LANGS = ("fr", "en")

WEEKDAYS = {
    "fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
MONTHS = {
    "fr": ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
           "novembre", "décembre"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"),
}

STATUS_EXPLAINED = {
    "fr": {
        "PROV": "provisoire : ni récupérée par le téléservice INSi, ni vérifiée sur une pièce d'identité",
        "VALI": "validée sur une pièce d'identité, mais jamais récupérée par l'INSi",
        "RECUP": "récupérée par l'INSi, mais jamais vérifiée sur une pièce d'identité",
        "QUAL": "qualifiée",
    },
    "en": {
        "PROV": "provisional: not retrieved through INSi, not checked against an ID document",
        "VALI": "validated against an ID document, but never retrieved through INSi",
        "RECUP": "retrieved through INSi, but never checked against an ID document",
        "QUAL": "qualified",
    },
}

SERVICE_REASONS = {
    "fr": {
        "software_not_installed": "l'expéditeur utilise encore un logiciel pré-Ségur, que le DMP refuse ici par "
                                  "hypothèse de modélisation (aucune source n'établit ce refus)",
        "no_profile": "le patient n'a pas encore de profil Mon espace santé",
        "profile_opposed": "le patient s'est opposé à la création de son profil Mon espace santé",
        "profile_closed": "le patient a clôturé son profil Mon espace santé",
    },
    "en": {
        "software_not_installed": "the sender still runs pre-Ségur software, which the DMP refuses here as a modelling "
                                  "assumption (no source states this refusal)",
        "no_profile": "the patient has no Mon espace santé profile yet",
        "profile_opposed": "the patient opposed the creation of a Mon espace santé profile",
        "profile_closed": "the patient closed their Mon espace santé profile",
    },
}

RULES = RULE_LABELS  # the rules' labels (simulator/engine/rule_labels.py: the page reads the same table)

STORIES = {
    "fr": {
        "prescription_rx": "une consultation de médecine générale, son e-prescription et la dispensation en officine",
        "prescription": "une consultation de médecine générale et sa prescription",
        "lab": "un compte rendu de biologie envoyé au médecin par MSSanté et au DMP",
        "discharge": "une lettre de liaison de sortie d'hospitalisation",
        "rejection": "un document refusé parce que l'identité n'était pas qualifiée",
    },
    "en": {
        "prescription_rx": "a GP consultation, its e-prescription and the pharmacy's dispensation",
        "prescription": "a GP consultation and its prescription",
        "lab": "a lab report to the GP over MSSanté and to the DMP",
        "discharge": "a hospital discharge letter",
        "rejection": "a document refused because the identity was not qualified",
    },
}

TEXT = {
    "fr": {
        "title": "segur demo — {terr}, {n} patients, du {first} au {last} (scénario {scenario}, graine {seed})",
        "rules": "Règles en vigueur dès le premier jour : {rules}.",
        "rule_established": "{name} ({rule}, établie par les sources)",
        "rule_assumed": "{name} ({rule}, hypothèse de modélisation : aucune source ne l'établit)",
        "files": "Chaque document est un fichier sous {root}/ : dmp/ (lots FHIR ITI-65), mssante/ (messages MSSanté), "
                 "network/ (le graphe des flux).",
        "following": "On suit :",
        "person": "  {name} ({sex}, né·e en {year}) : {title}",
        "day": "── Jour {n} · {when} ──",
        "summary": "  DMP : {docs} documents envoyés — {acc} acceptés{rej} · MSSanté : {msgs} messages envoyés "
                   "({delivered} distribués) · e-prescriptions : {reg} enregistrées, {disp} délivrées",
        "rejected_part": ", {n} refusés ({reasons})",
        "validate_ok": "segur validate : aucune erreur",
        "validate_errors": "segur validate : {errors}",
        "open": "ouvrir : {path}",
        "sends": "  [{who}] {facility} ({author}) envoie « {label} » ({code}) au DMP",
        "accepted": "{head} : accepté, désormais dans le Mon espace santé de {who}. {clause}. {where}",
        "not_sent": "  [{who}] {facility} ({author}) consulte le Mon espace santé de {who} avant d'envoyer « {label} » "
                    "({code}) : aucun profil ouvert (absent, opposé ou clôturé), le logiciel ne l'envoie donc pas. {where}",
        "rejected_identity": "{head} : REFUSÉ — identity_not_qualified : l'identité est {status} ({why}) ; seule une "
                             "identité QUAL peut alimenter le DMP. {clause}. {where}",
        "rejected_service": "{head} : REFUSÉ — {reason} : {why} ; le contenu du document n'est pas en cause. {clause}. {where}",
        "rejected_other": "{head} : {outcome} {reason}. {clause}. {where}",
        "outcome_rejected": "REFUSÉ",
        "outcome_dropped": "ABANDONNÉ",
        "msg_delivered": "distribué",
        "msg_bounced": "REJETÉ PAR LA MESSAGERIE",
        "msg_in_transit": "encore en transit à la fin",
        "mss_ok": "règles MSSanté : aucune erreur",
        "mss_errors": "règles MSSanté : {errors}",
        "from_patient": "  [{who}] MSSanté depuis la messagerie Mon espace santé de {who} (une réponse) → {facility} "
                        "({recipient}) : « {label} », {state} ; {clause}. {where}",
        "to_patient": "la messagerie Mon espace santé de {who} ({recipient})",
        "message": "  [{who}] MSSanté via {operator} : {facility} ({address}) → {to} : « {label} », {state} ; {clause}. {where}",
        "same_document": " — le même document que dans le DMP ({clause} : {path})",
        "rx_copy": " Sa copie dans le DMP ({clause}) : ouvrir : {path}",
        "rx_by": "{author} enregistre",
        "rx_by_anyone": "Le prescripteur enregistre",
        "rx_registered": "  [{who}] {by} l'e-prescription n° {number} dans la base nationale (un QR code à usage unique sur "
                         "l'exemplaire du patient).{copy}",
        "a_pharmacy": "Une officine",
        "rx_dispensed": "  [{who}] {pharmacy} scanne le QR code de l'e-prescription n° {number} et délivre : la base "
                        "l'accepte et la marque consommée (un second scan serait refusé).{copy}",
        "rx_dispensed_copy": " La prescription délivrée ({clause}) : ouvrir : {path}",
        "end": "── Fin de la simulation ──",
        "end_files": "{docs} envois au DMP rendus en lots FHIR ITI-65 dans {root}/dmp/, {msgs} messages MSSanté dans "
                     "{root}/mssante/, {rx} e-prescriptions enregistrées.",
        "end_rules": "Les règles de conformité donnent le verdict du DMP simulé pour {agree} documents sur {docs} "
                     "(les autres seraient un défaut du simulateur).",
        "end_graph": "Graphe des flux : {nodes} nœuds, {edges} arêtes dans {root}/network/ (network.graphml, network.json, "
                     "network.png, top_flows.csv, critical_nodes.csv) ; tables de résultats dans {root}/results/.",
        "end_validate": "Vérifiez vous-même un lot avec segur validate FICHIER (un lot sous {root}/dmp/).",
        "prompt": "(Entrée : jour suivant) ",
        "female": "F",
        "male": "H",
    },
    "en": {
        "title": "segur demo — {terr}, {n} patients, {first} to {last} (scenario {scenario}, seed {seed})",
        "rules": "Rules in force from the first day: {rules}.",
        "rule_established": "{rule} ({name}, established by the sources)",
        "rule_assumed": "{rule} ({name}, a modelling assumption: no source states it)",
        "files": "Every document is a file under {root}/: dmp/ (FHIR ITI-65 bundles), mssante/ (MSSanté messages), "
                 "network/ (the flow graph).",
        "following": "Following:",
        "person": "  {name} ({sex}, born {year}): {title}",
        "day": "── Day {n} · {when} ──",
        "summary": "  DMP: {docs} documents sent — {acc} accepted{rej} · MSSanté: {msgs} messages sent "
                   "({delivered} delivered) · e-prescriptions: {reg} registered, {disp} dispensed",
        "rejected_part": ", {n} rejected ({reasons})",
        "validate_ok": "segur validate: no error",
        "validate_errors": "segur validate: {errors}",
        "open": "open: {path}",
        "sends": "  [{who}] {facility} ({author}) sends « {label} » ({code}) to the DMP",
        "accepted": "{head}: accepted, now in {who}'s Mon espace santé. {clause}. {where}",
        "not_sent": "  [{who}] {facility} ({author}) checks {who}'s Mon espace santé before sending « {label} » ({code}): "
                    "no open profile (none, opposed or closed), so the software does not send it. {where}",
        "rejected_identity": "{head}: REJECTED — identity_not_qualified: the identity is {status} ({why}); only QUAL may "
                             "feed the DMP. {clause}. {where}",
        "rejected_service": "{head}: REJECTED — {reason}: {why}; the payload itself is not at fault. {clause}. {where}",
        "rejected_other": "{head}: {outcome} {reason}. {clause}. {where}",
        "outcome_rejected": "REJECTED",
        "outcome_dropped": "DROPPED",
        "msg_delivered": "delivered",
        "msg_bounced": "BOUNCED",
        "msg_in_transit": "still in transit at the end",
        "mss_ok": "MSSanté rules: no error",
        "mss_errors": "MSSanté rules: {errors}",
        "from_patient": "  [{who}] MSSanté from {who}'s Mon espace santé mailbox (a reply) → {facility} ({recipient}): "
                        "« {label} », {state}; {clause}. {where}",
        "to_patient": "{who}'s Mon espace santé mailbox ({recipient})",
        "message": "  [{who}] MSSanté via {operator}: {facility} ({address}) → {to}: « {label} », {state}; {clause}. {where}",
        "same_document": " — the same document as in the DMP ({clause}: {path})",
        "rx_copy": " Its copy in the DMP ({clause}): open: {path}",
        "rx_by": "{author} registers",
        "rx_by_anyone": "The prescriber registers",
        "rx_registered": "  [{who}] {by} e-prescription n° {number} in the national base (a single-use QR code on the "
                         "patient's copy).{copy}",
        "a_pharmacy": "A pharmacy",
        "rx_dispensed": "  [{who}] {pharmacy} scans the QR code of e-prescription n° {number} and dispenses: the base "
                        "accepts and marks it consumed (a second scan would be refused).{copy}",
        "rx_dispensed_copy": " The prescription dispensed ({clause}): open: {path}",
        "end": "── End of the run ──",
        "end_files": "{docs} DMP submissions rendered as FHIR ITI-65 bundles in {root}/dmp/, {msgs} MSSanté messages in "
                     "{root}/mssante/, {rx} e-prescriptions registered.",
        "end_rules": "The conformance rules give the simulated DMP's verdict for {agree} of {docs} documents (the rest "
                     "would be a bug).",
        "end_graph": "Flow graph: {nodes} nodes, {edges} edges in {root}/network/ (network.graphml, network.json, "
                     "network.png, top_flows.csv, critical_nodes.csv); results tables in {root}/results/.",
        "end_validate": "Check any bundle yourself with segur validate FILE (a bundle under {root}/dmp/).",
        "prompt": "(Enter: next day) ",
        "female": "F",
        "male": "M",
    },
}


def say(key: str, lang: str, **fmt: object) -> str:
    """One narration phrase in ``lang`` (``fr`` or ``en``), filled in."""
    return TEXT[lang][key].format(**fmt)


def number(n: int, lang: str) -> str:
    """A count with the language's thousands separator (``3 000`` / ``3,000``)."""
    return f"{n:,}".replace(",", "\u202f") if lang == "fr" else f"{n:,}"


def long_date(date: dt.date, lang: str, weekday: bool = False) -> str:
    """``lundi 6 janvier 2025`` / ``Monday 6 January 2025`` (``1er`` on the first of a month in French)."""
    d = "1er" if lang == "fr" and date.day == 1 else str(date.day)
    s = f"{d} {MONTHS[lang][date.month - 1]} {date.year}"
    return f"{WEEKDAYS[lang][date.weekday()]} {s}" if weekday else s
