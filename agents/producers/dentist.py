"""Chirurgiens-dentistes (dentists): wave 2 brings their practice software into the Ségur
programme (domain §1).

Episodes are dental appointments. Key documents: the dental chart (83836-7 schéma dentaire),
non-DICOM dental images (52040-3, e.g. intra-oral X-rays), the consultation report (11488-4)
and prescriptions (57833-6).
"""

from agents.producers.wave2 import Wave2Sector


class DentistSector(Wave2Sector):
    name = "dentist"
