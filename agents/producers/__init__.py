"""Producers, one module per sector; ``SECTOR_CLASSES`` maps a sector name to its class.

Wave 2 sectors without a module of their own use the generic ``Sector`` (département-based
patients, catalogue documents) until they get one.
"""

from agents.producers.base import Batch, Sector
from agents.producers.biology import BiologySector
from agents.producers.gp import GpSector
from agents.producers.hospital import HospitalSector
from agents.producers.pharmacy import PharmacySector
from agents.producers.radiology import RadiologySector

SECTOR_CLASSES: dict[str, type[Sector]] = {
    "hospital": HospitalSector,
    "gp": GpSector,
    "biology": BiologySector,
    "radiology": RadiologySector,
    "pharmacy": PharmacySector,
}


def sector_class(name: str) -> type[Sector]:
    """The producer class of a sector (generic for sectors without a module yet)."""
    return SECTOR_CLASSES.get(name, Sector)


__all__ = ["Batch", "Sector", "SECTOR_CLASSES", "sector_class"]
