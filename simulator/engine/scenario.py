"""Scenarios as the engine loads them: the scenarios package's loader, checked against the
agents' catalogues (document types, départements, defects, registered producer modules)."""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from agents import dmp_rules
from agents.catalogue import type_codes
from agents.defects import DEFECT_NAMES
from agents.producers import SECTOR_CLASSES
from agents.services.eprescription import MANDATE_RULE
from agents.territory import load_territory
from scenarios import loader
from scenarios.loader import Reference
from scenarios.schema import Scenario


def reference() -> Reference:
    """What scenarios are checked against, from the agents' catalogues and the rule switches
    of the DMP rule table in force (read at each call: a scratch table's switches count)."""
    return replace(_catalogues(), rules=(*dmp_rules.SWITCHES, MANDATE_RULE))


@lru_cache(maxsize=1)
def _catalogues() -> Reference:
    return Reference(
        document_types=frozenset(type_codes()),
        departements=frozenset(load_territory().codes),
        defects=DEFECT_NAMES,
        producers=tuple(SECTOR_CLASSES),
    )


def load_scenario(path: str | Path, overrides: dict[str, Any] | None = None) -> Scenario:
    """Read, merge and validate a scenario file (``overrides``: dotted keys set after merging)."""
    return loader.load_scenario(path, overrides, reference=reference())


def validate(data: dict[str, Any], path: Path) -> Scenario:
    """Validate merged scenario data (see ``scenarios.loader.validate``)."""
    return loader.validate(data, path, reference())
