"""The small-world runner, now on the engine side (``simulator.engine.small_world``): kept here
for the code that imports it from the demo."""

from simulator.engine.small_world import DMP_COLUMNS, DemoSimulation, Recorder

__all__ = ["DMP_COLUMNS", "DemoSimulation", "Recorder"]
