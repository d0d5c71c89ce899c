"""A patient's journey: a small world (Ille-et-Vilaine, 2,000 patients, three days), every
document rendered as FHIR, and the narration that follows a few patients through the GP's
e-prescription, the pharmacy, the lab, the hospital and a refused submission.

    python examples/patient_journey.py

The files are written to a temporary folder; the narration names them relative to it
("demo-output/…"), as `segur demo` does with its default --out.
"""

import tempfile
from pathlib import Path

from simulator.demo.teaching import Narrator, build_demo, narrate


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        demo = build_demo("demo", Path(tmp) / "demo-output", patients=2000, days=3, seed=35)
        narrate(demo, Narrator(rich=False), root="demo-output", lang="en")  # the committed narration is English


if __name__ == "__main__":
    main()
