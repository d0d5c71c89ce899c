"""Biologie médicale: city laboratory sites; one biology report (11502-2) per visit for most
visits, sent to the prescriber (usually the médecin traitant) by MSSanté and to the DMP."""

from agents.producers.base import Sector


class BiologySector(Sector):
    name = "biology"
