"""`segur backtest CALIBRATION.toml --cutoff DATE`: calibrate on rows up to DATE, project, score later rows."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from simulator.cli.commands.calibrate import get_design
from simulator.core.errors import UsageError
from simulator.studies.executors import ExecutorSpec


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a date YYYY-MM-DD (got {text!r})") from None


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "backtest", help="score the calibrated projection on observed rows it did not see",
        description="Calibrate (ABC-SMC posterior) on the observed rows dated up to --cutoff, project with "
                    "posterior draws and seeds, and score every later row: error of the median, whether "
                    "p5–p95 contains it, against two naive forecasts (last level, last year's growth). "
                    "Writes backtest.csv, backtest.png and verdict.txt.")
    p.add_argument("calibration", type=Path, help="calibration file (TOML), e.g. scenarios/calibration.toml")
    p.add_argument("--cutoff", type=_date, required=True, metavar="YYYY-MM-DD", help="last day of the data the calibration sees")
    p.add_argument("--observed", type=Path, default=None,
                   help="observed figures (CSV with the columns of scenarios/data/observed.csv; default: the calibration file's)")
    p.add_argument("--posterior", type=Path, default=None,
                   help="reuse a posterior (posterior.csv of `segur calibrate --cutoff` at the same or an earlier cut-off) instead of calibrating")
    p.add_argument("--design", type=Path, default=None, metavar="FILE",
                   help="reuse the design runs (design.csv of `segur calibrate`) for the surrogate; rows after the cut-off are not used")
    p.add_argument("--replications", type=int, default=40, metavar="N", help="projection runs: posterior draw i with seed i (default 40)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS", help="run the simulations on this Dask scheduler")
    p.add_argument("--workers", type=int, default=1, help="local processes (default 1)")
    p.add_argument("--out", type=Path, default=None, help="output folder (default: results/backtest-<cutoff>)")
    p.add_argument("--quiet", action="store_true", help="no progress and no table")
    p.set_defaults(func=handle)


def _m(v: float, unit: str) -> str:
    if v != v:
        return "—"
    return f"{v / 1e6:.1f}M" if abs(v) >= 1e5 else f"{v:,.3g}"


def format_table(tab) -> str:
    """Scored rows as plain text."""
    lines = [f"  {'date':<8}{'metric':<28}{'sector':<9}{'observed':>9}  {'median [p5–p95]':<24}{'error':>7} in  "
             f"{'level':>7}{'growth':>8}"]
    for _, r in tab[tab["scored"].astype(bool)].iterrows():
        band = f"{_m(r['p50'], r['unit'])} [{_m(r['p5'], r['unit'])}–{_m(r['p95'], r['unit'])}]"
        lvl = f"{r['error_level']:+.0%}" if r["error_level"] == r["error_level"] else "—"
        gro = f"{r['error_growth']:+.0%}" if r["error_growth"] == r["error_growth"] else "—"
        lines.append(f"  {r['date']:<8}{r['metric'][:27]:<28}{r['sector'][:8]:<9}{_m(r['observed'], r['unit']):>9}  "
                     f"{band:<24}{r['error']:>+7.0%} {'yes' if r['in_band'] else 'no ':<3} {lvl:>7}{gro:>8}"
                     + ("  (lower bound)" if r["bound"] == "lower" else ""))
    return "\n".join(lines)


def handle(args: argparse.Namespace) -> int:
    # loaded when the command runs: `segur --help` and the other commands start without it
    from scenarios.observed import load_observed
    from simulator.studies import backtest as bt
    from simulator.studies.calibration import load_spec

    if args.posterior is None:  # calibrating now: ABC-SMC needs the calibrate extra
        # loaded when the command runs: `segur --help` and the other commands start without it
        from simulator.studies.calibration_run import require_pyabc

        require_pyabc("segur backtest (calibrating by ABC-SMC; --posterior FILE does without)")
    if args.replications < 2:
        raise UsageError(f"--replications: must be at least 2 (got {args.replications})")
    if args.workers < 1:
        raise UsageError(f"--workers: must be at least 1 (got {args.workers})")
    spec = load_spec(args.calibration)
    obs_path = args.observed or spec.observed
    observed = load_observed(obs_path)
    bt.check_observed(observed, Path(obs_path))
    before, after = bt.split(observed, args.cutoff, Path(obs_path))
    last = max(observed["date"], key=lambda d: d if len(d) == 7 else f"{d}-12")
    # loaded when the command runs: `segur --help` and the other commands start without it
    from simulator.studies.posterior import restrict, row_end

    end = min(row_end(last), spec.base_data["run"]["end"])
    fit_spec, fit_rows = restrict(spec, observed, args.cutoff)
    out = args.out or Path("results") / f"backtest-{args.cutoff}"

    def report(line: str) -> None:
        if not args.quiet:
            print(line, file=sys.stderr, flush=True)

    draws = _posterior(args, spec, fit_spec, observed, fit_rows, end, out, report)
    executor = "local" if not args.scheduler else "dask"
    ex = ExecutorSpec(executor, None if args.scheduler else args.workers, args.scheduler)
    report(f"projecting {args.replications} runs to {end} (posterior draws × seeds)…")
    proj = bt.project(spec, draws, after, end, args.replications, spec.seed, ex)
    table = bt.score(before, after, proj.values, proj.why)
    v = bt.verdict(table, args.cutoff)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "backtest.csv", index=False)
    bt.projection_frame(after, proj).to_csv(out / "projection.csv", index=False)
    # loaded when the command runs: `segur --help` and the other commands start without it
    from simulator.studies.backtest_figure import write_backtest_figure

    write_backtest_figure(out / "backtest.png", proj, observed, args.cutoff,
                          f"Backtest, cut-off {args.cutoff}: {args.replications} runs (posterior draws × seeds)")
    (out / "verdict.txt").write_text(v["line"] + "\n", encoding="utf-8")
    if not args.quiet:
        print(format_table(table))
        print(f"Not scored: {int((~table['scored'].astype(bool)).sum())} later rows the model has no counterpart for "
              f"(reasons in backtest.csv, column why)")
        print(f"Written to {out}/ (backtest.csv, projection.csv, backtest.png, verdict.txt)")
    print(v["line"])
    return 0


def _posterior(args: argparse.Namespace, spec, fit_spec, observed, fit_rows, end: dt.date, out: Path, report):
    """The posterior draws: read from --posterior (checked against the cut-off), or calibrated now."""
    # loaded when the command runs: `segur --help` and the other commands start without it
    from simulator.studies.posterior_file import read_posterior

    if args.posterior is not None:
        draws = read_posterior(args.posterior)
        seen = draws.provenance.get("data_cutoff", "")
        if not seen:
            raise UsageError(f"{args.posterior}: no '# data_cutoff:' line; cannot tell which rows it has seen")
        if seen > args.cutoff.isoformat():
            raise UsageError(f"{args.posterior}: fitted on data up to {seen}, after --cutoff {args.cutoff}: "
                             "it has seen rows it would score")
        return draws
    # loaded when the command runs: `segur --help` and the other commands start without it
    from simulator.studies.posterior import PosteriorSettings, run_abc, write_outputs
    from simulator.studies.posterior_file import git_commit

    settings = PosteriorSettings.from_raw(fit_spec.posterior, str(fit_spec.path))
    # design runs may go past the cut-off (one design serves every cut-off): ABC reads only the
    # rows up to it, and the parameters of a design are drawn from the priors, not from data
    design = get_design(args, spec, observed, settings, end, out / "calibration", report)
    post = run_abc(fit_spec, fit_rows, settings, scheduler=args.scheduler, workers=args.workers,
                   seed=fit_spec.seed, db_path=out / "calibration" / "abc.db", report=report, design=design)
    post.provenance = {"calibration": str(args.calibration), "data_cutoff": args.cutoff.isoformat(), **post.provenance,
                       "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), "commit": git_commit()}
    write_outputs(post, out / "calibration")
    return read_posterior(out / "calibration" / "posterior.csv")
