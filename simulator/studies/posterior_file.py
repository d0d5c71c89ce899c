"""The posterior file shipped beside a scenario (``<scenario>.posterior.csv``): parameter draws.

Format: ``#``-prefixed provenance lines (``# key: value``: data cut-off, method, date, commit,
simulations…), then a CSV with one column per dotted scenario key (dates as ISO dates) and one
row per equally weighted draw. ``--replications N`` draws row ``i mod rows`` for replication i,
so a run is reproducible from its seed and the file alone.
"""

from __future__ import annotations

import copy
import datetime as dt
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from scenarios.loader import load_raw, resolve_path
from simulator.core.errors import UsageError
from simulator.engine.commented_csv import read_commented_csv
from simulator.engine.scenario import validate
from simulator.studies.calibration import locate  # the calibration file's key syntax

SUFFIX = ".posterior.csv"


@dataclass
class PosteriorDraws:
    """Draws read from a posterior file: ``rows`` of {dotted key: scenario value}."""

    path: Path
    keys: list[str]
    rows: list[dict[str, Any]]
    provenance: dict[str, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.rows)

    def draw(self, i: int) -> dict[str, Any]:
        """The parameter values of replication ``i`` (0-based): row ``i mod len``."""
        return self.rows[i % len(self.rows)]


def beside(scenario_path: str | Path) -> Path:
    """The posterior file that goes with a scenario file: ``baseline.toml`` → ``baseline.posterior.csv``."""
    p = Path(scenario_path)
    return p.with_name(p.stem + SUFFIX)


def git_commit(where: Path | None = None) -> str:
    """The current commit (short), or "unknown" outside a git checkout."""
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=where or Path(__file__).resolve().parent)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def write_posterior(path: str | Path, draws: pd.DataFrame, kinds: dict[str, str], provenance: dict[str, Any]) -> Path:
    """Write draws (numbers; ``kinds[key] == "date"`` columns are day ordinals) with provenance."""
    path = Path(path)
    out = pd.DataFrame()
    for key in draws.columns:
        col = draws[key].astype(float)
        if kinds.get(key) == "date":
            out[key] = [dt.date.fromordinal(int(round(v))).isoformat() for v in col]
        elif kinds.get(key) == "int":
            out[key] = col.round().astype(int)
        else:
            out[key] = col.map(lambda v: float(f"{v:.6g}"))
    head = "".join(f"# {k}: {v}\n" for k, v in provenance.items())
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(head + out.to_csv(index=False), encoding="utf-8")
    tmp.replace(path)
    return path


def read_posterior(path: str | Path) -> PosteriorDraws:
    """Read a posterior file; a missing or malformed file is one UsageError naming it."""
    path = Path(path)
    df, prov = read_commented_csv(path, "posterior")
    if df.empty or not len(df.columns):
        raise UsageError(f"{path}: no parameter draws (expected a header of dotted scenario keys and one row per draw)")
    rows = []
    for i, rec in enumerate(df.to_dict("records"), start=2):
        row: dict[str, Any] = {}
        for k, v in rec.items():
            if isinstance(v, str):
                try:
                    row[k] = dt.date.fromisoformat(v)
                except ValueError:
                    raise UsageError(f"{path}: row {i}: {k}: {v!r} is neither a number nor a date YYYY-MM-DD") from None
            elif pd.isna(v):
                raise UsageError(f"{path}: row {i}: {k}: empty value")
            else:
                row[k] = v.item() if hasattr(v, "item") else v
        rows.append(row)
    return PosteriorDraws(path, list(df.columns), rows, prov)


def apply_draw(data: dict[str, Any], draw: dict[str, Any], where: Path) -> dict[str, Any]:
    """A copy of raw scenario data with a draw's values set (same dotted keys as calibration files)."""
    out = copy.deepcopy(data)
    for key, value in draw.items():
        try:
            container, idx = locate(out, key)
        except (KeyError, IndexError, ValueError, TypeError):
            raise UsageError(f"{where}: column {key}: not a value of the scenario") from None
        current = container[idx]
        if isinstance(current, int) and not isinstance(current, bool):
            value = int(round(value))
        container[idx] = value
    return out


def find_posterior(scenario: str | Path, posterior: str | Path | None = None) -> Path | None:
    """The posterior file a run draws from: ``posterior`` if given, None for "none" (seeds only),
    else the file beside the scenario if there is one."""
    if posterior is not None:
        return None if str(posterior).lower() == "none" else Path(posterior)
    file = beside(resolve_path(scenario))
    return file if file.exists() else None


def draws_provenance(scenario: str | Path, posterior: str | Path | None = None) -> dict[str, Any] | None:
    """What a results manifest records about the draws: the file's name, its number of draws and
    its provenance lines (data_cutoff, method, date, commit…); None when the run uses seeds only."""
    file = find_posterior(scenario, posterior)
    if file is None:
        return None
    draws = read_posterior(file)
    return {**draws.provenance, "file": file.name, "draws": len(draws)}


def draw_scenarios(scenario: str | Path, n: int, posterior: str | Path | None = None) -> tuple[list[Any] | None, str]:
    """One validated scenario per replication (draw ``i mod rows``), and a line naming the file.

    ``posterior``: a file, "none" (seeds only), or None = the file beside the scenario if any.
    """
    path = resolve_path(scenario)
    file = find_posterior(scenario, posterior)
    if file is None:
        return None, ""
    draws = read_posterior(file)
    raw = load_raw(path)
    out = []
    for i in range(n):
        try:
            out.append(validate(apply_draw(raw, draws.draw(i), file), path))
        except UsageError:
            raise
        except Exception as exc:  # a draw the scenario's schema refuses
            raise UsageError(f"{file}: row {i % len(draws) + 2}: not a valid value for {path.name} ({exc})") from None
    cut = draws.provenance.get("data_cutoff", "?")
    return out, f"{file.name}, {len(draws)} draws, data up to {cut}, {draws.provenance.get('method', '?')}"


__all__ = ["draw_scenarios", "draws_provenance", "find_posterior", "PosteriorDraws", "beside", "write_posterior", "read_posterior", "apply_draw", "git_commit", "SUFFIX"]
