"""An outage: the DMP is down for three days and submissions wait at most two days in the
producers' outboxes. What is delayed, and what is lost?

    python examples/outage.py

The teaching territory (scenarios/demo.toml: Ille-et-Vilaine, January 2025) with 20,000
patients over three weeks, seed 2. Figures are estimates for the département (the simulated
documents divided by the scale), rounded to whole documents.
"""

import datetime as dt

import simulator
from scenarios.schema import Intervention
from simulator.engine.scenario import load_scenario


def main() -> None:
    sc = load_scenario("demo", {"run.end": "2025-01-26", "run.scale": 20_000 / 1_094_000, "payload_sample": 0})
    outage = Intervention(date=dt.date(2025, 1, 13), kind="outage", service="dmp", days=3, max_wait_days=2,
                          label="DMP down for three days")
    sc = sc.model_copy(update={"interventions": [*sc.interventions, outage]})
    res = simulator.run(sc, seed=2)

    daily = res.to_df("dmp_daily")
    days = daily[(daily["date"] >= "2025-01-09") & (daily["date"] <= "2025-01-20")]
    print("The DMP, day by day (documents, estimate for Ille-et-Vilaine):")
    print(f"{'date':<12}{'up':<5}{'received':>9}{'accepted':>9}{'rejected':>9}{'dropped':>9}{'backlog':>9}")
    for r in days.itertuples():
        print(f"{r.date.strftime('%Y-%m-%d'):<12}{'yes' if r.up else 'NO':<5}" + "".join(
            f"{round(getattr(r, k)):>9}" for k in ("received", "accepted", "rejected", "dropped", "backlog")))

    docs = res.to_df("documents")
    dmp = docs[docs["channel"] == "dmp"]
    by = dmp.groupby("outcome")["national"].sum()
    total = by.sum()
    print("\nDocuments sent to the DMP over the three weeks:")
    for outcome, n in by.items():
        print(f"  {outcome:<9} {round(n):>7}  ({100 * n / total:4.1f}%)")
    print(f"Lost to the outage (waited more than 2 days): {round(by.get('dropped', 0))} documents.")
    mss = docs[docs["channel"] != "dmp"].groupby("outcome")["national"].sum()
    print(f"MSSanté, a separate network, delivered {round(mss.get('delivered', 0))} messages meanwhile.")


if __name__ == "__main__":
    main()
