"""A representative draw of the posterior, for the single run a scenario ships.

Marginal medians put together are not a draw: the posterior's parameters are correlated (a
higher start level goes with a lower habit level for the same 2024 volume), and a point made of
medians can sit where the posterior has no mass. The representative draw is a real particle:

- with a predictive (each draw's simulated value of the matched observed rows, e.g. the columns
  ``run1…`` of projection runs), the draw whose predictive is nearest the posterior-predictive
  median (root mean squared relative distance over the rows);
- without one, the posterior's medoid: the draw with the smallest sum of Mahalanobis distances
  to all the others (parameters scaled by the posterior's covariance), i.e. its most central
  particle.

``python -m simulator.studies.representative SCENARIO [--posterior FILE] [--write]`` prints the
draw and, with ``--write``, sets its values in the scenario file (comments kept, each value's
comment saying which draw it is), then checks the file reads back with exactly those values.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulator.core.errors import SegurError, UsageError
from simulator.studies.calibration import locate
from simulator.studies.posterior_file import PosteriorDraws, find_posterior, read_posterior

MARK = "representative posterior draw"


def _numbers(draws: PosteriorDraws) -> np.ndarray:
    """Draws as a [draw, parameter] matrix (dates as ordinals)."""
    return np.array([[v.toordinal() if isinstance(v, dt.date) else float(v) for v in (r[k] for k in draws.keys)]
                     for r in draws.rows], dtype=float)


def medoid(x: np.ndarray) -> int:
    """Index of the row with the smallest sum of Mahalanobis distances to all rows."""
    z = (x - x.mean(axis=0)) / np.where(x.std(axis=0) > 0, x.std(axis=0), 1.0)
    cov = np.cov(z, rowvar=False) if z.shape[0] > 1 else np.eye(z.shape[1])
    inv = np.linalg.pinv(np.atleast_2d(cov))
    diff = z[:, None, :] - z[None, :, :]
    d = np.sqrt(np.maximum(np.einsum("ijk,kl,ijl->ij", diff, inv, diff), 0.0))
    return int(np.argmin(d.sum(axis=1)))


def nearest_predictive(pred: np.ndarray) -> int:
    """Index of the draw whose predictive [draw, row] is nearest the median predictive."""
    med = np.nanmedian(pred, axis=0)
    ok = np.isfinite(med) & (med != 0)
    rel = (pred[:, ok] - med[ok]) / np.abs(med[ok])
    return int(np.argmin(np.sqrt(np.nanmean(rel ** 2, axis=1))))


def representative_draw(draws: PosteriorDraws, predictive: np.ndarray | None = None) -> tuple[int, str]:
    """(row index of the representative draw, how it was chosen)."""
    if len(draws) < 2:
        return 0, "the only draw"
    if predictive is not None:
        if predictive.shape[0] != len(draws):
            raise UsageError(f"predictive: {predictive.shape[0]} rows for {len(draws)} draws")
        return nearest_predictive(predictive), "the draw whose predictive is nearest the posterior-predictive median"
    return medoid(_numbers(draws)), "the posterior's medoid (smallest sum of Mahalanobis distances to the other draws)"


# -- writing it into a scenario ---------------------------------------------------------------
def _fmt(v: Any) -> str:
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, (int, np.integer)) or float(v).is_integer() and abs(v) >= 10:
        return str(int(round(float(v))))
    return f"{float(v):.4g}"


def _note(line: str, note: str) -> str:
    """A value line with its comment ending in ``note`` (replacing an earlier posterior note)."""
    if "#" not in line:
        return f"{line}  # {note}"
    code, comment = line.split("#", 1)
    comment = re.sub(r"\s*·\s*(posterior median|representative posterior draw).*$", "", comment.rstrip())
    return f"{code}#{comment} · {note}"


def _set_in_block(lines: list[str], start: int, rest: list[str], val: str, note: str) -> bool:
    """Set ``rest`` (a key, or an inline table and its key) in the table whose header is line ``start``."""
    num = r"-?[0-9][0-9_.eE+-]*|\d{4}-\d{2}-\d{2}"
    for i in range(start + 1, len(lines)):
        ln = lines[i]
        if ln.lstrip().startswith("["):
            return False
        if len(rest) == 1 and re.match(rf'^\s*"?{re.escape(rest[0])}"?\s*=', ln):
            new = re.sub(rf'^(\s*"?{re.escape(rest[0])}"?\s*=\s*)({num})', lambda m: m.group(1) + val, ln, count=1)
            lines[i] = _note(new, note)
            return True
        if len(rest) == 2 and re.match(rf'^\s*{re.escape(rest[0])}\s*=\s*\{{', ln):
            lines[i] = _note(re.sub(rf'("?{re.escape(rest[1])}"?\s*=\s*)({num})', lambda m: m.group(1) + val, ln,
                                    count=1), note)
            return True
    return False


def _header(line: str) -> str:
    """A line's table header without its comment (``[a.b]`` or ``[[a.b]]``), else ''."""
    return line.strip().split("#")[0].strip()


def _replace(text: str, key: str, value: Any, note: str) -> str:
    """Set a dotted key's value in TOML text: a table's line, an inline table's entry, or a line of
    the n-th table of an array of tables (``profiles.campaigns.0.activation_factor`` → the first
    ``[[profiles.campaigns]]``)."""
    parts = key.split(".")
    lines = text.split("\n")
    val = _fmt(value)
    for k in range(1, len(parts) - 1):  # an item of an array of tables
        if parts[k].isdigit():
            header = f"[[{'.'.join(parts[:k])}]]"
            starts = [i for i, ln in enumerate(lines) if _header(ln) == header]
            n = int(parts[k])
            if n < len(starts) and _set_in_block(lines, starts[n], parts[k + 1:], val, note):
                return "\n".join(lines)
    for cut in range(len(parts) - 1, 0, -1):
        header, rest = ".".join(parts[:cut]), parts[cut:]
        start = next((i for i, ln in enumerate(lines) if _header(ln) == f"[{header}]"), None)
        if start is not None and _set_in_block(lines, start, rest, val, note):
            return "\n".join(lines)
    raise SegurError(f"cannot find {key} in the scenario text (a table [..] line, an inline table entry "
                     f"or a line of an array of tables [[..]])")


def write_into_scenario(scenario: Path, draws: PosteriorDraws, index: int, how: str) -> Path:
    """Set the draw's values in the scenario file, atomically, and check they read back."""
    text = scenario.read_text(encoding="utf-8")
    draw = draws.draw(index)
    note = f"{MARK} {index + 1} of {draws.path.name} ({how.split(' (')[0]}; docs/calibration.md)"
    for key, value in draw.items():
        text = _replace(text, key, value, note)
    data = tomllib.loads(text)
    for key, value in draw.items():
        container, idx = locate(data, key)
        got = container[idx]
        if isinstance(value, dt.date) and got != value or not isinstance(value, dt.date) and not np.isclose(
                float(got), float(value), rtol=1e-3):
            raise SegurError(f"{scenario}: {key} reads back as {got}, not {value} (nothing written)")
    tmp = scenario.with_name(scenario.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(scenario)
    return scenario


def single_run_note(scenario: str | Path) -> str | None:
    """What a single run says about its parameters when the scenario has a posterior beside it."""
    file = find_posterior(scenario)
    if file is None:
        return None
    draws = read_posterior(file)
    return (f"This single run is one draw of the uncertain parameters (the values in the scenario file; "
            f"{file.name} holds {len(draws)} draws) and one seed: its figures have no band. "
            f"`segur run {Path(scenario).as_posix()} --replications N` gives median [p5–p95].")


def main(argv: list[str] | None = None) -> int:
    """Print the representative draw of a scenario's posterior; with --write, set it in the scenario."""
    ap = argparse.ArgumentParser(prog="python -m simulator.studies.representative", description=__doc__.split("\n")[0])
    ap.add_argument("scenario", type=Path)
    ap.add_argument("--posterior", type=Path, default=None, help="default: <scenario>.posterior.csv beside it")
    ap.add_argument("--predictive", type=Path, default=None,
                    help="CSV with one column run1…runN per draw (e.g. projection.csv of a backtest) to pick by predictive")
    ap.add_argument("--write", action="store_true", help="set the draw's values in the scenario file")
    args = ap.parse_args(argv)
    try:
        file = args.posterior or find_posterior(args.scenario)
        if file is None:
            raise UsageError(f"{args.scenario}: no posterior file beside it; name one with --posterior")
        draws = read_posterior(file)
        pred = None
        if args.predictive is not None:
            df = pd.read_csv(args.predictive)
            cols = [c for c in df.columns if re.fullmatch(r"run\d+", c)]
            pred = df[cols].to_numpy(dtype=float).T[: len(draws)]
        index, how = representative_draw(draws, pred)
        print(f"{file.name}: draw {index + 1} of {len(draws)} — {how}")
        for k, v in draws.draw(index).items():
            print(f"  {k} = {_fmt(v)}")
        if args.write:
            write_into_scenario(args.scenario, draws, index, how)
            print(f"written into {args.scenario}")
    except SegurError as exc:
        print(f"segur: error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["representative_draw", "medoid", "nearest_predictive", "write_into_scenario", "single_run_note", "MARK"]
