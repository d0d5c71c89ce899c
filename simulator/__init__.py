"""The engine: clock and calendar, random streams, world assembly, run loop, results, CLI.

>>> import simulator
>>> res = simulator.run("scenarios/baseline.toml", seed=7, scale=0.01)   # doctest: +SKIP
>>> res.to_df("documents").head()                                        # doctest: +SKIP
>>> res.summary(); res.plot()                                            # doctest: +SKIP
>>> simulator.run("wave2", overrides={"sectors.gp.uptake_q": 0.5})        # doctest: +SKIP

Studies, each returning an object with ``to_df()``, ``summary()``, ``plot()`` and ``save(out)``
(the same code as the `segur` commands): ``simulator.replicate``, ``simulator.compare``,
``simulator.sweep``, ``simulator.sensitivity``, ``simulator.calibrate`` (docs/ensembles.md).
"""

from __future__ import annotations

__version__ = "0.1.0"

STUDIES = ("replicate", "compare", "sweep", "sensitivity", "calibrate")
__all__ = ["__version__", "run", "Simulation", *STUDIES]


def __getattr__(name: str):  # lazy: `import simulator` stays cheap for the CLI
    if name == "run" or name in STUDIES:
        # the engine (pandas, SimPy, the agents) loads on first use: `segur --help` stays fast
        import simulator.api as api

        return getattr(api, name)
    if name == "Simulation":
        # the engine loads on first use (start-up time)
        from simulator.engine import Simulation

        return Simulation
    raise AttributeError(name)
