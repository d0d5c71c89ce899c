"""MSSanté operators and which senders use which: the modelled assignment [I].

The espace de confiance holds 300–350+ operators: establishments that run their own platform
(about 300), regional e-health platforms, software vendors whose messaging is built into the
professional's software, and the national Mailiz offer; Mon espace santé operates the patients'
mailboxes (domain §5). The model keeps five operator nodes:

| key | stands for | real domain (synthetic addresses use ``.mssante.test`` instead) |
|---|---|---|
| ``mailiz`` | the national Mailiz offer (liberal professionals) | ``medecin.mssante.fr`` |
| ``establishment`` | the ≈300 establishments that are their own operator, taken together | ``<établissement>.mssante.fr`` |
| ``regional`` | regional e-health platforms (GRADeS), taken together | ``grades-region.mssante.fr`` (fictitious) |
| ``vendor`` | vendors' messaging built into the software, taken together | ``messagerie-editeur.mssante.fr`` (fictitious) |
| ``mes`` | Mon espace santé, the patients' mailboxes | ``patient.mssante.fr`` |

A sender's messages leave through its own operator (``SENDER_SHARES``: share of each sector's
senders per operator, an assumption [I]: no public split by sector was found); messages to a
patient then reach the ``mes`` operator. The recipient professional's own operator is not
modelled (it would add a hop with the same volume). A national graph apportions each group's
volume by these shares; a small world gives each facility one operator (``assign_operators``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agents.identity.mssante import (
    TEST_MAILIZ_DOMAIN,
    TEST_PATIENT_DOMAIN,
    TEST_ROOT_DOMAIN,
    operator_domain,
)


@dataclass(frozen=True)
class Operator:
    """One MSSanté operator node of the model."""

    key: str
    label: str
    domain: str | None  # None: each sender has its own domain (establishments)


OPERATORS: dict[str, Operator] = {
    "mailiz": Operator("mailiz", "Mailiz (offre nationale)", TEST_MAILIZ_DOMAIN),
    "establishment": Operator("establishment", "Opérateurs d'établissement", None),
    "regional": Operator("regional", "Opérateur régional (GRADeS)", f"grades-region.{TEST_ROOT_DOMAIN}"),
    "vendor": Operator("vendor", "Messageries d'éditeurs", f"messagerie-editeur.{TEST_ROOT_DOMAIN}"),
    "mes": Operator("mes", "Mon espace santé (patients)", TEST_PATIENT_DOMAIN),
}

#: Share of a sector's senders per operator [I]. Hospitals: most large establishments are
#: their own operator (domain §5, ≈300 ES), the others use a regional platform. Liberal
#: professionals: Mailiz or the messaging built into their software. Labs and imaging centres:
#: mostly their vendor's messaging. Médico-social: regional platforms.
SENDER_SHARES: dict[str, dict[str, float]] = {
    "hospital": {"establishment": 0.6, "regional": 0.3, "vendor": 0.1},
    "gp": {"mailiz": 0.45, "vendor": 0.4, "regional": 0.15},
    "biology": {"vendor": 0.6, "regional": 0.25, "mailiz": 0.15},
    "radiology": {"vendor": 0.55, "regional": 0.25, "mailiz": 0.2},
    "pharmacy": {"mailiz": 0.5, "vendor": 0.5},
    "nurse": {"mailiz": 0.6, "vendor": 0.3, "regional": 0.1},
    "midwife": {"mailiz": 0.6, "vendor": 0.3, "regional": 0.1},
    "dentist": {"mailiz": 0.6, "vendor": 0.4},
    "physio": {"mailiz": 0.6, "vendor": 0.3, "regional": 0.1},
    "medico_social": {"regional": 0.6, "vendor": 0.3, "establishment": 0.1},
}
DEFAULT_SHARES = {"mailiz": 0.5, "vendor": 0.3, "regional": 0.2}


def operator_shares(sector: str) -> dict[str, float]:
    """Share of the sector's senders (and volume) per operator key; the shares add up to 1."""
    return dict(SENDER_SHARES.get(sector, DEFAULT_SHARES))


def assign_operators(sector: str, n: int, rng: np.random.Generator) -> list[str]:
    """One operator key per facility of a small world, drawn with the sector's shares."""
    shares = operator_shares(sector)
    keys = list(shares)
    p = np.array([shares[k] for k in keys])
    return [keys[i] for i in rng.choice(len(keys), size=n, p=p / p.sum())]


def sender_domain(operator: str, facility_name: str) -> str:
    """The MSSanté domain a facility's mailboxes get from its operator."""
    op = OPERATORS[operator]
    return op.domain if op.domain is not None else operator_domain(facility_name)


__all__ = ["DEFAULT_SHARES", "OPERATORS", "Operator", "SENDER_SHARES", "assign_operators",
           "operator_shares", "sender_domain"]
