"""Médecins de ville (GPs): each GP sees the patients of its own block (its patientèle).

Key document: the prescription (57833-6). The GP facility-month counts of this sector feed
the "share of equipped GPs above N documents a month" figure of the 2023 programme deck.
"""

from __future__ import annotations

import numpy as np

from agents.patients import Patients, gp_patient_ranges
from agents.producers.base import Sector


class GpSector(Sector):
    """GPs as arrays; each GP's patient range is its patientèle block."""

    name = "gp"
    may_floor_facilities = False  # GPs are reported one by one (gp_activity): one per 1/scale

    def set_patient_ranges(self, patients: Patients) -> None:
        start, size = gp_patient_ranges(patients, self.dept)
        self.patient_start = start.astype(np.int32)
        self.patient_size = np.maximum(size, 1).astype(np.uint64)
