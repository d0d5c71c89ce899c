"""The small-world runner, now on the engine side (``simulator.small_world``): kept here
for the code that imports it from the demo."""

from simulator.small_world import DMP_COLUMNS, DemoSimulation, Recorder

__all__ = ["DMP_COLUMNS", "DemoSimulation", "Recorder"]
