"""Every label the report shows, in French (the programme's own terms, the default) and English.

One table per kind of label; an unknown key falls back to the key itself, so a new sector or
reason from a later scenario still shows up (untranslated) instead of breaking the report.
"""

from __future__ import annotations

import math
from typing import Any

from simulator.core.errors import UsageError

LANGS = ("fr", "en")

SECTORS: dict[str, dict[str, str]] = {
    "fr": {
        "hospital": "Hôpital",
        "gp": "Médecins de ville",
        "biology": "Biologie médicale",
        "radiology": "Radiologie",
        "pharmacy": "Officines",
        "nurse": "Infirmiers",
        "midwife": "Sages-femmes",
        "dentist": "Chirurgiens-dentistes",
        "physio": "Masseurs-kinésithérapeutes",
        "medico_social": "Médico-social",
    },
    "en": {
        "hospital": "Hospitals",
        "gp": "GPs (community doctors)",
        "biology": "Medical biology (labs)",
        "radiology": "Radiology",
        "pharmacy": "Pharmacies",
        "nurse": "Nurses",
        "midwife": "Midwives",
        "dentist": "Dentists",
        "physio": "Physiotherapists",
        "medico_social": "Medico-social",
    },
}

REASONS: dict[str, dict[str, str]] = {
    "fr": {
        "software_not_installed": "logiciel non mis à jour (pré-Ségur)",
        "ins_missing": "INS absente",
        "invalid_metadata": "métadonnées invalides",
        "bad_ins": "INS invalide (clé, OID)",
        "identity_not_qualified": "identité non qualifiée",
        "no_profile": "pas de profil Mon espace santé",
        "profile_opposed": "opposition du patient",
        "profile_closed": "profil clôturé",
        "outage_wait_exceeded": "abandonné après indisponibilité",
        "undeliverable": "non distribuable",
    },
    "en": {
        "software_not_installed": "software not updated (pre-Ségur)",
        "ins_missing": "no INS",
        "invalid_metadata": "invalid metadata",
        "bad_ins": "invalid INS (key, OID)",
        "identity_not_qualified": "identity not qualified",
        "no_profile": "no Mon espace santé profile",
        "profile_opposed": "patient opposed",
        "profile_closed": "profile closed",
        "outage_wait_exceeded": "dropped after an outage",
        "undeliverable": "undeliverable",
    },
}

PROFILE_STATES: dict[str, dict[str, str]] = {
    "fr": {
        "open_all": "ouverts (y compris activés)",
        "open": "ouverts, non activés",
        "activated": "activés",
        "opposed": "opposés",
        "closed": "clôturés",
        "not_created": "pas encore créés",
    },
    "en": {
        "open_all": "open (activated included)",
        "open": "open, not activated",
        "activated": "activated",
        "opposed": "opposed",
        "closed": "closed",
        "not_created": "not yet created",
    },
}

ROUTES: dict[str, dict[str, str]] = {
    "fr": {"mssante_pro": "professionnel → professionnel", "mssante_patient": "professionnel → patient",
           "mssante_from_patient": "patient → professionnel"},
    "en": {"mssante_pro": "professional → professional", "mssante_patient": "professional → patient",
           "mssante_from_patient": "patient → professional"},
}

TEXT: dict[str, dict[str, str]] = {
    "fr": {
        "report_title": "Ségur du numérique en santé — rapport de simulation",
        "comparison_title": "Ségur du numérique en santé — comparaison de scénarios",
        "scenario": "Scénario",
        "scenarios": "Scénarios",
        "seed": "graine",
        "scale": "échelle",
        "version": "version",
        "period": "période",
        "scale_note": "Chiffres nationaux estimés : un agent simulé représente {n} agents réels (échelle {scale}).",
        "targets_heading": "Où en est chaque secteur face à son objectif",
        "targets_intro": "Documents acceptés par le DMP / Mon espace santé. « Simulé » : total des 12 mois jusqu'à {at} inclus ; « % de l'objectif » : ce total ÷ l'objectif annuel ; « objectif atteint en » : premier mois où le total des 12 derniers mois atteint l'objectif ; « publié » : rythme annualisé publié par le programme ; colonnes par année : documents de l'année civile. Sous chaque secteur, son document clé.",
        "answer_heading": "Réponse : où la projection arrive face à chaque objectif",
        "answer_intro": "Documents acceptés par le DMP (Mon espace santé) sur les 12 mois qui finissent en {end}, dernier mois de la projection. Un objectif de N documents par an est atteint le premier mois où le total des 12 derniers mois atteint N ; « % de l'objectif » = ce total ÷ N.",
        "target_col": "Objectif de",
        "total_12_at": "12 mois jusqu'à {at}",
        "with_mssante": "en ajoutant les messages MSSanté distribués (lecture DMP + MSSanté, celle du programme pour la vague 1)",
        "not_reached_by": "non atteint fin {year}",
        "question": "Question du scénario (texte du fichier) :",
        "interventions_heading": "Interventions du scénario",
        "interventions_intro": "Numérotées comme sur les figures (lignes verticales pointillées).",
        "intervention": "intervention",
        "kind_rule": "règle",
        "kind_outage": "panne",
        "kind_parameter": "paramètre modifié",
        "kind_campaign": "campagne",
        "kind_vendor_failure": "panne d'un éditeur",
        "kind_new_document_type": "nouveau type de document",
        "kind_target": "objectif modifié",
        "kind_launch": "lancement",
        "days": "pendant {n} jours",
        "trailing_12": "total des 12 derniers mois",
        "figures_heading": "Figures",
        "sector": "Secteur",
        "target": "Objectif (docs/an)",
        "observed_at": "Publié {at} (rythme annualisé)",
        "achieved_at": "Simulé, 12 mois jusqu'à {at}",
        "share_of_target": "% de l'objectif",
        "year_col": "{year}",
        "reached": "Objectif atteint en",
        "key_document": "Document clé",
        "not_reached": "non atteint",
        "no_target": "pas d'objectif propre",
        "assumption": "hypothèse",
        "assumption_note": "Les objectifs marqués « hypothèse » sont des hypothèses de modélisation, pas des objectifs publiés.",
        "all_sectors": "Tous secteurs",
        "target_label": "objectif",
        "target_monthly": "objectif {name} ÷ 12",
        "observed": "observé (programme)",
        "observed_lower": "observé, borne basse",
        "simulated": "simulé",
        "simulated_representative": "simulé (réplication représentative)",
        "band": "p5–p95 des réplications",
        "median": "médiane des réplications",
        "month": "mois",
        "documents_per_month": "documents / mois",
        "documents_per_year": "documents / an (mois × 12)",
        "annualised_axis": "rythme annualisé (docs/an)",
        "persons": "personnes",
        "messages_per_month": "messages / mois",
        "share_of_gps": "part des médecins équipés",
        "fig_monthly_title": "Documents alimentant Mon espace santé, par mois et par secteur",
        "fig_monthly_caption": "Documents acceptés par le DMP chaque mois, empilés par secteur ; la ligne pointillée est l'objectif annuel ramené au mois (axe de droite : rythme annualisé).",
        "fig_annualised_title": "Rythme annualisé face à l'objectif, par secteur",
        "fig_annualised_caption": "Documents acceptés par le DMP dans le mois × 12 (trait plein) et total des 12 derniers mois (tirets longs : l'objectif est atteint quand il franchit la ligne d'objectif), face à l'objectif annuel du secteur ; points : chiffres publiés 2021–2023 (triangles : bornes basses) ; lignes verticales pointillées : interventions.",
        "fig_gp_title": "Activité des médecins de ville équipés",
        "fig_gp_caption": "Part des médecins équipés du logiciel Ségur ayant envoyé au moins N documents au DMP dans le mois.",
        "fig_gp_legend": "≥ {n}",
        "fig_gp_legend_title": "documents acceptés par le DMP dans le mois :",
        "fig_rejections_title": "Rejets et abandons du DMP, par motif",
        "fig_rejections_caption": "Documents refusés par le DMP (ou abandonnés après une indisponibilité), par motif et par mois.",
        "fig_profiles_title": "Profils Mon espace santé",
        "fig_profiles_caption": "Profils Mon espace santé par état, en fin de mois ; points : chiffres publiés.",
        "fig_mssante_title": "Messages MSSanté par circuit",
        "fig_mssante_caption": "Messages envoyés par messagerie sécurisée de santé chaque mois, par circuit ; point : chiffre publié (borne basse).",
        "fig_compare_title": "Rythme annualisé par scénario face à l'objectif",
        "fig_compare_caption": "Documents acceptés par le DMP dans le mois × 12, une courbe par scénario (style de trait et couleur propres à chacun).",
        "alt_monthly": "Histogramme empilé des documents acceptés par mois, {start} à {end}, par secteur ({sectors}). En {at} : {total} documents dans le mois, soit {rate} par an, pour un objectif de {target} par an.",
        "alt_annualised": "Courbes du rythme annualisé par secteur, {start} à {end}, face aux objectifs. En {at} : {items}.",
        "alt_gp": "Courbes de la part des médecins équipés au-dessus de N documents par mois, {start} à {end}. En {at} : {items}.",
        "alt_rejections": "Aires empilées des rejets du DMP par motif, {start} à {end}. Motifs principaux sur toute la période : {items}.",
        "alt_profiles": "Courbes des profils Mon espace santé par état, {start} à {end}. En {at} : {items}.",
        "alt_mssante": "Aires empilées des messages MSSanté par circuit, {start} à {end}. En {at} : {items}.",
        "alt_compare": "Courbes du rythme annualisé par secteur et par scénario ({scenarios}), face aux objectifs.",
        "alt_empty": "Figure vide : aucune donnée dans les résultats.",
        "no_data": "pas de données",
        "downloads": "Figures en PNG et SVG dans le dossier figures/ à côté de ce fichier.",
        "sources": "Sources des points observés : {sources}.",
        "generated": "Rapport produit par segur-testbed {version}.",
        "dmp_note": "Documents comptés : acceptés par le DMP (Mon espace santé).",
        "replications": "réplications",
        "ensemble_heading": "Réplications et origine des paramètres",
        "ensemble_intro": "Projection sur {n} réplications ({completed} terminées) : chaque cellule donne la médiane et, entre parenthèses, les percentiles 5 et 95 des réplications. Le mois où un objectif est atteint est lui aussi une distribution : une réplication qui ne l'atteint pas avant la fin de la projection compte comme plus tardive que tout mois.",
        "pband": "{p50} (p5 {p5} – p95 {p95})",
        "not_by": "non atteint fin {year}",
        "reached_share_col": "Réplications qui l'atteignent",
        "reached_share": "{share} des réplications",
        "representative_only": "réplication représentative",
        "targets_ensemble_note": "Ensemble : la colonne « objectif atteint en » et la part des réplications qui l'atteignent portent sur toutes les réplications ; les autres colonnes sont celles de la réplication représentative (la plus proche de la médiane des documents des 12 derniers mois), dont le dossier contient les tableaux complets.",
        "discrepancy_note": "Avec l'écart structurel du modèle ({file} : une marche aléatoire log-normale par secteur, estimée sur les écarts au réel jusqu'à la date des données), les documents DMP des 12 derniers mois valent {p50} [{p5} – {p95}] ; la variance de leur logarithme tient pour {model:.0%} aux paramètres et à l'aléa, pour {disc:.0%} à l'écart structurel. Les tableaux et figures de ce rapport sont ceux du modèle seul{targets}.",
        "discrepancy_targets": ", sauf les mois où les objectifs sont atteints et la part des réplications qui les atteignent, qui l'incluent (le modèle seul en dessous)",
        "model_alone": "modèle seul : {band}",
        "parts_split": "Part de la bande (variance du logarithme des documents DMP des 12 derniers mois) : paramètres {p}, aléa {s}, écart structurel {d}.",
        "parts_seeds": "Part de la bande (variance du logarithme des documents DMP des 12 derniers mois) : paramètres {p} (non variés : seules les graines changent), aléa {s}, écart structurel {d}.",
        "parts_together": "Part de la bande (variance du logarithme des documents DMP des 12 derniers mois) : paramètres et aléa ensemble {ps}, écart structurel {d} (chaque tirage n'a tourné qu'une fois : plus de réplications que de tirages les sépareraient).",
        "params_posterior": "Paramètres tirés du fichier a posteriori {file} ({draws} tirages, données jusqu'au {cutoff}) : la réplication i utilise le tirage i (modulo le nombre de tirages) avec sa propre graine ; les bandes portent l'incertitude des paramètres et l'aléa ensemble.",
        "params_method": "Méthode d'estimation (texte du fichier) :",
        "params_made": "Fichier produit le {date}, version du code {commit}.",
        "params_seeds": "Paramètres : les valeurs du scénario dans chaque réplication ; seules les graines aléatoires changent (les bandes ne portent que l'aléa, pas l'incertitude des paramètres).",
        "params_unknown": "Origine des paramètres non enregistrée dans ce dossier (écrit par une version antérieure).",
        "unknown": "inconnue",
    },
    "en": {
        "report_title": "Ségur du numérique en santé — simulation report",
        "comparison_title": "Ségur du numérique en santé — scenario comparison",
        "scenario": "Scenario",
        "scenarios": "Scenarios",
        "seed": "seed",
        "scale": "scale",
        "version": "version",
        "period": "period",
        "scale_note": "National estimates: one simulated agent stands for {n} real ones (scale {scale}).",
        "targets_heading": "Where each sector stands against its target",
        "targets_intro": "Documents accepted by the DMP / Mon espace santé. “Simulated”: total of the 12 months up to {at} included; “% of target”: that total ÷ the annual target; “target reached in”: first month whose last 12 months' total reaches the target; “published”: the programme's published annualised rate; year columns: documents in the calendar year. Under each sector, its key document.",
        "answer_heading": "Answer: where the projection ends against each target",
        "answer_intro": "Documents accepted by the DMP (Mon espace santé) over the 12 months ending {end}, the projection's last month. A target of N documents a year is reached in the first month whose trailing 12-month total reaches N; “% of target” = that total ÷ N.",
        "target_col": "Target for",
        "total_12_at": "12 months to {at}",
        "with_mssante": "adding MSSanté messages delivered (reading DMP + MSSanté, the programme's for wave 1)",
        "not_reached_by": "not reached by end {year}",
        "question": "Scenario question (the file's text):",
        "interventions_heading": "Scenario interventions",
        "interventions_intro": "Numbered as on the figures (dotted vertical lines).",
        "intervention": "intervention",
        "kind_rule": "rule",
        "kind_outage": "outage",
        "kind_parameter": "parameter changed",
        "kind_campaign": "campaign",
        "kind_launch": "launch",
        "kind_vendor_failure": "vendor failure",
        "kind_new_document_type": "new document type",
        "kind_target": "target changed",
        "days": "for {n} days",
        "trailing_12": "total of the last 12 months",
        "figures_heading": "Figures",
        "sector": "Sector",
        "target": "Target (docs/year)",
        "observed_at": "Published {at} (annualised rate)",
        "achieved_at": "Simulated, 12 months to {at}",
        "share_of_target": "% of target",
        "year_col": "{year}",
        "reached": "Target reached in",
        "key_document": "Key document",
        "not_reached": "not reached",
        "no_target": "no target of its own",
        "assumption": "assumption",
        "assumption_note": "Targets marked “assumption” are modelling assumptions, not published targets.",
        "all_sectors": "All sectors",
        "target_label": "target",
        "target_monthly": "target {name} ÷ 12",
        "observed": "observed (programme)",
        "observed_lower": "observed, lower bound",
        "simulated": "simulated",
        "simulated_representative": "simulated (representative replication)",
        "band": "p5–p95 of replications",
        "median": "median of replications",
        "month": "month",
        "documents_per_month": "documents / month",
        "documents_per_year": "documents / year (month × 12)",
        "annualised_axis": "annualised rate (docs/year)",
        "persons": "persons",
        "messages_per_month": "messages / month",
        "share_of_gps": "share of equipped GPs",
        "fig_monthly_title": "Documents fed to Mon espace santé, by month and sector",
        "fig_monthly_caption": "Documents accepted by the DMP each month, stacked by sector; the dashed line is the annual target per month (right axis: annualised rate).",
        "fig_annualised_title": "Annualised rate against target, by sector",
        "fig_annualised_caption": "Documents accepted by the DMP in the month × 12 (solid) and the total of the last 12 months (long dashes: the target is reached where it crosses the target line), against the sector's annual target; dots: published figures 2021–2023 (triangles: lower bounds); dotted vertical lines: interventions.",
        "fig_gp_title": "Activity of equipped GPs",
        "fig_gp_caption": "Share of GPs equipped with Ségur software who sent at least N documents to the DMP in the month.",
        "fig_gp_legend": "≥ {n}",
        "fig_gp_legend_title": "documents accepted by the DMP in the month:",
        "fig_rejections_title": "DMP rejections and drops, by reason",
        "fig_rejections_caption": "Documents refused by the DMP (or dropped after an outage), by reason and month.",
        "fig_profiles_title": "Mon espace santé profiles",
        "fig_profiles_caption": "Mon espace santé profiles by state at the end of each month; dots: published figures.",
        "fig_mssante_title": "MSSanté messages by route",
        "fig_mssante_caption": "Messages sent over the secure health messaging each month, by route; dot: published figure (lower bound).",
        "fig_compare_title": "Annualised rate by scenario against target",
        "fig_compare_caption": "Documents accepted by the DMP in the month × 12, one line per scenario (each with its own line style and colour).",
        "alt_monthly": "Stacked bar chart of documents accepted per month, {start} to {end}, by sector ({sectors}). In {at}: {total} documents in the month, i.e. {rate} a year, against a target of {target} a year.",
        "alt_annualised": "Line charts of the annualised rate by sector, {start} to {end}, against targets. In {at}: {items}.",
        "alt_gp": "Line chart of the share of equipped GPs above N documents a month, {start} to {end}. In {at}: {items}.",
        "alt_rejections": "Stacked areas of DMP rejections by reason, {start} to {end}. Main reasons over the whole run: {items}.",
        "alt_profiles": "Line chart of Mon espace santé profiles by state, {start} to {end}. In {at}: {items}.",
        "alt_mssante": "Stacked areas of MSSanté messages by route, {start} to {end}. In {at}: {items}.",
        "alt_compare": "Line charts of the annualised rate by sector and scenario ({scenarios}), against targets.",
        "alt_empty": "Empty figure: no data in the results.",
        "no_data": "no data",
        "downloads": "PNG and SVG figures are in the figures/ folder beside this file.",
        "sources": "Sources of the observed points: {sources}.",
        "generated": "Report produced by segur-testbed {version}.",
        "dmp_note": "Documents counted: accepted by the DMP (Mon espace santé).",
        "replications": "replications",
        "ensemble_heading": "Replications and where the parameters come from",
        "ensemble_intro": "Projection over {n} replications ({completed} completed): each cell gives the median and, in brackets, the 5th and 95th percentiles over the replications. The month a target is reached is a distribution too: a replication that does not reach it by the end of the projection counts as later than any month.",
        "pband": "{p50} (p5 {p5} – p95 {p95})",
        "not_by": "not by {year}",
        "reached_share_col": "Replications reaching it",
        "reached_share": "{share} of replications",
        "representative_only": "representative replication",
        "targets_ensemble_note": "Ensemble: the “target reached in” column and the share of replications reaching it cover every replication; the other columns are those of the representative replication (the closest to the median of the last 12 months' documents), whose full tables the folder holds.",
        "discrepancy_note": "With the model's structural discrepancy ({file}: a log-normal random walk per sector, estimated from the misfit to the observed figures up to the data cut-off), the DMP documents of the last 12 months are {p50} [{p5}–{p95}]; of the variance of their log, {model:.0%} is parameters and chance, {disc:.0%} structural discrepancy. The tables and figures of this report are the model's alone{targets}.",
        "discrepancy_targets": ", except the months targets are reached and the share of replications reaching them, which include it (the model alone below)",
        "model_alone": "model alone: {band}",
        "parts_split": "Parts of the band (variance of the log of the last 12 months' DMP documents): parameters {p}, chance (seeds) {s}, structural discrepancy {d}.",
        "parts_seeds": "Parts of the band (variance of the log of the last 12 months' DMP documents): parameters {p} (not varied: only the seeds change), chance (seeds) {s}, structural discrepancy {d}.",
        "parts_together": "Parts of the band (variance of the log of the last 12 months' DMP documents): parameters and chance together {ps}, structural discrepancy {d} (each draw ran once: more replications than draws would split them).",
        "params_posterior": "Parameters drawn from the posterior file {file} ({draws} draws, data up to {cutoff}): replication i runs draw i (modulo the number of draws) with its own seed; the bands carry parameter uncertainty and chance together.",
        "params_method": "Estimation method (the file's text):",
        "params_made": "File produced on {date}, code version {commit}.",
        "params_seeds": "Parameters: the scenario's values in every replication; only the random seeds change (the bands carry chance only, not parameter uncertainty).",
        "params_unknown": "Where the parameters came from is not recorded in this folder (written by an earlier version).",
        "unknown": "unknown",
    },
}

MONTHS = {
    "fr": ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."],
    "en": ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
}


def check_lang(lang: str) -> str:
    """The language code, or a UsageError naming the allowed ones."""
    if lang not in LANGS:
        raise UsageError(f"--lang: must be one of {', '.join(LANGS)} (got {lang!r})")
    return lang


def text(key: str, lang: str, **fmt: Any) -> str:
    """A sentence or label of the report, formatted with ``fmt``."""
    s = TEXT[lang].get(key, key)
    return s.format(**fmt) if fmt else s


def sector_label(sector: str, lang: str, scenario: dict | None = None) -> str:
    """A sector's name: the scenario's own ``label`` in French, the English table in English."""
    if lang == "fr" and scenario is not None:
        label = scenario.get("sectors", {}).get(sector, {}).get("label")
        if label:
            return label
    return SECTORS[lang].get(sector, sector)


def reason_label(reason: str, lang: str) -> str:
    return REASONS[lang].get(reason, reason.replace("_", " "))


def profile_label(state: str, lang: str) -> str:
    return PROFILE_STATES[lang].get(state, state)


def route_label(route: str, lang: str) -> str:
    return ROUTES[lang].get(route, route)


def day_label(day: str, lang: str) -> str:
    """``2023-10-01`` → ``1 oct. 2023`` / ``1 Oct 2023``."""
    y, m, d = str(day)[:10].split("-")
    return f"{int(d)} {MONTHS[lang][int(m) - 1]} {y}"


def intervention_label(iv: Any, lang: str) -> str:
    """What an intervention does, from its fields (the scenario's own ``label`` is shown in English
    only: scenario files are written in English)."""
    kind = str(iv["kind"])
    what = TEXT[lang].get(f"kind_{kind}", kind)
    detail = [str(iv[k]) for k in ("rule", "service", "path", "target") if k in iv and isinstance(iv[k], str) and iv[k]]
    if isinstance(iv.get("sector"), str) and iv["sector"]:
        detail.append(sector_label(iv["sector"], lang))
    detail += [str(iv[k]) for k in ("vendor", "doc_type") if isinstance(iv.get(k), str) and iv[k]]
    if kind in ("parameter", "campaign", "target") and iv.get("value") is not None and not _nan(iv.get("value")):
        detail.append(f"= {iv['value']}")
    if iv.get("factor") is not None and not _nan(iv.get("factor")):
        detail.append(f"× {iv['factor']}")
    if iv.get("days") is not None and not _nan(iv.get("days")):
        detail.append(text("days", lang, n=int(iv["days"])))
    out = f"{what} : {' '.join(detail)}" if lang == "fr" else f"{what}: {' '.join(detail)}"
    if lang == "en" and iv.get("label"):
        out += f" — {iv['label']}"
    return out


def _nan(x: Any) -> bool:
    return isinstance(x, float) and math.isnan(x)


def month_label(month: str, lang: str) -> str:
    """``2023-09`` → ``sept. 2023`` / ``Sep 2023``."""
    year, m = month.split("-")
    return f"{MONTHS[lang][int(m) - 1]} {year}"


def number(x: float, lang: str, digits: int = 1) -> str:
    """A large count in millions (``25,3 M`` / ``25.3M``), thousands below a million."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    ax = abs(x)
    if ax >= 1e6:
        v, unit = x / 1e6, "M"
    elif ax >= 1e3:
        v, unit = x / 1e3, "k"
    else:
        v, unit = x, ""
        digits = 0
    s = f"{v:,.{digits}f}"
    if lang == "fr":
        s = s.replace(",", "\u202f").replace(".", ",")
        return f"{s}\u00a0{unit}" if unit else s
    return f"{s}{unit}"


def percent(x: float, lang: str) -> str:
    """``0.347`` → ``35 %`` / ``35%``."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    return f"{x:.0%}".replace("%", "\u00a0%") if lang == "fr" else f"{x:.0%}"
