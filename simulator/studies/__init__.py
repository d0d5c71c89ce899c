"""Studies built on many runs: the calibration posterior (ABC-SMC) and the backtest."""
