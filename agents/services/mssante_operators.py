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

A sender's messages leave through its own operator (the sector's ``mssante.operators``: share
of its senders per operator, from the country's reference data, an assumption [I]: no public
split by sector was found); messages to a
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
from scenarios.schema import SectorConfig


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

def operator_shares(sector: SectorConfig) -> dict[str, float]:
    """Share of the sector's senders (and volume) per operator key: the scenario's (its block,
    or the country's reference data, scenarios/data/france.toml); the shares add up to 1."""
    return dict(sector.mssante.operators)


def assign_operators(sector: SectorConfig, n: int, rng: np.random.Generator) -> list[str]:
    """One operator key per facility of a small world, drawn with the sector's shares."""
    shares = operator_shares(sector)
    keys = list(shares)
    p = np.array([shares[k] for k in keys])
    return [keys[i] for i in rng.choice(len(keys), size=n, p=p / p.sum())]


def sender_domain(operator: str, facility_name: str) -> str:
    """The MSSanté domain a facility's mailboxes get from its operator."""
    op = OPERATORS[operator]
    return op.domain if op.domain is not None else operator_domain(facility_name)


__all__ = ["OPERATORS", "Operator", "assign_operators", "operator_shares", "sender_domain"]
