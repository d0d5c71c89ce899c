"""Comparing two scenarios from Python: the teaching territory as it is, and the same world
where every sector sends 99% of its documents with a qualified identity (an INS qualification
drive). Same seed: the two runs share their random numbers (common random numbers), so the
difference is the scenario's.

    python examples/compare_scenarios.py

scenarios/demo.toml (Ille-et-Vilaine, January 2025) with 20,000 patients over four weeks;
seed 2; figures are estimates for the département, rounded to whole documents.
"""

import simulator
from simulator.engine.results import Results
from simulator.engine.scenario import load_scenario

WEEKS = {"run.end": "2025-02-02", "run.scale": 20_000 / 1_094_000, "payload_sample": 0}


def summary(res: Results) -> dict[str, tuple[float, float]]:
    """Per sector of the run: DMP documents accepted, and refused for a non-qualified identity."""
    docs = res.to_df("documents")
    dmp = docs[docs["channel"] == "dmp"]
    acc = dmp[dmp["outcome"] == "accepted"].groupby("sector")["national"].sum()
    nq = dmp[dmp["reason"] == "identity_not_qualified"].groupby("sector")["national"].sum()
    return {s: (float(acc.get(s, 0.0)), float(nq.get(s, 0.0))) for s in res.manifest["sectors"]}


def main() -> None:
    base = load_scenario("demo", WEEKS)
    drive = load_scenario("demo", {**WEEKS, **{f"sectors.{s}.qualification.{k}": 0.99
                                               for s in base.sectors for k in ("start_share", "end_share")}})
    a = summary(simulator.run(base, seed=2))
    b = summary(simulator.run(drive, seed=2))
    print("DMP documents over four weeks (estimate for Ille-et-Vilaine)")
    print(f"{'sector':<11}{'accepted':>10}{'with drive':>12}{'refused: identity':>20}{'with drive':>12}")
    for s in a:
        print(f"{s:<11}{round(a[s][0]):>10}{round(b[s][0]):>12}{round(a[s][1]):>20}{round(b[s][1]):>12}")
    tot = [round(sum(x[i] for x in r.values())) for r in (a, b) for i in (0, 1)]
    print(f"{'all':<11}{tot[0]:>10}{tot[2]:>12}{tot[1]:>20}{tot[3]:>12}")
    print("\nThe refusals that remain are patients INSi cannot identify (answer 01 or 02) or without an INS:"
          " qualification at the desk cannot fix those.")


if __name__ == "__main__":
    main()
