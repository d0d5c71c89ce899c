"""Officines (pharmacies): the dispensation document (60593-1), a small share of the flow
(about 3% at the end of 2023)."""

from agents.producers.base import Sector


class PharmacySector(Sector):
    name = "pharmacy"
