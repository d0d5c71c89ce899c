"""Infirmiers (nurses): the "Ségur infirmier" track of wave 2, about 200,000 nurses to equip
(domain §1, §8).

Episodes are patient visits (home care, seven days a week). Key documents: the care
follow-up note (11506-3 CR ou fiche de suivi de soins par auxiliaire médical), the care plan
(18776-5 plan personnalisé de soins, e.g. the nursing care assessment) and the medication
administration note (80565-5); vaccination notes (87273-9). Patients come from the nurse's
département.
"""

from agents.producers.wave2 import Wave2Sector


class NurseSector(Wave2Sector):
    name = "nurse"
