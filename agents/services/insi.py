"""INSi, the national identity teleservice: answers 00 (one identity), 01 (none) or 02 (several).

Only 00 returns the matricule and traits (status RECUP); an identity checked against a
high-trust document then becomes QUAL. The answer to a person's first lookup is drawn when the
population is built (``Patients.insi``); 01 and 02 are retried until resolved
(agents/identity/qualification.py). This module names the codes and their effect.
"""

from __future__ import annotations

import numpy as np

INSI_ANSWERS = {
    "00": "une identité trouvée (INS retournée)",
    "01": "aucune identité trouvée",
    "02": "plusieurs identités trouvées",
}


def can_qualify(insi: np.ndarray) -> np.ndarray:
    """Identities whose INSi answer allows qualification (answer 00)."""
    return insi == 0


def answer_shares(insi: np.ndarray) -> dict[str, float]:
    """Share of each INSi answer in a population."""
    n = max(insi.size, 1)
    return {code: float(np.count_nonzero(insi == i)) / n for i, code in enumerate(INSI_ANSWERS)}
