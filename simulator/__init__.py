"""The engine: clock and calendar, random streams, world assembly, run loop, results, CLI.

>>> import simulator
>>> res = simulator.run("scenarios/baseline.toml", seed=7, scale=0.01)   # doctest: +SKIP
>>> res.to_df("documents").head()                                        # doctest: +SKIP
>>> res.summary(); res.plot()                                            # doctest: +SKIP
>>> simulator.run("wave2", overrides={"sectors.gp.uptake_q": 0.5})        # doctest: +SKIP
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "run", "Simulation"]


def __getattr__(name: str):  # lazy: `import simulator` stays cheap for the CLI
    if name == "run":
        # the engine (pandas, SimPy, the agents) loads on first use: `segur --help` stays fast
        from simulator.api import run

        return run
    if name == "Simulation":
        # the engine loads on first use (start-up time)
        from simulator.engine import Simulation

        return Simulation
    raise AttributeError(name)
