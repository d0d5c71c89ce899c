"""Hôpital: health establishments (public, non-profit, private clinics).

Episodes are stays, partial days and emergency visits; key documents are the discharge
letter (11490-0) and stay reports. Sizes are very unequal (lognormal), and patients come
from the establishment's département.
"""

from agents.producers.base import Sector


class HospitalSector(Sector):
    name = "hospital"
