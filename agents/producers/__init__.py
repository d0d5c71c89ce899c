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


#: modules a sector may name as its ``model`` without a sector of that name: a profession that
#: behaves like any wave 2 profession needs no module of its own (docs/extending.md)
SECTOR_CLASSES["wave2"] = Wave2Sector


def sector_class(model: str) -> type[Sector]:
    """The producer class registered under ``model`` (a sector's ``model``, or its name). A
    name that is not registered is an error: scenarios are checked against this registry when
    they are loaded, so this only fails for a scenario that was not."""
    try:
        return SECTOR_CLASSES[model]
    except KeyError:
        raise KeyError(f"no producer module registered under {model!r}; registered: {', '.join(SECTOR_CLASSES)}") from None


__all__ = ["Batch", "Sector", "Wave2Sector", "SECTOR_CLASSES", "sector_class"]
