"""Studies built on many runs: ensembles and their executors (local processes or Dask), sweeps and
sensitivity designs, comparisons of scenarios, calibration (least squares and the ABC-SMC
posterior) and the backtest."""
