"""Masseurs-kinésithérapeutes and other paramedics (speech therapists, orthoptists,
podiatrists): the "paramédicaux" of wave 2 (domain §1).

Episodes are treatment sessions. Key documents: the functional assessment at the start of a
series of sessions (47420-5 CR de bilan fonctionnel par auxiliaire médical) and the follow-up
note (11506-3).
"""

from agents.producers.wave2 import Wave2Sector


class PhysioSector(Wave2Sector):
    name = "physio"
