"""Sages-femmes (midwives): wave 2 brings their practice software (LGC sages-femmes) into the
Ségur programme (domain §1).

Episodes are consultations (pregnancy follow-up, post-natal care, gynaecological prevention).
Key documents: the follow-up note (11506-3, which TRE_A04 describes as written by a midwife,
a nurse or an allied professional), the consultation report (11488-4) and prescriptions
(57833-6); vaccination notes (87273-9).
"""

from agents.producers.wave2 import Wave2Sector


class MidwifeSector(Wave2Sector):
    name = "midwife"
