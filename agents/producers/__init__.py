"""Producers, one module per sector; ``SECTOR_CLASSES`` maps a sector name to its class.

Wave 2 sectors (nurse, midwife, dentist, physio, medico_social) derive from ``Wave2Sector``:
dormant until their ``launch`` intervention, their campaign anchored on the launch date.
"""

from agents.producers.base import Batch, Sector
from agents.producers.biology import BiologySector
from agents.producers.dentist import DentistSector
from agents.producers.gp import GpSector
from agents.producers.hospital import HospitalSector
from agents.producers.medico_social import MedicoSocialSector
from agents.producers.midwife import MidwifeSector
from agents.producers.nurse import NurseSector
from agents.producers.pharmacy import PharmacySector
from agents.producers.physio import PhysioSector
from agents.producers.radiology import RadiologySector
from agents.producers.wave2 import Wave2Sector

SECTOR_CLASSES: dict[str, type[Sector]] = {
    "hospital": HospitalSector,
    "gp": GpSector,
    "biology": BiologySector,
    "radiology": RadiologySector,
    "pharmacy": PharmacySector,
    "nurse": NurseSector,
    "midwife": MidwifeSector,
    "dentist": DentistSector,
    "physio": PhysioSector,
    "medico_social": MedicoSocialSector,
}


def sector_class(name: str) -> type[Sector]:
    """The producer class of a sector (generic for sectors without a module yet)."""
    return SECTOR_CLASSES.get(name, Sector)


__all__ = ["Batch", "Sector", "Wave2Sector", "SECTOR_CLASSES", "sector_class"]
