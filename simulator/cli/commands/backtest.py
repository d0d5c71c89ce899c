"""`segur backtest CALIBRATION.toml --cutoff DATE`: calibrate on rows up to DATE, project, score later rows."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from simulator.cli.commands.calibrate import get_design
from simulator.core.errors import UsageError
from simulator.engine.executors import ExecutorSpec


def _day(text: str) -> dt.date:
    """'2024-06-30', or '2024-06' for the last day of that month (an origin is a month's end)."""
    import calendar

    text = text.strip()
    if len(text) == 7 and text[4] == "-":
        year, month = int(text[:4]), int(text[5:])
        return dt.date(year, month, calendar.monthrange(year, month)[1])
    return dt.date.fromisoformat(text)


def _date(text: str) -> dt.date:
    try:
        return _day(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a date YYYY-MM-DD or a month YYYY-MM (got {text!r})") from None


def _dates(text: str) -> list[dt.date]:
    try:
        out = sorted({_day(x) for x in text.split(",") if x.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be dates YYYY-MM-DD or months YYYY-MM separated by commas (got {text!r})") from None
    if not out:
        raise argparse.ArgumentTypeError("name at least one date YYYY-MM-DD or month YYYY-MM")
    return out


HELP = "score the calibrated projection on observed rows it did not see"
DESCRIPTION = ("Calibrate (ABC-SMC posterior) on the observed rows dated up to each origin, with only what "
               "was known then (scenarios/data/knowledge.csv), project with posterior draws, seeds and the "
               "structural discrepancy, and score every later row: error of the median, whether p5–p95 "
               "contains it, weighted interval score against two naive forecasts (last level, 12-month "
               "linear trend), by horizon. Writes backtest.csv, backtest.png, verdict.txt per origin and, "
               "with --origins, rolling.csv and rolling.png.")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of `segur backtest`."""
    p.add_argument("calibration", type=Path, help="calibration file (TOML), e.g. scenarios/calibration.toml")
    when = p.add_mutually_exclusive_group(required=True)
    when.add_argument("--cutoff", type=_date, metavar="YYYY-MM-DD",
                      help="one origin: last day of the data the calibration sees (YYYY-MM: that month's last day)")
    when.add_argument("--origins", type=_dates, metavar="D1,D2,…",
                      help="rolling origins, e.g. 2023-06,2023-12,2024-06,2024-12 (a month: its last day) or "
                           "2023-06-30,…: a refit at each")
    p.add_argument("--observed", type=Path, default=None,
                   help="observed figures (CSV with the columns of scenarios/data/observed.csv; default: the calibration file's)")
    p.add_argument("--posterior", type=Path, default=None,
                   help="reuse a posterior (posterior.csv of `segur backtest --cutoff` at the same or an earlier cut-off; "
                        "its discrepancy.csv beside it) instead of calibrating; one origin only")
    p.add_argument("--design", type=Path, default=None, metavar="FILE",
                   help="reuse the design runs (design.csv of an earlier backtest at the same cut-off); one origin only")
    p.add_argument("--design-runs", type=int, default=None, metavar="N",
                   help="design runs of the surrogate (default: design_runs of the calibration file)")
    p.add_argument("--population", type=int, default=None, metavar="N",
                   help="ABC-SMC particles a generation (default: the calibration file's)")
    p.add_argument("--replications", type=int, default=40, metavar="N",
                   help="projection runs: posterior draw i // 2 with seed i (two seeds a draw; default 40)")
    p.add_argument("--no-discrepancy", action="store_true", help="project without the structural discrepancy")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS", help="run the simulations on this Dask scheduler")
    p.add_argument("--workers", type=int, default=1, help="local processes (default 1)")
    p.add_argument("--out", type=Path, default=None,
                   help="output folder (default: results/backtest-<cutoff>, or results/backtest-rolling)")
    p.add_argument("--quiet", action="store_true", help="no progress and no table")


def _m(v: float, unit: str) -> str:
    if v != v:
        return "—"
    return f"{v / 1e6:.1f}M" if abs(v) >= 1e5 else f"{v:,.3g}"


def format_table(tab) -> str:
    """Scored rows as plain text."""
    lines = [f"  {'date':<8}{'metric':<28}{'sector':<9}{'observed':>9}  {'median [p5–p95]':<24}{'error':>7} in  "
             f"{'level':>7}{'trend':>8}{'h':>4}"]
    for _, r in tab[tab["scored"].astype(bool)].iterrows():
        band = f"{_m(r['p50'], r['unit'])} [{_m(r['p5'], r['unit'])}–{_m(r['p95'], r['unit'])}]"
        lvl = f"{r['error_level']:+.0%}" if r["error_level"] == r["error_level"] else "—"
        tre = f"{r['error_trend']:+.0%}" if r["error_trend"] == r["error_trend"] else "—"
        lines.append(f"  {r['date']:<8}{r['metric'][:27]:<28}{r['sector'][:8]:<9}{_m(r['observed'], r['unit']):>9}  "
                     f"{band:<24}{r['error']:>+7.0%} {'yes' if r['in_band'] else 'no ':<3} {lvl:>7}{tre:>8}{int(r['horizon']):>4}"
                     + ("  (lower bound)" if r["bound"] == "lower" else ""))
    return "\n".join(lines)


def handle(args: argparse.Namespace) -> int:
    # loaded when the command runs: `segur --help` and the other commands start without it
    import pandas as pd

    from scenarios.observed import load_observed
    from simulator.studies import backtest as bt
    from simulator.studies import rolling
    from simulator.studies.calibration import load_spec

    if args.posterior is None:  # calibrating now: ABC-SMC needs the calibrate extra
        # loaded when the command runs: `segur --help` and the other commands start without it
        from simulator.studies.calibration_run import require_pyabc

        require_pyabc("segur backtest (calibrating by ABC-SMC; --posterior FILE does without)")
    if args.replications < 2:
        raise UsageError(f"--replications: must be at least 2 (got {args.replications})")
    if args.workers < 1:
        raise UsageError(f"--workers: must be at least 1 (got {args.workers})")
    for name in ("design_runs", "population"):
        v = getattr(args, name)
        if v is not None and v < (0 if name == "design_runs" else 2):
            raise UsageError(f"--{name.replace('_', '-')}: must be at least {0 if name == 'design_runs' else 2} (got {v})")
    origins = [args.cutoff] if args.cutoff else args.origins
    if len(origins) > 1 and (args.posterior is not None or args.design is not None):
        raise UsageError("--posterior and --design serve one cut-off: with --origins each origin calibrates anew")
    spec = load_spec(args.calibration)
    obs_path = args.observed or spec.observed
    observed = load_observed(obs_path)
    bt.check_observed(observed, Path(obs_path))
    for origin in origins:  # every origin checked before any run
        bt.split(observed, origin, Path(obs_path))
    if args.cutoff:
        out = args.out or Path("results") / f"backtest-{args.cutoff}"
    else:
        out = args.out or Path("results") / "backtest-rolling"

    def report(line: str) -> None:
        if not args.quiet:
            print(line, file=sys.stderr, flush=True)

    scored = []
    for origin in origins:
        where = out if len(origins) == 1 else out / f"origin-{origin}"
        tab, verdict_line = _one_origin(args, spec, observed, Path(obs_path), origin, where, report)
        scored.append(tab)
        if len(origins) > 1:
            print(verdict_line)
    allrows = pd.concat(scored, ignore_index=True)
    table = rolling.by_horizon(allrows)
    v = rolling.verdict(table, origins)
    out.mkdir(parents=True, exist_ok=True)
    if len(origins) > 1:
        allrows.to_csv(out / "rolling-rows.csv", index=False)
        table.to_csv(out / "rolling.csv", index=False)
        rolling.write_rolling_figure(out / "rolling.png", table,
                                     f"Rolling-origin backtest ({len(origins)} origins, {args.replications} runs each)")
        (out / "verdict.txt").write_text(v["line"] + "\n", encoding="utf-8")
    if not args.quiet:
        print("By horizon (months after the origin; WIS divided by the observed value; relative WIS < 1: better "
              "than the naive forecast):")
        print(rolling.format_horizons(table))
        files = "rolling.csv, rolling.png, rolling-rows.csv, verdict.txt, origin-*/" if len(origins) > 1 else \
            "backtest.csv, projection.csv, backtest.png, knowledge.txt, verdict.txt"
        print(f"Written to {out}/ ({files})")
    print(v["line"])
    return 0


def _one_origin(args: argparse.Namespace, spec, observed, obs_path: Path, origin: dt.date, out: Path, report):
    """Blind calibration at ``origin``, projection to the last scored row, scores; writes ``out``."""
    # loaded when the command runs: `segur --help` and the other commands start without it
    import numpy as np

    from simulator.engine.discrepancy import decompose, variance_at
    from simulator.studies import backtest as bt
    from simulator.studies import rolling
    from simulator.studies.backtest import VOLUME
    from simulator.studies.blind import blind_spec
    from simulator.studies.posterior import restrict

    bspec, known = blind_spec(spec, origin)
    before, after = bt.split(observed, origin, obs_path)
    end = bt.projection_end(after, bspec.base_data["run"]["end"])  # the last scored row, not the horizon
    fit_spec, fit_rows = restrict(bspec, observed, origin)
    for line in known.lines():
        report(line)
    draws, disc = _posterior(args, bspec, fit_spec, observed, fit_rows, origin, out, report)
    ex = ExecutorSpec("local" if not args.scheduler else "dask", None if args.scheduler else args.workers, args.scheduler)
    report(f"origin {origin}: projecting {args.replications} runs to {end} (posterior draws × 2 seeds each)…")
    proj = bt.project(bspec, draws, after, end, args.replications, spec.seed, ex, seeds_per_draw=2)
    values = rolling.with_discrepancy(proj.values, after, None if args.no_discrepancy else disc, origin, spec.seed)
    table = bt.score(before, after, values, proj.why)
    tab = rolling.score_origin(table, values, origin)
    draw_of = np.array([i // 2 for i in proj.replications])
    shares = {k: [] for k in ("parameter", "seed", "discrepancy")}
    for j, r in tab.iterrows():
        col = proj.values[:, j]
        ok = bool(r["scored"]) and np.all(col > 0)
        dv = variance_at(disc, r["sector"], int(r["horizon"])) if (ok and disc is not None and not args.no_discrepancy
                                                                   and r["metric"] in VOLUME) else 0.0
        s = decompose(np.log(col), draw_of, dv) if ok else dict.fromkeys(shares, np.nan)
        for k in shares:
            shares[k].append(s[k])
    for k, v in shares.items():
        tab[f"share_{k}"] = v
    v = bt.verdict(tab, origin)
    out.mkdir(parents=True, exist_ok=True)
    tab.to_csv(out / "backtest.csv", index=False)
    bt.projection_frame(after, proj).to_csv(out / "projection.csv", index=False)
    (out / "knowledge.txt").write_text("\n".join(known.lines()) + "\n", encoding="utf-8")
    # loaded when the figure is drawn (matplotlib's start-up time)
    from simulator.studies.backtest_figure import write_backtest_figure

    write_backtest_figure(out / "backtest.png", proj, observed, origin,
                          f"Backtest, origin {origin}: {args.replications} runs (posterior draws × seeds, without the discrepancy)")
    (out / "verdict.txt").write_text(v["line"] + "\n", encoding="utf-8")
    if not args.quiet:
        print(f"Origin {origin}:")
        for line in known.lines():
            print(f"  {line}")
        print(format_table(tab))
        vol = tab[tab["scored"].astype(bool) & tab["metric"].isin(list(VOLUME))]
        if len(vol) and vol["share_discrepancy"].notna().any():
            print(f"  Band of the volume rows (variance of log value): parameter {vol['share_parameter'].mean():.0%}, "
                  f"seed {vol['share_seed'].mean():.0%}, discrepancy {vol['share_discrepancy'].mean():.0%} (mean over "
                  f"{len(vol)} rows)")
        print(f"  Not scored: {int((~tab['scored'].astype(bool)).sum())} later rows the model has no counterpart for "
              f"(reasons in backtest.csv, column why)")
    if len(args.origins or []) <= 1:
        print(v["line"])
    return tab, v["line"]


def _posterior(args: argparse.Namespace, spec, fit_spec, observed, fit_rows, cutoff: dt.date, out: Path, report):
    """(posterior draws, discrepancy table): read from --posterior (checked against the cut-off;
    discrepancy.csv beside it), or calibrated now (the discrepancy estimated from its predictive)."""
    # loaded when the command runs: `segur --help` and the other commands start without it
    from simulator.engine.discrepancy import estimate, read_discrepancy, write_discrepancy
    from simulator.studies.posterior_file import read_posterior

    if args.posterior is not None:
        draws = read_posterior(args.posterior)
        seen = draws.provenance.get("data_cutoff", "")
        if not seen:
            raise UsageError(f"{args.posterior}: no '# data_cutoff:' line; cannot tell which rows it has seen")
        if seen > cutoff.isoformat():
            raise UsageError(f"{args.posterior}: fitted on data up to {seen}, after --cutoff {cutoff}: "
                             "it has seen rows it would score")
        disc_file = Path(args.posterior).with_name("discrepancy.csv")
        if disc_file.exists():
            return draws, read_discrepancy(disc_file)[0]
        report(f"{disc_file}: not found; projecting without the structural discrepancy")
        return draws, None
    # loaded when the command runs: `segur --help` and the other commands start without it
    from simulator.studies.posterior import PosteriorSettings, run_abc, write_outputs
    from simulator.studies.posterior_file import git_commit

    settings = PosteriorSettings.from_raw(fit_spec.posterior, str(fit_spec.path))
    if args.design_runs is not None:
        settings.design_runs = args.design_runs
    if args.population is not None:
        settings.population = args.population
    # the design's runs stop at the cut-off: its priors are those known then, and ABC reads only those rows
    design = get_design(args, fit_spec, fit_rows, settings, cutoff, out / "calibration", report)
    post = run_abc(fit_spec, fit_rows, settings, scheduler=args.scheduler, workers=args.workers,
                   seed=fit_spec.seed, db_path=out / "calibration" / "abc.db", report=report, design=design)
    post.provenance = {"calibration": str(args.calibration), "data_cutoff": cutoff.isoformat(), **post.provenance,
                       "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), "commit": git_commit()}
    write_outputs(post, out / "calibration")
    disc = estimate(post.predictive)
    write_discrepancy(out / "calibration" / "discrepancy.csv", disc,
                      {"data_cutoff": cutoff.isoformat(), "estimated_from": "posterior-predictive residuals (predictive.csv)",
                       "model": "log-normal random walk per sector (simulator/engine/discrepancy.py)",
                       "date": post.provenance["date"], "commit": post.provenance["commit"]})
    return read_posterior(out / "calibration" / "posterior.csv"), disc
