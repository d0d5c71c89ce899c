"""Établissements et services médico-sociaux (ESMS: nursing homes, disability services, home
care services), funded by the €600M médico-social part of the Ségur programme (domain §1).

Episodes are admissions, discharges, transfers and reviews of residents. Key documents: the
emergency liaison record (74207-2 dossier de liaison d'urgence, sent with a resident
transferred to hospital), the admission and discharge letters (88348-8, 83981-1), the
personalised support plan (80788-3) and the assessment form (34842-5).
"""

from agents.producers.wave2 import Wave2Sector


class MedicoSocialSector(Wave2Sector):
    name = "medico_social"
