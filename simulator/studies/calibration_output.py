"""Write a calibration's folder atomically: calibrated scenario, fit table, figure, history.

Files: ``calibrated.toml`` (the complete scenario with the fitted values, each commented),
``fit.csv`` (every observed row beside the simulated one at the fitted values), ``fit.png``,
``parameters.csv`` (bounds, start, fitted), ``history.csv`` (every evaluation) and
``calibration.json`` (settings, seeds, objective before and after, timings).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from scenarios.writer import dump_scenario
from simulator.atomic import atomic_folder
from simulator.studies.calibration import locate, parameters_table, scenario_data
from simulator.studies.fit_figure import fit_figure

KIND = "segur-testbed calibration"
MANIFEST = "calibration.json"


def _calibrated_toml(result: dict[str, Any]) -> str:
    spec = result["spec"]
    best = result["best"]
    data = scenario_data(spec, rounded(spec, best.x), for_fit=False)
    data.pop("extends", None)
    data["name"] = f"{data.get('name', 'scenario')}-calibrated"
    today = dt.date.today().isoformat()
    against = f"{spec.observed.name} (fit {today}, objective {result['start'].objective:.4g} → {best.objective:.4g})"
    notes = {}
    for p in spec.parameters:
        container, idx = locate(data, p.key)
        notes[(id(container), idx)] = f"calibrated against {against}; start {p.show(p.start)}, bounds [{p.show(p.low)}, {p.show(p.high)}]"
    header = (
        f"Calibrated scenario written by `segur calibrate {spec.path}` on {today}.\n"
        f"Base: {spec.scenario} (every value not marked 'calibrated' is the base's, with its source there).\n"
        f"Fit: {spec.method}, scale {spec.scale}, {spec.replications} replications (seeds {', '.join(map(str, result['seeds']))}), "
        f"runs ending {spec.end or data['run']['end']}; objective = weighted mean squared relative error over the observed rows."
    )
    return dump_scenario(data, header, notes)


def rounded(spec, x):
    """Fitted floats to 4 significant digits (far finer than what a stochastic fit resolves)."""
    return [float(f"{v:.4g}") if p.kind == "float" else v for p, v in zip(spec.parameters, x, strict=True)]


def write_calibration(result: dict[str, Any], out: str | Path) -> Path:
    """Write the calibration folder ``out`` (replaced if it is an earlier calibration folder)."""
    out = Path(out)
    spec = result["spec"]
    best = result["best"]
    with atomic_folder(out, kind="calibrate") as tmp:
        (tmp / "calibrated.toml").write_text(_calibrated_toml(result), encoding="utf-8")
        best.table.to_csv(tmp / "fit.csv", index=False)
        parameters_table(spec, best.x).to_csv(tmp / "parameters.csv", index=False)
        result["history"].to_csv(tmp / "history.csv", index=False)
        fit_figure(best.results, best.table, tmp / "fit.png",
                   title=f"{spec.path.name}: observed vs simulated (scale {spec.scale}, mean of {spec.replications} replications)")
        manifest = {
            "kind": KIND,
            "calibration_file": str(spec.path),
            "scenario": str(spec.scenario),
            "observed": str(spec.observed),
            "method": spec.method,
            "scale": spec.scale,
            "replications": spec.replications,
            "seed": spec.seed,
            "seeds": result["seeds"],
            "end": str(spec.end) if spec.end else None,
            "max_evaluations": spec.max_evaluations,
            "evaluations": len(result["history"]),
            "objective_start": result["start"].objective,
            "objective_best": best.objective,
            "weights": spec.weights,
            "parameters": parameters_table(spec, best.x).to_dict(orient="records"),
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    return out
