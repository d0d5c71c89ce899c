"""Médecins de ville (GPs): each GP sees the patients of its own block (its patientèle).

Key document: the prescription (57833-6). The GP facility-month counts of this sector feed
the "share of equipped GPs above N documents a month" figure of the 2023 programme deck.
"""

from __future__ import annotations

import numpy as np

from agents.patients import Patients
from agents.producers.base import Sector


class GpSector(Sector):
    """GPs as arrays; ``patient_start`` / ``patient_size`` give each GP's patientèle range."""

    name = "gp"
    patient_start: np.ndarray
    patient_size: np.ndarray

    def set_patientele(self, start: np.ndarray, size: np.ndarray) -> None:
        self.patient_start = start
        self.patient_size = np.maximum(size, 1)

    def choose_patients(self, facility: np.ndarray, u: np.ndarray, patients: Patients) -> np.ndarray:
        return (self.patient_start[facility] + (u * self.patient_size[facility]).astype(np.int64)).astype(np.int32)
