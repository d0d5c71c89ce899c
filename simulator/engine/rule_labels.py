"""The scenario rules' labels, in French and English (the teaching demo's narration and the
page's levers): the DMP rule table's switches (agents/dmp_rules.py), then the other rules."""

from __future__ import annotations

from agents import dmp_rules
from agents.services.eprescription import MANDATE_RULE

#: rule → its label, per language
RULES = {
    lang: {**{name: dmp_rules.switch_label(name, lang) for name in dmp_rules.SWITCHES},
           MANDATE_RULE: mandate}
    for lang, mandate in (("fr", "e-prescription obligatoire"), ("en", "e-prescription mandatory"))
}
